"""Command line: ``python -m core run|list|train|reproduce|sweep``.

``run`` executes a TOML config headless and writes the resolved config, the metrics CSV and one
PNG per lane; ``list`` prints every registered component with its parameters. Bad input prints
a message on stderr and exits with code 2 (no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

EXIT_USAGE = 2
#: ``run`` finished but at least one lane stopped with an error
EXIT_LANE_FAILED = 3

#: sub-commands implemented elsewhere, loaded only when used: name -> module with main(argv)
DELEGATED = {"train": "core.learned.training.cli", "reproduce": "core.reproduce", "sweep": "core.sweep.cli"}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        try:
            return delegate(argv[0], argv[1:])
        except BrokenPipeError:  # e.g. `python -m core train --list | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        from .plugins import load_plugin_file

        for plugin in getattr(args, "plugin", []):
            load_plugin_file(plugin)
        return args.handler(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `python -m core list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Convergence Workbench (headless)")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run a TOML config and write config, metrics and final images")
    run.add_argument("config", help="TOML config file")
    run.add_argument("--out", required=True, help="output folder (created if needed)")
    run.add_argument("--iterations", type=int, help="override [run] iterations")
    run.add_argument("--device", choices=("cpu", "cuda"), help="override [run] device")
    run.add_argument("--dtype", choices=("float32", "float64"), help="override [run] dtype")
    run.add_argument("--size", type=int, help="override [problem] size (longer side, px)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--animation",
        choices=("gif", "mp4"),
        help="also write each lane's kept iterates as iterates_<lane>.gif/.mp4 (one frame per kept iterate)",
    )
    run.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py",
        help="load a plugin file first (repeatable); see docs/example_plugin.py",
    )
    run.set_defaults(handler=command_run)
    listing = commands.add_parser("list", help="list images, degradations, priors, denoisers and solvers")
    listing.add_argument(
        "--markdown",
        action="store_true",
        help="print the component tables of docs/components.md (generated from the registry)",
    )
    listing.add_argument(
        "--plugin", action="append", default=[], metavar="FILE.py", help="load a plugin file first (repeatable)"
    )
    listing.set_defaults(handler=command_list)
    for name in DELEGATED:
        commands.add_parser(name, help=f"see python -m core {name} --help", add_help=False)
    return parser


def delegate(command: str, argv: list[str]) -> int:
    """Run ``main(argv)`` of the module implementing ``command`` (exit 2 if it is missing)."""
    module_name = DELEGATED[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            print(
                f"error: 'python -m core {command}' is not available in this installation "
                f"(module {module_name} is missing)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        raise
    result = module.main(argv)
    return int(result or 0)


def apply_overrides(config, args) -> None:
    """Apply ``--iterations/--device/--dtype/--size`` to a loaded config (validated)."""
    if args.iterations is not None:
        if args.iterations < 0:
            raise ValueError(f"--iterations must be ≥ 0, got {args.iterations}")
        config.run.iterations = args.iterations
    if args.device is not None:
        config.run.device = args.device
    if args.dtype is not None:
        config.run.dtype = args.dtype
    if args.size is not None:
        from .config import MAX_SIZE

        if not 8 <= args.size <= MAX_SIZE:
            raise ValueError(f"--size must be between 8 and {MAX_SIZE} (pixels, longer side), got {args.size}")
        config.problem.size = args.size


def command_run(args) -> int:
    """``run``: execute the config, write DIR/config.toml, DIR/metrics.csv, DIR/final_<lane>.png
    (and DIR/iterates_<lane>.gif|mp4 with ``--animation``).

    Exit status: 0 when every lane ran, :data:`EXIT_LANE_FAILED` when a lane stopped with an
    error (the others' results are still written), :data:`EXIT_USAGE` for bad input or an output
    folder that cannot be written.
    """
    from .atomic import writable_folder
    from .config import load_config, save_config
    from .engine import Run, write_metrics_csv
    from .images import save_png

    config = load_config(args.config)
    apply_overrides(config, args)
    if not config.lanes:
        raise ValueError(f"{args.config}: no [[lanes]] to run (a config needs at least one lane)")
    if config.run.iterations < 1:
        raise ValueError(
            f"{args.config}: [run] key 'iterations' = {config.run.iterations}: nothing to run (use 1 or more)"
        )
    out = writable_folder(args.out, "--out")
    run = Run(config)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=run.iterations, desc="iterations", unit="it", file=sys.stderr)

    def progress(k: int) -> None:
        if bar is not None:
            bar.update(k - bar.n)

    try:
        run.run(progress=progress)
    finally:
        if bar is not None:
            bar.close()
    snapshot = run.snapshot()
    names = final_image_names([lane.label for lane in snapshot.lanes])
    try:
        save_config(run.config, out / "config.toml")
        write_metrics_csv(run, out / "metrics.csv")
        for lane, name in zip(snapshot.lanes, names):
            if lane.image is not None:
                save_png(out / name, lane.image)
        if getattr(args, "animation", None):
            from .video import iterate_frames, write_animation

            for index, name in enumerate(names):
                stem = name.removeprefix("final_").removesuffix(".png")
                write_animation(iterate_frames(run, index), out / f"iterates_{stem}.{args.animation}")
    except OSError as exc:
        raise ValueError(
            f"{out}: cannot write the results ({exc.strerror or exc}{': ' + exc.filename if exc.filename else ''})"
        ) from None
    failed = []
    for lane, name in zip(snapshot.lanes, names):
        print(
            f"{lane.label}: {lane.status}, k = {lane.k}, "
            f"PSNR = {lane.metrics['psnr'][-1] if lane.k else float('nan'):.2f} dB -> {name}",
            file=sys.stderr,
        )
        if lane.status.startswith("error"):
            failed.append(lane)
    for lane in failed:
        print(f"error: lane '{lane.label}' failed: {lane.status[len('error: ') :]}", file=sys.stderr)
    return EXIT_LANE_FAILED if failed else 0


def safe_filename(label: str, limit: int = 80) -> str:
    """A lane label reduced to ``[A-Za-z0-9._-]`` (others become ``_``), never empty, at most
    ``limit`` characters."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", label).strip("._") or "lane"
    return name[:limit]


def final_image_names(labels: list[str]) -> list[str]:
    """``final_<label>.png`` for each lane, made unique (labels that sanitise to the same name get
    ``_2``, ``_3``, ... in lane order)."""
    names, taken = [], set()
    for label in labels:
        stem = f"final_{safe_filename(label)}"
        name, count = f"{stem}.png", 1
        while name.lower() in taken:
            count += 1
            name = f"{stem}_{count}.png"
        taken.add(name.lower())
        names.append(name)
    return names


def command_list(args) -> int:
    """``list``: every image, degradation, prior, denoiser and solver with its parameters."""
    if getattr(args, "markdown", False):
        from .components_doc import components_markdown

        print(components_markdown(), end="")
    else:
        print(describe_components())
    return 0


def describe_components() -> str:
    """The text printed by ``python -m core list``."""
    from .images import catalogue_names
    from .plugins import PLUGIN_ERRORS
    from .registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS, load_all

    load_all()
    lines = ["images:", *(f"  {name}" for name in catalogue_names())]
    if PLUGIN_ERRORS:
        lines += ["plugins that failed to load:", *(f"  {message}" for message in PLUGIN_ERRORS.values())]
    for title, registry in (
        ("degradations", DEGRADATIONS),
        ("priors", PRIORS),
        ("denoisers", DENOISERS),
        ("solvers", SOLVERS),
    ):
        lines.append(f"{title}:")
        for name in sorted(registry):
            entry = registry[name]
            flags = ""
            if title == "solvers":
                takes = [k for k in ("prior", "denoiser") if entry.extra.get(f"needs_{k}")]
                flags = f" [takes {', '.join(takes)}]" if takes else ""
                flags += " [learned]" if entry.extra.get("learned") else ""
            lines.append(f"  {name}{flags} - {entry.doc}")
            lines.extend(f"      {param.describe()}" for param in entry.params)
    return "\n".join(lines)
