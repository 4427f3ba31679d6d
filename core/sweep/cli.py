"""``python -m core sweep SWEEP.toml [--out DIR] [--serial | --address ADDR] [--cpus N]``.

Exit status: 0 when every run finished, 3 when a run failed or a lane stopped with an error
(the other results are kept; running the command again retries the failed runs), 2 for bad
input, 130 when interrupted (the finished runs are kept; the same command resumes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core sweep",
        description="Run a grid of configs (images × degradation parameters × lanes × lane parameters × seeds) "
        "on Ray or serially; see docs/example_sweep.toml.",
    )
    parser.add_argument("sweep", help="sweep TOML file")
    parser.add_argument("--out", help="output folder (default: [sweep] out, else out/sweeps/<file name>)")
    parser.add_argument("--serial", action="store_true", help="run in this process, without Ray (same numbers)")
    parser.add_argument("--address", help="address of an existing Ray cluster (default: start a local Ray)")
    parser.add_argument("--cpus", type=int, help="CPUs of the local Ray (default: the machine's)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="override [run] device of every run")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--plugin", action="append", default=[], metavar="FILE.py", help="load a plugin file first (repeatable)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return command_sweep(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the finished runs are kept; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def command_sweep(args) -> int:
    from ..plugins import load_plugin_file
    from . import load_sweep, run_sweep

    if args.serial and args.address:
        raise ValueError("--serial and --address exclude each other (--serial runs without Ray)")
    if args.cpus is not None and (args.cpus < 1 or args.address):
        raise ValueError("--cpus must be ≥ 1 and applies to a local Ray only (not with --address)")
    plugins = tuple(str(Path(p).expanduser().resolve()) for p in args.plugin)
    for plugin in plugins:
        load_plugin_file(plugin)
    sweep = load_sweep(args.sweep, device=args.device)
    if args.dry_run:
        for plan in sweep.runs:
            print(f"{plan.name}  " + ", ".join(f"{k}={v}" for k, v in plan.axes.items()))
        print(f"{len(sweep.runs)} runs", file=sys.stderr)
        return 0
    out = args.out or sweep.out or Path("out") / "sweeps" / Path(args.sweep).stem
    report = run_sweep(
        sweep,
        out,
        serial=args.serial,
        address=args.address,
        cpus=args.cpus,
        plugins=plugins,
        progress=not args.quiet,
    )
    print(
        f"{sweep.name}: {len(report.executed)} runs executed, {len(report.skipped)} already finished, "
        f"{len(report.failed)} failed -> {report.tables[0]}, {report.tables[1]}",
        file=sys.stderr,
    )
    for name, status in report.lane_errors:
        print(f"error: run {name}: lane stopped with {status}", file=sys.stderr)
    for name, message in report.failed:
        print(f"error: run {name} failed: {message}", file=sys.stderr)
    return EXIT_FAILED if report.failed or report.lane_errors else 0
