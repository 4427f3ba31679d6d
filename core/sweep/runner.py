"""Running a sweep: skip the finished runs, execute the others, keep every result, write the tables.

Output folder::

    OUT/sweep.toml            the sweep file, as run
    OUT/results.csv           one row per finished run (axes, final metrics, best PSNR, seconds)
    OUT/results.md            one row per setting: mean and best over images × seeds
    OUT/runs/<name>/          config.toml, metrics.csv, final.png, summary.json (the done marker)

Each run folder is written atomically when its run finishes, so an interrupted sweep (Ctrl-C, a
lost node, a killed job) resumes by running the same command again: the runs whose folder holds
the summary of the same config are skipped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write_bytes, writable_folder
from .backends import ray_results, serial_results
from .execute import finished_summary, write_run_folder
from .results import write_results


@dataclass
class SweepReport:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    executed, skipped : list of str
        Names of the runs executed now and of those found finished.
    failed : list of (str, str)
        Runs that raised (name, one-line message); they are retried on resume.
    lane_errors : list of (str, str)
        Finished runs whose lane stopped with an error (name, status).
    tables : list of Path
        ``results.csv`` and ``results.md``.
    """

    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    lane_errors: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)


def run_sweep(
    sweep,
    out: str | Path,
    *,
    serial: bool = False,
    address: str | None = None,
    cpus: int | None = None,
    plugins: tuple[str, ...] = (),
    progress: bool = True,
) -> SweepReport:
    """Execute the unfinished runs of ``sweep`` and write its tables under ``out``.

    Parameters
    ----------
    sweep : Sweep
        From :func:`core.sweep.load_sweep`.
    out : path
        Output folder (created; the same folder resumes).
    serial : bool
        Run in this process, without Ray.
    address : str, optional
        Address of an existing Ray cluster (``ray://host:10001`` or ``host:6379``); default: a
        local Ray started here with ``cpus`` CPUs (default: the machine's).
    plugins : tuple of str
        Plugin files every run loads first.
    progress : bool
        Show a progress bar (runs) on stderr.

    Raises
    ------
    ValueError
        Bad output folder, Ray missing or unable to hold a run.
    """
    from tqdm import tqdm

    out = writable_folder(out, "--out")
    atomic_write_bytes(out / "sweep.toml", Path(sweep.path).read_bytes())
    runs_dir = out / "runs"
    report, summaries, pending = SweepReport(), {}, []
    for plan in sweep.runs:
        summary = finished_summary(runs_dir / plan.name, plan)
        if summary is None:
            pending.append(plan)
        else:
            summaries[plan.key] = summary
            report.skipped.append(plan.name)
    if serial:
        results = serial_results(pending, threads=sweep.cpus_per_run, plugins=plugins)
    else:
        results = ray_results(
            pending,
            threads=sweep.cpus_per_run,
            gpus_per_run=sweep.gpus_per_run,
            plugins=plugins,
            address=address,
            cpus=cpus,
        )
    bar = tqdm(
        total=len(sweep.runs),
        initial=len(summaries),
        desc=sweep.name,
        unit="run",
        file=sys.stderr,
        disable=not progress,
    )
    try:
        for plan, result in results if pending else ():
            if isinstance(result, BaseException):
                message = str(result).strip().splitlines()[0] if str(result).strip() else type(result).__name__
                report.failed.append((plan.name, message))
                bar.write(f"error: run {plan.name}: {message}", file=sys.stderr)
            else:
                summaries[plan.key] = write_run_folder(runs_dir / plan.name, plan, result)
                report.executed.append(plan.name)
            bar.update(1)
    finally:
        bar.close()
        if hasattr(results, "close"):
            results.close()  # shuts a local Ray down (also on an interrupt)
        report.tables = write_results(sweep, summaries, out)
    report.lane_errors = [
        (plan.name, summaries[plan.key]["status"])
        for plan in sweep.runs
        if plan.key in summaries and summaries[plan.key]["status"].startswith("error")
    ]
    return report
