"""Minimal line plots rendered to PNG with Pillow (core never imports Qt; matplotlib is not a dependency).

Used by the reproductions under bench/results/ for convergence curves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 1)]


def line_panel(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    colors: Mapping[str, str],
    title: str,
    *,
    log_y: bool = False,
    size: tuple[int, int] = (420, 300),
):
    """One panel (a PIL image) with a line per series, axes with tick labels, a title and a legend.

    Parameters
    ----------
    series : mapping label -> (x, y)
        Non-finite (and, with ``log_y``, non-positive) points are skipped.
    colors : mapping label -> "#rrggbb"
    title : str
    log_y : bool
        Plot log10(y) (the tick labels then read "1e-3" etc.).
    """
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    left, right, top, bottom = 58, 10, 24, 30
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    cleaned = {}
    for label, (x, y) in series.items():
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if log_y else True)
        if ok.any():
            cleaned[label] = (x[ok], np.log10(y[ok]) if log_y else y[ok])
    draw.text((left, 4), title, fill="black", font=font)
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    if not cleaned:
        return img
    xs = np.concatenate([v[0] for v in cleaned.values()])
    ys = np.concatenate([v[1] for v in cleaned.values()])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 0.04 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad

    def px(xv, yv):
        return (
            left + (xv - x0) / (x1 - x0) * (width - left - right),
            height - bottom - (yv - y0) / (y1 - y0) * (height - top - bottom),
        )

    for t in _nice_ticks(y0, y1):
        _, py = px(x0, t)
        draw.line([left - 4, py, left, py], fill="black")
        draw.line([left + 1, py, width - right - 1, py], fill=(230, 230, 230))
        draw.text((2, py - 6), f"{10**t:.2g}" if log_y else f"{t:.3g}", fill="black", font=font)
    for t in _nice_ticks(x0, x1):
        pxv, _ = px(t, y0)
        draw.line([pxv, height - bottom, pxv, height - bottom + 4], fill="black")
        draw.text((pxv - 8, height - bottom + 6), f"{t:g}", fill="black", font=font)
    for i, (label, (x, y)) in enumerate(cleaned.items()):
        color = colors.get(label, "#000000")
        pts = [px(a, b) for a, b in zip(x, y)]
        if len(pts) > 1:
            draw.line(pts, fill=color, width=2)
        else:
            draw.ellipse([pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2], fill=color)
        ly = top + 6 + 13 * i
        draw.line([width - right - 90, ly + 6, width - right - 72, ly + 6], fill=color, width=2)
        draw.text((width - right - 68, ly), label, fill="black", font=font)
    return img


def save_panels(panels: Sequence, path: str | Path, columns: int = 2) -> Path:
    """Tile PIL panels (same size) in a grid and save as PNG."""
    from PIL import Image

    w, h = panels[0].size
    rows = math.ceil(len(panels) / columns)
    sheet = Image.new("RGB", (w * min(columns, len(panels)), h * rows), "white")
    for i, panel in enumerate(panels):
        sheet.paste(panel, ((i % columns) * w, (i // columns) * h))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
