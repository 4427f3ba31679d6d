"""``python -m workbench [CONFIG|SESSION]`` opens the workbench;
``python -m workbench --screenshot OUT.png [CONFIG|SESSION] [--iterations N] [--size WxH]``
renders the main window offscreen to a PNG and exits."""

from __future__ import annotations

import argparse
import os
import sys


def parse_size(text: str) -> tuple[int, int]:
    """``"1600x1000"`` → (1600, 1000)."""
    try:
        width, height = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like 1600x1000, got {text!r}") from None
    if width < 200 or height < 200:
        raise argparse.ArgumentTypeError(f"--size {text!r} is too small (at least 200x200)")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workbench", description=__doc__)
    parser.add_argument("source", nargs="?", help="config .toml or session folder (default: built-in problem)")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen to OUT.png and exit")
    parser.add_argument("--iterations", type=int, default=20, help="iterations before the screenshot (default 20)")
    parser.add_argument("--size", type=parse_size, default=(1600, 1000), help="window size WxH (default 1600x1000)")
    parser.add_argument("--no-autosave", action="store_true", help="do not autosave to sessions/.autosave")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py",
        help="load a plugin file first (repeatable); see docs/example_plugin.py",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``convergence-workbench``)."""
    args = build_parser().parse_args(argv)
    if args.iterations < 0:
        print("error: --iterations must be ≥ 0", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    from core.plugins import load_plugin_file

    try:
        for plugin in args.plugin:
            load_plugin_file(plugin)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from . import app
    from .autosave import default_autosave_dir

    if args.screenshot:
        return app.screenshot(args.screenshot, args.source, args.iterations, args.size)
    return app.run_gui(args.source, None if args.no_autosave else default_autosave_dir())


if __name__ == "__main__":
    sys.exit(main())
