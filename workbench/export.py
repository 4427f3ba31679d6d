"""Exports: image panes as PNG, curves as PNG/SVG, metrics as CSV, a lane's kept iterates as a
GIF (or MP4 when imageio's ffmpeg plugin is installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtWidgets import QWidget

from core.engine import write_metrics_csv
from core.images import to_uint8


def export_widget_png(widget: QWidget, path: str | Path) -> Path:
    """Render ``widget`` (e.g. the image panes or the whole window) to a PNG file."""
    path = Path(path)
    if not widget.grab().save(str(path), "PNG"):
        raise ValueError(f"{path}: cannot write PNG (check the folder exists and is writable)")
    return path


def export_plot(item, path: str | Path) -> Path:
    """Export one ``PlotItem`` (or a whole layout) as PNG or SVG, chosen by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return _export_svg(item, path)
    if suffix == ".png":
        exporter = pg.exporters.ImageExporter(item)
        exporter.parameters()["width"] = max(int(item.boundingRect().width()) * 2, 400)
    else:
        raise ValueError(f"{path}: plot export format must be .png or .svg, got '{suffix or 'none'}'")
    exporter.export(str(path))
    if not path.exists():
        raise ValueError(f"{path}: export failed (nothing written)")
    return path


def _export_svg(item, path: Path) -> Path:
    """Vector SVG of a scene item via Qt's SVG generator.

    (pyqtgraph 0.14's ``SVGExporter`` cannot parse the path syntax PySide6 6.11 writes.)
    """
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("Convergence Workbench plot")
    painter = QPainter(generator)
    try:
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
    if not path.exists():
        raise ValueError(f"{path}: export failed (nothing written)")
    return path


def export_plots(plots: dict, folder: str | Path, suffix: str = ".png") -> list[Path]:
    """Export every plot of ``plots`` (name → PlotItem) into ``folder`` as ``<name><suffix>``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [export_plot(item, folder / f"{name}{suffix}") for name, item in plots.items()]


def export_metrics_csv(snapshot, path: str | Path) -> Path:
    """Write the metrics of ``snapshot`` as CSV (the session's ``metrics.csv`` format)."""
    path = Path(path)
    write_metrics_csv(snapshot, path)
    return path


def iterate_frames(run, lane_index: int) -> list[np.ndarray]:
    """The kept iterates of a lane as uint8 frames, oldest first (x⁰ included)."""
    frames = []
    for k in run.kept_iterations(lane_index):
        image = run.iterate(lane_index, k)
        if image is not None:
            frames.append(to_uint8(np.clip(image, 0.0, 1.0)))
    return frames


def export_animation(frames: list[np.ndarray], path: str | Path, fps: float = 10.0) -> Path:
    """Write frames as an animated GIF (``.gif``) or an MP4 video (``.mp4``, needs ffmpeg).

    Raises
    ------
    ValueError
        For no frames, an unknown suffix, or MP4 without imageio's ffmpeg plugin.
    """
    import imageio.v3 as iio

    path = Path(path)
    if not frames:
        raise ValueError(f"{path}: no kept iterates to export")
    suffix = path.suffix.lower()
    if suffix == ".gif":
        iio.imwrite(path, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)
    elif suffix == ".mp4":
        try:
            iio.imwrite(path, np.stack(frames), extension=".mp4", fps=fps)
        except Exception as exc:  # the ffmpeg plugin is optional
            raise ValueError(f"{path}: MP4 export needs imageio-ffmpeg ({exc}); export a .gif instead") from None
    else:
        raise ValueError(f"{path}: animation format must be .gif or .mp4, got '{suffix or 'none'}'")
    return path
