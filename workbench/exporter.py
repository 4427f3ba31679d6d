"""Exports of the main window: panes, curves, metrics, a lane's kept iterates."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from . import export
from .window_actions import ErrorFn, StatusFn, report


class Exporter:
    """Export dialogs and exports: panes, curves, metrics, a lane's kept iterates.

    Parameters
    ----------
    parent : QWidget
        Parent of the dialogs.
    worker : RunWorker
    panes : ImagePanes
    curves : CurvesView
    show_error : callable(message, details)
    show_status : callable(message, timeout_ms)
    """

    def __init__(self, *, parent: QWidget, worker, panes, curves, show_error: ErrorFn, show_status: StatusFn):
        self.parent = parent
        self.worker = worker
        self.panes = panes
        self.curves = curves
        self.show_error = show_error
        self.show_status = show_status

    def export_panes_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export image panes", "panes.png", "PNG (*.png)")
        if path:
            self._export(lambda: export.export_widget_png(self.panes, path))

    def export_curves_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent,
            "Export curves (one file per plot: name_<metric>.ext)",
            "curves.png",
            "PNG (*.png);;SVG (*.svg)",
        )
        if path:
            path = Path(path)
            self._export(
                lambda: [
                    export.export_plot(plot, path.with_name(f"{path.stem}_{key}{path.suffix}"))
                    for key, plot in self.curves.plots.items()
                ]
            )

    def export_curves_figure_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Export all curves as one figure", "curves.png", "PNG (*.png);;SVG (*.svg)"
        )
        if path:
            self._export(lambda: export.export_plot(self.curves.graphics.ci, path))

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self._export(lambda: export.export_metrics_csv(self.worker.latest(), path))

    def export_animation_dialog(self) -> None:
        labels = [lane.label for lane in self.worker.run.lanes]
        if not labels:
            return
        label, ok = QInputDialog.getItem(self.parent, "Export iterates", "lane", labels, 0, False)
        if not ok:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Export kept iterates", f"{label}.gif", "GIF (*.gif);;MP4 (*.mp4)"
        )
        if path:
            self.export_animation(labels.index(label), path)

    def export_animation(self, lane_index: int, path: str | Path) -> None:
        """Write a lane's kept iterates as GIF/MP4 (the frames are copied between two steps)."""

        def write(frames, error) -> None:
            if error is not None:
                self.show_error(f"export failed: {error[0]}", error[1])
                return
            self._export(lambda: export.export_animation(frames, path))

        self.worker.submit(lambda run: export.iterate_frames(run, lane_index), write)

    def _export(self, job) -> None:
        try:
            result = job()
        except (OSError, ValueError) as exc:
            report(self.show_error, exc, "export failed")
            return
        self.show_status(f"exported {result}", 6000)
