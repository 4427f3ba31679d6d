"""Convergence curves: one plot per metric, every lane overlaid in its colour.

Curves are created once per lane and receive every iteration even though the window repaints
at display rate: each refresh appends only the iterations that are new since the last one (the
plotted values of a lane live in growing arrays that the curves view, so one refresh costs
O(new data)); a lane whose history was replaced (a restart, a new run) is plotted again from
its start. Log plots get values clamped to a floor (zeros would become gaps). A vertical
cursor marks the scrubbed iteration; a left click on a plot scrubs there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from . import theme
from .curve_overlays import CurveOverlays, RobustViewBox
from .feed import GrowingArray
from .native_items import native_axes
from .native_paint import FastCurve, NativeGraphicsLayout
from .pane_titles import PaneTitle

LOG_FLOOR = 1e-16
#: optimality-check markers: PODM's accepted step (green dot) or fallback (red cross)
MARKER_STYLES = {
    "accepted": dict(symbol="o", brush="#2ca02c", pen=None),
    "fallback": dict(symbol="x", brush="#d62728", pen="#d62728"),
}


@dataclass(frozen=True)
class MetricPlot:
    """One plot of the curves view."""

    key: str
    title: str
    log: bool


METRIC_PLOTS = (
    MetricPlot("rel_change", "log₁₀ rel. change ‖xᵏ − xᵏ⁻¹‖/‖xᵏ⁻¹‖", True),
    MetricPlot("rec_error", "log₁₀ rel. error ‖x − x_gt‖/‖x_gt‖", True),
    MetricPlot("psnr", "PSNR [dB]", False),
    MetricPlot("ssim", "SSIM", False),
    MetricPlot("objective", "log₁₀ objective Φ(x)", True),
    MetricPlot("opt_error", "log₁₀ optimality error ‖ψ‖ vs bound (- -)", True),
)


def curve_values(values: np.ndarray, log: bool) -> np.ndarray:
    """Values as plotted: log10 of the values clamped to ``LOG_FLOOR`` on log plots
    (non-finite → NaN gaps)."""
    values = np.asarray(values, dtype=np.float64)
    if log:
        with np.errstate(invalid="ignore"):
            values = np.where(np.isfinite(values), np.log10(np.maximum(values, LOG_FLOOR)), np.nan)
    return values


#: at most this many accept (or fallback) markers per lane; past it every other one is dropped
MAX_MARKERS = 1024


class _PlottedLane:
    """The plotted values of one lane: x and the log-mapped plots, appended to as it runs."""

    def __init__(self, history_id, x_axis: str):
        self.history_id = history_id
        self.x_axis = x_axis
        self.count = 0
        self.x = GrowingArray()
        self.y = {spec.key: GrowingArray() for spec in METRIC_PLOTS if spec.log}
        self.bound = GrowingArray()
        self.marker_stride = 1  # PODM's accept/fallback markers: every marker_stride-th iteration

    def matches(self, lane, x_axis: str) -> bool:
        """Whether ``lane`` continues what is plotted (same history, same x axis, not shorter)."""
        history_id = getattr(lane, "history_id", None)  # None: a plain RunSnapshot, plotted whole
        return history_id is not None and history_id == self.history_id and x_axis == self.x_axis

    def append(self, lane) -> int:
        """Map and append the lane's iterations after ``count``; returns the first new index."""
        start, end = self.count, len(lane.iterations)
        xs = lane.seconds if self.x_axis == "seconds" else lane.iterations
        self.x.extend(np.asarray(xs[start:end], dtype=np.float64))
        for key, values in self.y.items():
            values.extend(curve_values(_column(lane.metrics, key, start, end), True))
        self.bound.extend(curve_values(_column(lane.metrics, "opt_bound", start, end), True))
        self.count = end
        return start


def _column(metrics: dict, key: str, start: int, end: int) -> np.ndarray:
    values = metrics.get(key)
    if values is None or len(values) < end:
        column = np.full(end - start, np.nan)
        if values is not None:
            part = np.asarray(values[start:end], dtype=np.float64)
            column[: len(part)] = part
        return column
    return np.asarray(values[start:end], dtype=np.float64)


class CurvesView(QWidget):
    """Grid of metric plots with a shared x cursor.

    Signals
    -------
    scrub_requested(int)
        The iteration nearest to a click on any plot.
    """

    scrub_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = NativeGraphicsLayout()
        self.graphics.setAcceptDrops(False)  # files dropped here go to the main window
        self.graphics.viewport().setAcceptDrops(False)
        colours = theme.current()
        self.graphics.setBackground(colours.background)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.x_axis = "iteration"
        self.plots: dict[str, pg.PlotItem] = {}
        self.titles: dict[str, PaneTitle] = {}  # elided to the plot width, full text in the tooltip
        self.cursors: dict[str, pg.InfiniteLine] = {}
        self.curves: dict[tuple[str, int], FastCurve] = {}
        self.bound_curves: dict[int, FastCurve] = {}
        self.markers: dict[tuple[int, str], pg.ScatterPlotItem] = {}  # (lane, "accepted"/"fallback")
        self._lanes: list[tuple[str, str]] = []
        self._plotted: dict[int, _PlottedLane] = {}  # lane index -> what its curves show
        self._last_snapshot = None
        for spec in METRIC_PLOTS:
            plot = pg.PlotItem(viewBox=RobustViewBox(), axisItems=native_axes())  # placed by the overlays' grid
            plot.setMinimumWidth(80)
            self.titles[spec.key] = PaneTitle(plot, [(spec.title, colours.foreground)], count=1)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "iteration")
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colours.muted, style=Qt.PenStyle.DashLine))
            plot.addItem(cursor, ignoreBounds=True)
            self.plots[spec.key] = plot
            self.cursors[spec.key] = cursor
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_click)
        # legend row above the plots, outside the data (lane curves named in set_lanes land in it)
        self.overlays = CurveOverlays(self)
        self.legend: pg.LegendItem = self.overlays.legend
        self.plots["psnr"].legend = self.legend
        for kind, style in MARKER_STYLES.items():
            self.overlays.marker_legend.addItem(pg.ScatterPlotItem(size=7, **style), kind)
        self.overlays.arrange(1200, 500)

    # structure --------------------------------------------------------------------------
    def set_lanes(self, lanes: list[tuple[str, str]]) -> None:
        """(label, colour) per lane; rebuilds the curve items (not called per frame)."""
        for (key, _), item in self.curves.items():
            self.plots[key].removeItem(item)
        for item in list(self.bound_curves.values()) + list(self.markers.values()):
            self.plots["opt_error"].removeItem(item)
        self.curves.clear()
        self.bound_curves.clear()
        self.markers.clear()
        self._plotted.clear()
        # one legend for the widget's life: PlotItem.addLegend returns the existing one, so a
        # legend taken off the scene never came back
        self.legend.clear()
        self.overlays.set_lanes(len(lanes))
        self._lanes = list(lanes)
        for index, (label, color) in enumerate(lanes):
            pen = pg.mkPen(color, width=2)
            for spec in METRIC_PLOTS:
                curve = self.curves[(spec.key, index)] = FastCurve(pen, name=label)
                self.plots[spec.key].addItem(curve)
                if spec.key == "psnr":
                    self.legend.addItem(curve, label)
            bound_pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine)
            self.bound_curves[index] = FastCurve(bound_pen)
            self.plots["opt_error"].addItem(self.bound_curves[index])
            for kind, style in MARKER_STYLES.items():
                markers = pg.ScatterPlotItem(size=7, **style)
                self.plots["opt_error"].addItem(markers)
                self.markers[(index, kind)] = markers

    def reset_view(self) -> None:
        """Forget the previous run: empty every curve and let every axis follow the new data."""
        for item in [*self.curves.values(), *self.bound_curves.values(), *self.markers.values()]:
            item.setData([], [])
        self._plotted.clear()
        self._last_snapshot = None
        self.overlays.clear()
        for plot in self.plots.values():
            # an auto-ranged view without data keeps its last range: start from the fresh one
            plot.getViewBox().setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            plot.enableAutoRange()

    def set_x_axis(self, mode: str) -> None:
        """``"iteration"`` or ``"seconds"``."""
        if mode not in ("iteration", "seconds"):
            raise ValueError(f"x axis must be 'iteration' or 'seconds', got {mode!r}")
        self.x_axis = mode
        for plot in self.plots.values():
            plot.setLabel("bottom", "iteration" if mode == "iteration" else "solve time [s]")
        self.overlays.show_axis_labels()
        if self._last_snapshot is not None:
            self.update_curves(self._last_snapshot)

    # content ----------------------------------------------------------------------------
    def _x_of(self, lane) -> np.ndarray:
        return np.asarray(lane.seconds if self.x_axis == "seconds" else lane.iterations, dtype=np.float64)

    def update_curves(self, snapshot) -> None:
        """Show ``snapshot`` (a ``RunSnapshot``): append each lane's new iterations to its curves
        (a lane whose history was replaced, or a plain ``RunSnapshot``, is plotted whole)."""
        self._last_snapshot = snapshot
        for index, lane in enumerate(snapshot.lanes):
            if ("psnr", index) not in self.curves:
                continue
            plotted = self._plotted.get(index)
            fresh = plotted is None or not plotted.matches(lane, self.x_axis) or len(lane.iterations) < plotted.count
            if fresh:
                plotted = self._plotted[index] = _PlottedLane(getattr(lane, "history_id", None), self.x_axis)
            if fresh or len(lane.iterations) > plotted.count:
                start = plotted.append(lane)
                self._show_lane(index, lane, plotted, start if not fresh else 0)
            self._update_legend(index, lane)
        self.overlays.update(snapshot)

    def _show_lane(self, index: int, lane, plotted: _PlottedLane, start: int) -> None:
        """Point the lane's curves at its plotted arrays (views: no copy)."""
        x = plotted.x.view()
        for spec in METRIC_PLOTS:
            curve = self.curves[(spec.key, index)]
            if not len(x):
                curve.setData([], [])
                continue
            y = plotted.y[spec.key].view() if spec.log else _column(lane.metrics, spec.key, 0, len(x))
            curve.extend(x, y, start)  # O(new points); start 0 starts over
        bound = self.bound_curves[index]
        if len(x):
            bound.extend(x, plotted.bound.view(), start)
        else:
            bound.setData([], [])
        self._update_optimality(index, lane, plotted, start)

    def _update_optimality(self, index: int, lane, plotted: _PlottedLane, start: int) -> None:
        """Accepted / fallback markers of the iterations from ``start`` on (added to the earlier
        ones), of every ``plotted.marker_stride``-th iteration: the stride doubles when a lane has
        more than :data:`MAX_MARKERS` of a kind (symbols a pixel apart overlap anyway, and a
        scatter item paints and extends in Python, at a cost that grows with its points)."""
        end = plotted.count
        shown = self._optimality_points(lane, plotted, start, end)
        held = {kind: len(self.markers[(index, kind)].data) if start else 0 for kind in shown}
        if max(held[kind] + len(x) for kind, (x, _) in shown.items()) > MAX_MARKERS:
            while True:  # ends: with a stride past the last iteration only the first one is left
                plotted.marker_stride *= 2
                shown = self._optimality_points(lane, plotted, 0, end)
                if max(len(x) for x, _ in shown.values()) <= MAX_MARKERS // 2:
                    break
            start = 0
        for kind, (x, y) in shown.items():
            markers = self.markers[(index, kind)]
            if start == 0:
                markers.setData(x=x, y=y)
            elif len(x):
                markers.addPoints(x=x, y=y)
            markers.setVisible(len(markers.data) > 0)  # an empty scatter item still paints, in Python

    @staticmethod
    def _optimality_points(lane, plotted: _PlottedLane, start: int, end: int) -> dict:
        """kind -> (x, y) of the iterations ``start``…``end`` whose index is a multiple of the stride."""
        accepted = _column(lane.metrics, "accepted", start, end)
        y = plotted.y["opt_error"].view()[start:end]
        x = plotted.x.view()[start:end]
        on_stride = (np.arange(start, end) % plotted.marker_stride) == 0
        known = np.isfinite(accepted) & np.isfinite(y) & on_stride
        ok = known & (accepted > 0.5)
        return {kind: (x[mask], y[mask]) for kind, mask in (("accepted", ok), ("fallback", known & ~ok))}

    def _update_legend(self, index: int, lane) -> None:
        label = lane.label
        if lane.status.startswith(("diverged", "error")):
            label = f"{lane.label} ⚠ {lane.status}"
        item = self.legend.getLabel(self.curves[("psnr", index)]) if self.legend else None
        if item is not None and item.text != label:
            item.setText(label)

    def set_cursor(self, k: int, snapshot=None) -> None:
        """Move the vertical cursor of every plot to iteration ``k``."""
        snapshot = snapshot or self._last_snapshot
        x = float(k)
        if self.x_axis == "seconds" and snapshot is not None and snapshot.lanes:
            lane = snapshot.lanes[0]
            hits = np.flatnonzero(np.asarray(lane.iterations) == k)
            x = float(lane.seconds[hits[0]]) if len(hits) else 0.0
        for cursor in self.cursors.values():
            cursor.setValue(x)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.overlays.arrange(self.width(), self.height())

    def cursor_position(self) -> float:
        """Current x of the cursors."""
        return float(next(iter(self.cursors.values())).value())

    def point_count(self, key: str, lane_index: int) -> int:
        """Number of points of a lane's curve in plot ``key``."""
        x, _ = self.curves[(key, lane_index)].getData()
        return 0 if x is None else len(x)

    # interaction ------------------------------------------------------------------------
    def _on_scene_click(self, event) -> None:
        # only a left click scrubs; the right button opens the plot's context menu
        if event.button() == Qt.MouseButton.LeftButton:
            self._on_click(event)

    def _on_click(self, event) -> None:
        """Scrub to the iteration under the click (any object with ``scenePos()``)."""
        snapshot = self._last_snapshot
        if snapshot is None or not snapshot.lanes:
            return
        for plot in self.plots.values():
            view = plot.getViewBox()
            if view.sceneBoundingRect().contains(event.scenePos()):
                x = view.mapSceneToView(event.scenePos()).x()
                self.scrub_requested.emit(self.iteration_at(x))
                return

    def iteration_at(self, x: float) -> int:
        """Iteration whose x (iteration or seconds) is nearest to ``x``."""
        lanes = [lane for lane in self._last_snapshot.lanes if len(lane.iterations)]
        if not lanes:
            return 0
        lane = max(lanes, key=lambda ln: len(ln.iterations))
        xs = self._x_of(lane)
        return int(lane.iterations[int(np.argmin(np.abs(xs - x)))])
