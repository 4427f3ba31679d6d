"""``python -m core reproduce NAME [--out DIR] [--quick]``: regenerate a benchmark or paper figure.

Reproducers register themselves in :data:`REPRODUCERS` with :func:`register_reproducer`; every
module ``core/reproduce_*.py`` is imported on first use, so adding one needs no edit here::

    @register_reproducer("podm_fig2", doc="PODM Fig. 2: convergence curves on Set5")
    def podm_fig2(out_dir: Path, quick: bool) -> list[Path]: ...

A reproducer writes a markdown table (and PNG plots) under ``out_dir`` (default
bench/results/) and returns the paths it wrote. ``quick`` runs a reduced version (smaller
images, fewer iterations) for smoke tests; the tables say which mode produced them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..atomic import atomic_write_text
from ..paths import dataset, results_dir
from ..registry import REPRODUCERS, Entry, Registry

#: a registered reproduction: ``reproducer.func(out_dir, quick) -> list of written paths``
Reproducer = Entry


def register_reproducer(name: str, *, doc: str = ""):
    """Decorator registering a reproduction under ``name``."""
    return REPRODUCERS.register(name, doc=doc)


def load_reproducers() -> Registry:
    """The reproduction registry after every built-in module has registered itself."""
    return REPRODUCERS.loaded()


def shared_dataset(name: str) -> Path | None:
    """The benchmark data set ``NAME`` (:func:`core.paths.dataset`), or None when absent."""
    return dataset(name)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table; floats printed with 2 decimals."""

    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically (temp name + rename)."""
    return atomic_write_text(path, text)


def main(argv=None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    parser = argparse.ArgumentParser(
        prog="python -m core reproduce", description="Regenerate a benchmark table / paper figure under bench/results."
    )
    parser.add_argument("name", nargs="?", help="what to reproduce (see --list)")
    parser.add_argument("--out", type=Path, default=results_dir(), help="output folder (default bench/results)")
    parser.add_argument("--quick", action="store_true", help="reduced sizes/iterations (smoke test)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    reproducers = load_reproducers()
    if args.list or args.name is None:
        for name in sorted(reproducers):
            print(f"{name:20s} {reproducers[name].doc}")
        return 0
    if args.name not in reproducers:
        print(f"error: unknown reproduction '{args.name}'; available: {sorted(reproducers)}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        written = reproducers[args.name].func(Path(args.out), bool(args.quick))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    print(f"{args.name}: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
