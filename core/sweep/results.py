"""A sweep's tables: ``results.csv`` (one row per run) and ``results.md`` (one row per setting).

A setting is a point of the grid without its replicate axes (image and seed); the markdown table
gives the mean and the best of each metric over a setting's runs and marks the setting with the
highest mean PSNR.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..atomic import atomic_write_text
from .execute import FINAL_METRICS
from .spec import REPLICATE_AXES

SUMMARY_COLUMNS = ("status", "k", *FINAL_METRICS, "best_psnr", "best_iteration", "seconds")


def results_rows(sweep, summaries: dict) -> tuple[list[str], list[list]]:
    """Header and rows of ``results.csv`` for the finished runs, in grid order."""
    header = ["run", *sweep.axes, "solver", "prior", "denoiser", *SUMMARY_COLUMNS]
    rows = []
    for plan in sweep.runs:
        summary = summaries.get(plan.key)
        if summary is None:
            continue
        lane = plan.config["lanes"][0]
        rows.append(
            [
                plan.name,
                *(plan.axes[name] for name in sweep.axes),
                lane["solver"],
                lane.get("prior", ""),
                lane.get("denoiser", ""),
                *(summary[name] for name in SUMMARY_COLUMNS),
            ]
        )
    return header, rows


def write_results(sweep, summaries: dict, out: Path) -> list[Path]:
    """Write ``out/results.csv`` and ``out/results.md`` (atomically); returns their paths."""
    header, rows = results_rows(sweep, summaries)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([repr(v) if isinstance(v, float) else v for v in row] for row in rows)
    paths = [atomic_write_text(out / "results.csv", text.getvalue()), out / "results.md"]
    atomic_write_text(paths[1], results_markdown(sweep, summaries))
    return paths


def results_markdown(sweep, summaries: dict) -> str:
    """The per-setting table: runs, mean/best final PSNR and SSIM, mean best-iterate PSNR."""
    from ..reproduce import markdown_table

    settings: dict[tuple, list[dict]] = {}
    for plan in sweep.runs:
        key = tuple(plan.axes[name] for name in sweep.setting_axes)
        summary = summaries.get(plan.key)
        settings.setdefault(key, [])
        if summary is not None:
            settings[key].append(summary)
    means = {key: _mean([s["psnr"] for s in runs]) for key, runs in settings.items()}
    ranked = [key for key in settings if not math.isnan(means[key])]
    top = max(ranked, key=lambda key: means[key]) if ranked else None
    rows = []
    for key, runs in settings.items():
        failed = sum(1 for s in runs if s["status"].startswith(("error", "diverged")))
        mark = (lambda text: f"**{text}**") if key == top else str
        rows.append(
            [
                *(mark(value) for value in key),
                f"{len(runs)}" + (f" ({failed} failed)" if failed else ""),
                f"{means[key]:.2f}",
                f"{_best([s['psnr'] for s in runs]):.2f}",
                f"{_mean([s['ssim'] for s in runs]):.4f}",
                f"{_best([s['ssim'] for s in runs]):.4f}",
                f"{_mean([s['best_psnr'] for s in runs]):.2f}",
            ]
        )
    header = [*sweep.setting_axes, "runs", "mean PSNR", "best PSNR", "mean SSIM", "best SSIM", "mean best-iterate PSNR"]
    counts = {axis: len({plan.axes[axis] for plan in sweep.runs}) for axis in REPLICATE_AXES}
    replicates = " × ".join(f"{n} {axis}{'s' if n != 1 else ''}" for axis, n in counts.items())
    finished = sum(1 for plan in sweep.runs if plan.key in summaries)
    lines = [
        f"# Sweep {sweep.name}",
        "",
        f"{finished} of {len(sweep.runs)} runs finished. Each row is one setting over {replicates}: mean and "
        "best of the final iterate's PSNR (dB) and SSIM, and the mean of each run's best PSNR over its "
        "iterations. The setting with the highest mean PSNR is in bold.",
        "",
        "",
    ]
    return "\n".join(lines) + markdown_table(header, rows)


def _mean(values) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _best(values) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return max(finite) if finite else math.nan
