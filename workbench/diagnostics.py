"""Diagnostics view: a lane's intermediate images at the scrubbed iteration, its strip of
accepted/fallback decisions and its learned scalar series, each on its own small plot.

PODM: x_A, x̃, x_G and the differences x_G − x̃ and x_A − x^{k−1}; unrolled nets: the stage's
input, output and output − input. Differences use a diverging colormap with levels symmetric
about 0. Images fit and refit like the panes (:mod:`workbench.image_views`). A cursor marks the
shown stage on the strip and on every series. The view picks the first lane that reports
diagnostics until the user picks one.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from . import theme
from .image_views import SyncedImageViews, refill_view, use_grid
from .lane_view import PREVIOUS_ITERATE
from .native_items import NativeImage, native_axes
from .native_paint import NativeGraphicsLayout
from .pane_titles import PaneTitle, set_title
from .panes import display_array, scalar_map

SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
DIFFERENCE_COLORMAP = "CET-D1"  # blue – white – red
DIFFERENCE_PERCENTILE = 99.5  # symmetric levels ±(this percentile of |difference|)
IMAGE_TITLE_HEIGHT = 22


def diagnostic_images(extras: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, bool]]:
    """(name, image, is a difference) to show for a step's extras (display images).

    PODM's ``x_A, x_tilde, x_G`` add ``x_G − x_tilde`` and, when the previous iterate is given
    (key :data:`PREVIOUS_ITERATE`), ``x_A − x^{k−1}``; an unrolled stage's ``input, output``
    add ``output − input`` (its own ``residual`` is then not repeated). Other extras are shown
    as they are.
    """
    extras = dict(extras)
    previous = extras.pop(PREVIOUS_ITERATE, None)
    shown: list[tuple[str, np.ndarray, bool]] = []
    if {"x_A", "x_tilde", "x_G"} <= set(extras):
        shown += [(name, extras.pop(name), False) for name in ("x_A", "x_tilde", "x_G")]
        x_a, x_tilde, x_g = (image for _, image, _ in shown)
        shown.append(("x_G − x_tilde", x_g - x_tilde, True))
        if previous is not None and previous.shape == x_a.shape:
            shown.append(("x_A − x^{k−1}", x_a - previous, True))
    elif {"input", "output"} <= set(extras):
        stage_in, stage_out = extras.pop("input"), extras.pop("output")
        extras.pop("residual", None)
        shown += [("input", stage_in, False), ("output", stage_out, False)]
        shown.append(("output − input", stage_out - stage_in, True))
    shown += [(name, extras[name], False) for name in sorted(extras)]
    return shown


def symmetric_level(image: np.ndarray) -> float:
    """Half-range of a difference image's symmetric levels (its robust largest magnitude)."""
    finite = np.abs(image[np.isfinite(image)])
    high = float(np.percentile(finite, DIFFERENCE_PERCENTILE)) if finite.size else 0.0
    return high if high > 0 else 1e-6


def image_columns(count: int, width: float, height: float, shape: tuple[int, int]) -> int:
    """Columns of the image grid that draw ``count`` images of ``shape`` largest."""
    rows, cols = shape
    best, best_scale = 1, -1.0
    for columns in range(1, max(count, 1) + 1):
        bands = math.ceil(count / columns)
        scale = min(width / columns / cols, (height / bands - IMAGE_TITLE_HEIGHT) / rows)
        if scale > best_scale * 1.001:
            best, best_scale = columns, scale
    return best


class DiagnosticsView(QWidget):
    """Extras images, decision strip and scalar series of one selected lane.

    Signals
    -------
    lane_selected(int)
    """

    lane_selected = Signal(int)
    shown = Signal()  # the tab became visible: hidden, it is not updated while the run plays

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        colours = theme.current()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("lane"))
        self.lane_combo = QComboBox()
        self.lane_combo.currentIndexChanged.connect(self.lane_selected)
        self.lane_combo.activated.connect(self._on_user_pick)
        top.addWidget(self.lane_combo)
        self.info = QLabel("")
        top.addWidget(self.info, 1)
        layout.addLayout(top)
        self.graphics = self._graphics(colours)  # images
        self.plots_graphics = self._graphics(colours)  # strip and series
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.graphics)
        self.splitter.addWidget(self.plots_graphics)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 300])  # images get most of the width
        layout.addWidget(self.splitter, 1)
        self.user_picked = False  # the user chose a lane: keep it
        self.views = SyncedImageViews()
        self.image_plots: dict[str, pg.PlotItem] = {}
        self.image_items: dict[str, pg.ImageItem] = {}
        self.image_titles: dict[str, PaneTitle] = {}  # elided, full text in the tooltip
        self._image_keys: tuple[str, ...] | None = None
        self._columns = 0
        self.cursor_pen = pg.mkPen(colours.muted, style=Qt.PenStyle.DashLine)
        self.strip = pg.PlotItem(axisItems=native_axes())
        self.strip_title = PaneTitle(self.strip, [("accept / fallback", None)], count=1)
        self.strip.hideAxis("left")
        self.strip.setMouseEnabled(y=False)
        self.strip.setMaximumHeight(80)
        self.bars_accepted = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#2ca02c", pen=pg.mkPen(None))
        self.bars_fallback = pg.BarGraphItem(x=[], height=[], width=1.0, brush="#d62728", pen=pg.mkPen(None))
        self.strip.addItem(self.bars_accepted)
        self.strip.addItem(self.bars_fallback)
        self.cursors: dict[str, pg.InfiniteLine] = {"strip": self._cursor(self.strip)}
        self.plots_graphics.addItem(self.strip, row=0, col=0)
        self.series_plots: dict[str, pg.PlotItem] = {}
        self.series_curves: dict[str, pg.PlotDataItem] = {}
        self._series_key: tuple | None = None
        self._cursor_k: int | None = None
        self._build([])

    @staticmethod
    def _graphics(colours) -> pg.GraphicsLayoutWidget:
        graphics = NativeGraphicsLayout()
        graphics.setAcceptDrops(False)  # files dropped here go to the main window
        graphics.viewport().setAcceptDrops(False)
        graphics.setBackground(colours.background)
        return graphics

    def _cursor(self, plot: pg.PlotItem) -> pg.InfiniteLine:
        cursor = pg.InfiniteLine(angle=90, movable=False, pen=self.cursor_pen)
        plot.addItem(cursor, ignoreBounds=True)
        return cursor

    # lanes ------------------------------------------------------------------------------
    def set_lanes(self, labels: list[str]) -> None:
        """Lane names in the picker (keeps the selection where possible)."""
        current = self.lane_combo.currentIndex()
        self.lane_combo.blockSignals(True)
        self.lane_combo.clear()
        self.lane_combo.addItems(labels)
        self.lane_combo.setCurrentIndex(min(max(current, 0), len(labels) - 1) if labels else -1)
        self.lane_combo.blockSignals(False)

    def _on_user_pick(self, _index: int) -> None:
        self.user_picked = True

    def lane_index(self) -> int:
        return self.lane_combo.currentIndex()

    def pick_lane(self, lanes) -> int:
        """The lane to show: the user's pick, else the shown lane while it reports intermediate
        images, else the first lane of ``lanes`` (snapshots) that does (the selection moves)."""
        index = self.lane_index()
        if self.user_picked or not lanes:
            return index
        has = [bool(lane.extras) for lane in lanes]
        if any(has) and not (0 <= index < len(has) and has[index]):
            self.lane_combo.blockSignals(True)
            self.lane_combo.setCurrentIndex(has.index(True))
            self.lane_combo.blockSignals(False)
        return self.lane_index()

    # images -----------------------------------------------------------------------------
    def _build(self, keys: list[str], differences: set[str] = frozenset()) -> None:
        self.graphics.clear()
        self.image_plots.clear()
        self.image_items.clear()
        self.image_titles.clear()
        self.views.clear()
        self._image_keys = tuple(keys)
        self._columns = 0
        for key in keys:
            plot = pg.PlotItem()
            plot.setMinimumSize(24, 24)
            plot.setPreferredSize(24, 24)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setMenuEnabled(False)
            item = NativeImage(axisOrder="row-major")
            if key in differences:
                item.setColorMap(pg.colormap.get(DIFFERENCE_COLORMAP))
            plot.addItem(item)
            self.views.add(plot.getViewBox())
            self.image_titles[key] = PaneTitle(plot, [(key, None)], count=1)
            self.image_plots[key] = plot
            self.image_items[key] = item
        if not keys:
            self.graphics.addLabel("this lane reports no intermediate images", row=0, col=0)
        self._arrange()

    def _arrange(self) -> None:
        keys = list(self.image_plots)
        if not keys:
            return
        size = self.graphics.size()
        columns = image_columns(len(keys), size.width(), size.height(), self.views.shape or (1, 1))
        if columns == self._columns:
            return
        self._columns = columns
        grid = self.graphics.ci
        for plot in self.image_plots.values():
            if plot in grid.items:
                grid.removeItem(plot)
        for i, key in enumerate(keys):
            grid.addItem(self.image_plots[key], row=i // columns, col=i % columns)
        use_grid(grid.layout, -(-len(keys) // columns), columns)
        refill_view(self.graphics)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown.emit()

    def show_lane(self, lane, k: int, extras: dict[str, np.ndarray]) -> None:
        """Show ``extras`` (name → display image at iteration ``k``) and the lane's series.

        Parameters
        ----------
        lane : LaneSnapshot or None
        k : int
            Iteration the images belong to (shown in the info line, and where the cursors are).
        extras : dict
            May hold the previous iterate under :data:`PREVIOUS_ITERATE`.
        """
        shown = diagnostic_images(extras)
        keys = [name for name, _, _ in shown]
        if tuple(keys) != self._image_keys:
            self._build(keys, {name for name, _, difference in shown if difference})
        for name, image, difference in shown:
            image = display_array(image)
            self._show_image(name, scalar_map(image) if difference else image, difference, k)
        if shown:
            self.views.set_shape(shown[0][1].shape)
            self._arrange()
        if lane is None:
            self.info.setText("")
            return
        missing = "" if extras else " (no intermediate images kept at this iteration)"
        if "x_A" in extras and PREVIOUS_ITERATE not in extras:
            missing = " (x_A − x^{k−1} needs the kept previous iterate: pause or scrub to see it)"
        self.info.setText(f"{lane.label}: {lane.status}, iteration {k}{missing}")
        key = (lane.label, len(lane.iterations))
        if self.isVisible() or self._series_key != key:  # hidden: only on new data
            self._series_key = key
            self._show_strip(lane)
            self._show_series(lane)
            # one iteration axis for the strip and every series (not pyqtgraph's x-link, which maps
            # ranges by pixel position and the strip has no y axis)
            for plot in (self.strip, *self.series_plots.values()):
                plot.setXRange(0.5, max(len(lane.iterations), 1) + 0.5, padding=0.02)
        self.set_cursor(k)

    def _show_image(self, name: str, image: np.ndarray, difference: bool, k: int) -> None:
        item = self.image_items[name]
        if difference:
            half = symmetric_level(image)
            item.setImage(image, autoLevels=False, levels=(-half, half))
            self.image_titles[name].set_lines([(f"{name} @ k={k}  [±{half:.3g}]", None)])
            return
        low, high = float(np.nanmin(image)), float(np.nanmax(image))
        item.setImage(image, autoLevels=False, levels=(0.0, 1.0))
        self.image_titles[name].set_lines([(f"{name} @ k={k}  [{low:.3g}, {high:.3g}]", None)])

    # strip, series, cursors -------------------------------------------------------------
    def _show_strip(self, lane) -> None:
        accepted = np.asarray(lane.metrics.get("accepted", []), dtype=np.float64)
        iterations = np.asarray(lane.iterations)[: len(accepted)]
        known = np.isfinite(accepted)
        ok = known & (accepted > 0.5)
        fallback = known & ~ok
        for bars, mask in ((self.bars_accepted, ok), (self.bars_fallback, fallback)):
            bars.setOpts(x=iterations[mask], height=np.ones(int(mask.sum())), width=1.0)
        n_ok, n_fallback = int(ok.sum()), int(fallback.sum())
        title = (
            f"check: {n_ok} accepted (green), {n_fallback} fallback (red)"
            if n_ok + n_fallback
            else "no accept/fallback decisions reported by this lane"
        )
        self.strip_title.set_lines([(title, None)])

    def _show_series(self, lane) -> None:
        names = sorted(lane.series)
        if tuple(names) != tuple(self.series_plots):
            self._build_series(names)
        iterations = np.asarray(lane.iterations)
        for name in names:
            values = np.asarray(lane.series[name], dtype=np.float64)
            self.series_curves[name].setData(iterations[: len(values)], values)
            finite = values[np.isfinite(values)]
            last = f" = {finite[-1]:.4g}" if finite.size else ""
            set_title(self.series_plots[name], f"{name}{last}")

    def _build_series(self, names: list[str]) -> None:
        """One small plot per series (the iteration axis set with the strip's)."""
        for name, plot in self.series_plots.items():
            self.plots_graphics.removeItem(plot)
            self.cursors.pop(name, None)
        self.series_plots.clear()
        self.series_curves.clear()
        for i, name in enumerate(names):
            plot = pg.PlotItem(axisItems=native_axes())
            plot.setMinimumHeight(50)
            plot.showGrid(x=True, y=True, alpha=0.25)
            pen = pg.mkPen(SERIES_COLORS[i % len(SERIES_COLORS)], width=2)
            self.series_curves[name] = plot.plot(pen=pen)
            self.cursors[name] = self._cursor(plot)
            self.plots_graphics.addItem(plot, row=i + 1, col=0)
            self.series_plots[name] = plot
        if not names:
            self.strip.setMaximumHeight(80)
        self._cursor_k = None

    def set_cursor(self, k: int) -> None:
        """Move the cursor of the strip and of every series plot to stage ``k``."""
        self._cursor_k = k
        for cursor in self.cursors.values():
            cursor.setValue(float(k))

    def cursor_positions(self) -> dict[str, float]:
        """Where each cursor is (``"strip"`` and one per series)."""
        return {name: float(cursor.value()) for name, cursor in self.cursors.items()}
