"""Exports: image panes as PNG, curves as PNG/SVG, metrics as CSV, a lane's kept iterates as a
GIF or an MP4 (frames and encoding: :mod:`core.video`)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtWidgets import QWidget

from core.engine import write_metrics_csv
from core.video import iterate_frames, write_animation

#: a lane's kept iterates as GIF/MP4 (the workbench's name for :func:`core.video.write_animation`)
export_animation = write_animation
__all__ = [
    "export_animation",
    "export_metrics_csv",
    "export_plot",
    "export_plots",
    "export_widget_png",
    "iterate_frames",
]


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
    from PySide6.QtWidgets import QGraphicsItem

    # items cached as pixmaps (the axes) would be written as images: draw them as vectors
    cached = [(it, it.cacheMode()) for it in item.scene().items() if it.cacheMode() != QGraphicsItem.CacheMode.NoCache]
    for it, _ in cached:
        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    painter = QPainter(generator)
    try:
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
        for it, mode in cached:
            it.setCacheMode(mode)
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
