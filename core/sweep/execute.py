"""One sweep run: execute a plan (in this process or a Ray worker) and keep its folder.

:func:`execute_run` is what a worker calls: it builds the :class:`~core.engine.Run`, runs it
with a fixed torch thread count (so a run gives the same numbers in a Ray worker and in the
serial loop) and returns the run's files as bytes with its summary. The driver writes them with
:func:`write_run_folder` (one atomic folder per run, so a killed sweep leaves each run whole or
absent) and :func:`finished_summary` tells a finished run from one still to do.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np

#: the files of a run folder; ``summary.json`` is written with them and marks the run done
RUN_FILES = ("config.toml", "metrics.csv", "final.png", "summary.json")
SUMMARY = "summary.json"
#: final-iterate metrics copied into the summary (and the results table)
FINAL_METRICS = ("psnr", "ssim", "rec_error", "objective")


def execute_run(config: dict, threads: int = 1, plugins: tuple[str, ...] = ()) -> dict:
    """Run one resolved config to its end and return its files and summary.

    Parameters
    ----------
    config : dict
        A resolved one-lane config (``RunPlan.config``).
    threads : int
        torch CPU threads during the run (restored afterwards).
    plugins : tuple of str
        Plugin files to load first (a Ray worker has not loaded the driver's plugins).

    Returns
    -------
    dict
        ``{"files": {name: bytes}, "summary": {...}}`` with the files of :data:`RUN_FILES`
        except the summary, which the driver writes.
    """
    import torch

    from ..config import Config, save_config
    from ..engine import Run, write_metrics_csv
    from ..images import save_png
    from ..learned.training import isolated_torch_state
    from ..plugins import load_plugin_file

    for plugin in plugins:
        load_plugin_file(plugin)
    with isolated_torch_state():
        torch.set_num_threads(int(threads))
        run = Run(Config.from_dict(config))
        run.run()
        snapshot = run.snapshot()
    lane = snapshot.lanes[0]
    with tempfile.TemporaryDirectory(prefix="cw-sweep-") as scratch:
        scratch = Path(scratch)
        save_config(run.config, scratch / "config.toml")
        write_metrics_csv(snapshot, scratch / "metrics.csv")
        if lane.image is not None:
            save_png(scratch / "final.png", lane.image)
        files = {path.name: path.read_bytes() for path in scratch.iterdir() if not path.name.startswith(".")}
    psnr = lane.metrics["psnr"]
    best = int(np.nanargmax(psnr)) if psnr.size and np.isfinite(psnr).any() else None
    summary = {
        "status": lane.status,
        "k": int(lane.k),
        **{name: float(lane.metrics[name][-1] if lane.k else math.nan) for name in FINAL_METRICS},
        "best_psnr": float(psnr[best]) if best is not None else math.nan,
        "best_iteration": best + 1 if best is not None else 0,
        "seconds": float(lane.seconds[-1]) if lane.k else 0.0,
    }
    return {"files": files, "summary": summary}


def write_run_folder(folder: Path, plan, result: dict) -> dict:
    """Write a run's files and ``summary.json`` as one atomic folder; returns the summary."""
    from ..atomic import atomic_folder

    summary = {"key": plan.key, "axes": plan.axes, **result["summary"]}
    with atomic_folder(folder, RUN_FILES) as staging:
        for name, data in result["files"].items():
            if name not in RUN_FILES:
                raise ValueError(f"{folder}: a run wrote the unexpected file '{name}'")
            (staging / name).write_bytes(data)
        (staging / SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def finished_summary(folder: Path, plan) -> dict | None:
    """The summary of ``plan``'s finished run in ``folder``, or None when it is still to do
    (no folder, no summary, a summary of another config, or an unreadable one)."""
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or summary.get("key") != plan.key:
        return None
    return summary
