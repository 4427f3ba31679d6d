"""Diagnostics view: a lane's intermediate images at the scrubbed iteration (PODM: x_A, x̃, x_G;
unrolled nets: per-stage input/output/residual), its strip of accepted/fallback decisions and
its extra scalar series (learned step sizes, thresholds, σ, ...)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .pane_titles import set_title
from .panes import display_array

SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class DiagnosticsView(QWidget):
    """Extras images, decision strip and scalar series of one selected lane.

    Signals
    -------
    lane_selected(int)
    """

    lane_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("lane"))
        self.lane_combo = QComboBox()
        self.lane_combo.currentIndexChanged.connect(self.lane_selected)
        top.addWidget(self.lane_combo)
        self.info = QLabel("")
        top.addWidget(self.info, 1)
        layout.addLayout(top)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setAcceptDrops(False)  # files dropped here go to the main window
        self.graphics.viewport().setAcceptDrops(False)
        self.graphics.setBackground("#1e1e1e")
        layout.addWidget(self.graphics, 1)
        self.image_plots: dict[str, pg.PlotItem] = {}
        self.image_items: dict[str, pg.ImageItem] = {}
        self._image_keys: tuple[str, ...] | None = None
        self.strip = pg.PlotItem(title="PODM check: accepted (green) / fallback (red)")
        self.strip.hideAxis("left")
        self.strip.setMouseEnabled(y=False)
        self.strip.setMaximumHeight(90)
        self.bars_accepted = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#2ca02c", pen=pg.mkPen(None))
        self.bars_fallback = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#d62728", pen=pg.mkPen(None))
        self.strip.addItem(self.bars_accepted)
        self.strip.addItem(self.bars_fallback)
        self.series_plot = pg.PlotItem(title="scalar series")
        self.series_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.series_curves: dict[str, pg.PlotDataItem] = {}
        self._series_key: tuple | None = None
        self._build([])

    def set_lanes(self, labels: list[str]) -> None:
        """Lane names in the picker (keeps the selection where possible)."""
        current = self.lane_combo.currentIndex()
        self.lane_combo.blockSignals(True)
        self.lane_combo.clear()
        self.lane_combo.addItems(labels)
        self.lane_combo.setCurrentIndex(min(max(current, 0), len(labels) - 1) if labels else -1)
        self.lane_combo.blockSignals(False)

    def lane_index(self) -> int:
        return self.lane_combo.currentIndex()

    def _build(self, keys: list[str]) -> None:
        self.graphics.clear()
        self.image_plots.clear()
        self.image_items.clear()
        self._image_keys = tuple(keys)
        master = None
        for col, key in enumerate(keys):
            plot = self.graphics.addPlot(row=0, col=col)
            set_title(plot, key)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            view = plot.getViewBox()
            view.setAspectLocked(True)
            view.invertY(True)
            if master is None:
                master = view
            else:
                view.setXLink(master)
                view.setYLink(master)
            item = pg.ImageItem(axisOrder="row-major")
            plot.addItem(item)
            self.image_plots[key] = plot
            self.image_items[key] = item
        span = max(len(keys), 1)
        if not keys:
            self.graphics.addLabel("this lane reports no intermediate images", row=0, col=0)
        self.graphics.addItem(self.strip, row=1, col=0, colspan=span)
        self.graphics.addItem(self.series_plot, row=2, col=0, colspan=span)
        grid = self.graphics.ci.layout
        for row, stretch in ((0, 5), (1, 1), (2, 2)):
            grid.setRowStretchFactor(row, stretch)
        self._fitted = False

    def show_lane(self, lane, k: int, extras: dict[str, np.ndarray]) -> None:
        """Show ``extras`` (name → display image at iteration ``k``) and the lane's series.

        Parameters
        ----------
        lane : LaneSnapshot or None
        k : int
            Iteration the images belong to (shown in the info line).
        extras : dict
        """
        keys = sorted(extras)
        if tuple(keys) != self._image_keys:
            self._build(keys)
        for key in keys:
            image = display_array(extras[key])
            # intermediate images may leave [0, 1] (residuals): show their own range
            low, high = float(np.nanmin(image)), float(np.nanmax(image))
            if not np.isfinite(low) or not np.isfinite(high) or high <= low:
                low, high = 0.0, 1.0
            self.image_items[key].setImage(image, autoLevels=False, levels=(low, high))
            set_title(self.image_plots[key], f"{key} @ k={k}  [{low:.3g}, {high:.3g}]")
        if keys and not self._fitted:
            shape = self.image_items[keys[0]].image.shape
            self.image_plots[keys[0]].getViewBox().setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=0.02)
            self._fitted = True
        if lane is None:
            self.info.setText("")
            return
        self.info.setText(
            f"{lane.label}: {lane.status}, iteration {k}"
            + ("" if extras else " (no intermediate images kept at this iteration)")
        )
        key = (lane.label, len(lane.iterations))
        if self.isVisible() or self._series_key != key:  # hidden: only on new data
            self._series_key = key
            self._show_strip(lane, k)
            self._show_series(lane)

    def _show_strip(self, lane, k: int) -> None:
        accepted = np.asarray(lane.metrics.get("accepted", []), dtype=np.float64)
        iterations = np.asarray(lane.iterations)[: len(accepted)]
        known = np.isfinite(accepted)
        ok = known & (accepted > 0.5)
        fallback = known & ~ok
        for bars, mask in ((self.bars_accepted, ok), (self.bars_fallback, fallback)):
            bars.setOpts(x=iterations[mask], height=np.ones(int(mask.sum())), width=1.0)
        n_ok, n_fallback = int(ok.sum()), int(fallback.sum())
        title = (
            f"check at each iteration: {n_ok} accepted (green), {n_fallback} fallback (red)"
            if n_ok + n_fallback
            else "no accept/fallback decisions reported by this lane"
        )
        self.strip.setTitle(title, size="9pt")

    def _show_series(self, lane) -> None:
        names = sorted(lane.series)
        for name in list(self.series_curves):
            if name not in names:
                self.series_plot.removeItem(self.series_curves.pop(name))
        for i, name in enumerate(names):
            if name not in self.series_curves:
                pen = pg.mkPen(SERIES_COLORS[i % len(SERIES_COLORS)], width=2)
                self.series_curves[name] = self.series_plot.plot(pen=pen, name=name)
            values = np.asarray(lane.series[name], dtype=np.float64)
            self.series_curves[name].setData(np.asarray(lane.iterations)[: len(values)], values)
        self.series_plot.setTitle("scalar series: " + (", ".join(names) if names else "none"), size="9pt")
