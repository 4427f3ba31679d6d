"""Image panes: ground truth, observation and, per lane, the iterate and its error map.

``NativeImage`` s (pyqtgraph image items that Qt paints without Python; row-major float32,
explicit levels) in aspect-locked views that fit their image and stay synced
(:mod:`workbench.image_views`). Panes come in pairs (ground truth over observation, each lane's
iterate over its error map), laid out in as many pair columns as
make the images largest in the space there is; titles are elided to the pane width (full text in
the tooltip). The error maps share one colour bar (magma) whose levels follow the shown error
maps until the user drags the bar. Hovering any pane shows the pixel coordinates and value.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import theme
from .image_views import SyncedImageViews, refill_view, use_grid
from .native_items import NativeColorBar, NativeImage
from .native_paint import NativeGraphicsLayout
from .pane_titles import LanePaneInfo, PaneTitle, lane_title_lines

__all__ = ["ImagePanes", "LanePaneInfo", "best_layout", "display_array", "scalar_map"]

ERROR_COLORMAP = "magma"
ERROR_PERCENTILE = 99.5  # error-map levels: (0, this percentile of the shown error maps)
TITLE_HEIGHT = 48  # pixels a pane's three-line title takes (layout estimate)
BAR_WIDTH = 70  # pixels the colour bar column takes (layout estimate)

DISPLAY_LIMIT = 1e6  # values of a blowing-up iterate are clipped for display (no float overflow)


def display_array(image: np.ndarray | None) -> np.ndarray | None:
    """Row-major C-contiguous float32 array for an ImageItem, clipped to ±``DISPLAY_LIMIT``
    (None passes through)."""
    if image is None:
        return None
    return np.clip(np.ascontiguousarray(image, dtype=np.float32), -DISPLAY_LIMIT, DISPLAY_LIMIT)


def scalar_map(image: np.ndarray) -> np.ndarray:
    """Colour error maps are shown as their mean over channels (one colormap)."""
    return image.mean(axis=2) if image.ndim == 3 else image


def best_layout(pairs: int, width: float, height: float, shape: tuple[int, int] | None) -> tuple[bool, int]:
    """(stacked, pair columns) that draw images of ``shape`` (rows, cols) largest in a
    ``width`` × ``height`` area: a pair is two panes stacked (``stacked``) or side by side;
    ties go to fewer rows."""
    rows, cols = shape or (1, 1)
    best, best_scale = (True, 1), -1.0
    for stacked in (True, False):
        for columns in range(1, max(pairs, 1) + 1):
            bands = math.ceil(pairs / columns)
            cell_w = width / (columns if stacked else 2 * columns)
            cell_h = height / (2 * bands if stacked else bands) - TITLE_HEIGHT
            scale = min(cell_w / cols, cell_h / rows)
            if scale > best_scale * 1.001:
                best, best_scale = (stacked, columns), scale
    return best


class ImagePanes(QWidget):
    """Grid of synced image panes with a hover read-out.

    Pair 0 holds the ground truth (top) and the observation (bottom); pair ``i + 1`` holds lane
    ``i``'s iterate (top) and error map (bottom).
    """

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = NativeGraphicsLayout()
        self.graphics.setAcceptDrops(False)  # files dropped here go to the main window
        self.graphics.viewport().setAcceptDrops(False)
        self.graphics.setBackground(theme.current().background)
        self.readout = QLabel("hover a pane to read pixel values")
        self.readout.setObjectName("pane_readout")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)
        self.plots: dict[str, pg.PlotItem] = {}
        self.items: dict[str, pg.ImageItem] = {}
        self.titles: dict[str, PaneTitle] = {}
        self.views = SyncedImageViews()
        self.lane_infos: list[LanePaneInfo] = []
        self.error_bar: pg.ColorBarItem | None = None
        self.error_levels: tuple[float, float] | None = None
        self._user_levels = False  # the user dragged the colour bar: levels stay
        self._error_highs: dict[int, float] = {}
        self.layout_shape: tuple[bool, int] | None = None  # (stacked, pair columns) shown
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_lanes([])

    # structure --------------------------------------------------------------------------
    def _add_pane(self, key: str, lines) -> pg.ImageItem:
        plot = pg.PlotItem()
        plot.setMinimumSize(24, 24)  # many lanes shrink their panes instead of clipping the grid
        plot.setPreferredSize(24, 24)  # columns share the space equally, whatever the title widths
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMenuEnabled(False)
        item = NativeImage(axisOrder="row-major")
        plot.addItem(item)
        self.views.add(plot.getViewBox())
        self.plots[key] = plot
        self.items[key] = item
        self.titles[key] = PaneTitle(plot, lines)
        return item

    def pairs(self) -> list[tuple[str, str]]:
        """(top, bottom) pane keys of every pair, in layout order."""
        return [("ground_truth", "observation")] + [(f"iterate{i}", f"error{i}") for i in range(len(self.lane_infos))]

    def set_lanes(self, infos: list[LanePaneInfo]) -> None:
        """Rebuild the grid for these lanes (call only when lanes are added/removed/renamed)."""
        self.graphics.clear()
        self.plots.clear()
        self.items.clear()
        self.titles.clear()
        self.views.clear()
        self._error_highs.clear()
        self.lane_infos = list(infos)
        self._add_pane("ground_truth", [("ground truth", None)])
        self._add_pane("observation", [("observation", None)])
        error_items = []
        for i, info in enumerate(self.lane_infos):
            self._add_pane(f"iterate{i}", lane_title_lines(info, "iterate"))
            error_items.append(self._add_pane(f"error{i}", lane_title_lines(info, "|x − x_gt|")))
        for item in error_items:
            item.setColorMap(pg.colormap.get(ERROR_COLORMAP))
        self.error_bar = None
        if error_items:
            levels = self.error_levels or (0.0, 0.2)
            self.error_bar = NativeColorBar(
                values=levels, colorMap=ERROR_COLORMAP, interactive=True, width=12, label="|x − x_gt|"
            )
            self.error_bar.setImageItem(error_items)
            self.error_bar.sigLevelsChangeFinished.connect(self._on_user_levels)
        self.layout_shape = None
        self._arrange()

    def _arrange(self) -> None:
        """Place the pairs in the pair-column count that draws the images largest."""
        size = self.graphics.size()
        bar = BAR_WIDTH if self.error_bar is not None else 0
        layout = best_layout(len(self.pairs()), size.width() - bar, size.height(), self.views.shape)
        if layout == self.layout_shape:
            return
        self.layout_shape = layout
        stacked, columns = layout
        grid = self.graphics.ci
        for item in [*self.plots.values(), self.error_bar]:
            if item is not None and item in grid.items:
                grid.removeItem(item)
        for p, (top, bottom) in enumerate(self.pairs()):
            band, col = divmod(p, columns)
            if stacked:
                grid.addItem(self.plots[top], row=2 * band, col=col)
                grid.addItem(self.plots[bottom], row=2 * band + 1, col=col)
            else:
                grid.addItem(self.plots[top], row=band, col=2 * col)
                grid.addItem(self.plots[bottom], row=band, col=2 * col + 1)
        grid_rows = math.ceil(len(self.pairs()) / columns) * (2 if stacked else 1)
        grid_cols = columns if stacked else 2 * columns
        if self.error_bar is not None:
            grid.addItem(self.error_bar, row=0, col=grid_cols, rowspan=grid_rows)
        use_grid(grid.layout, grid_rows, grid_cols)
        if self.error_bar is not None:  # the colour bar's column: its own width, no stretch
            grid.layout.setColumnMaximumWidth(grid_cols, 1 << 24)
            grid.layout.setColumnSpacing(grid_cols, grid.layout.horizontalSpacing())
        refill_view(self.graphics)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    # content ----------------------------------------------------------------------------
    def set_reference(self, ground_truth: np.ndarray | None, observation: np.ndarray | None) -> None:
        """Show ground truth and observation (display images in [0, 1])."""
        for key, image in (("ground_truth", ground_truth), ("observation", observation)):
            if image is not None:
                self.items[key].setImage(display_array(image), autoLevels=False, levels=(0.0, 1.0))
            else:
                self.items[key].clear()
        shown = ground_truth if ground_truth is not None else observation
        if shown is not None:
            rows, cols = shown.shape[:2]
            for key, what in (("ground_truth", "ground truth"), ("observation", "observation")):
                self.titles[key].set_lines([(what, None), (f"{cols}×{rows}", None)])
        self.views.set_shape(None if shown is None else shown.shape)
        self.layout_shape = None
        self._arrange()

    def fit_view(self) -> None:
        """Zoom every (synced) pane to the whole image."""
        self.views.fit()

    def set_lane_image(
        self, index: int, image: np.ndarray | None, error_map: np.ndarray | None, info: LanePaneInfo
    ) -> None:
        """Show lane ``index``'s iterate and error map and refresh its titles."""
        self.lane_infos[index] = info
        iterate_item = self.items[f"iterate{index}"]
        error_item = self.items[f"error{index}"]
        if image is not None:
            iterate_item.setImage(display_array(image), autoLevels=False, levels=(0.0, 1.0))
        if error_map is not None:
            error = display_array(scalar_map(np.abs(error_map)))
            finite = error[np.isfinite(error)]
            self._error_highs[index] = float(np.percentile(finite, ERROR_PERCENTILE)) if finite.size else 0.0
            if not self._user_levels:
                self.fix_error_levels(max(self._error_highs.values()) or 1e-3)
            error_item.setImage(error, autoLevels=False, levels=self.error_bar.levels())
        self.titles[f"iterate{index}"].set_lines(lane_title_lines(info, "iterate"))
        self.titles[f"error{index}"].set_lines(lane_title_lines(info, "|x − x_gt|"))

    def fix_error_levels(self, high: float) -> None:
        """Set the shared error-map levels to (0, high)."""
        self.error_levels = (0.0, max(high, 1e-6))
        if self.error_bar is not None and tuple(self.error_bar.levels()) != self.error_levels:
            self.error_bar.setLevels(self.error_levels)

    def _on_user_levels(self, _bar=None) -> None:
        self._user_levels = True
        self.error_levels = tuple(self.error_bar.levels())

    def reset_levels(self) -> None:
        """Forget the error-map levels and the user's choice (a new problem)."""
        self.error_levels = None
        self._user_levels = False
        self._error_highs.clear()

    def image_of(self, key: str) -> np.ndarray | None:
        """The array shown in pane ``key`` (e.g. ``"iterate0"``, ``"observation"``)."""
        return self.items[key].image

    def title_text(self, key: str) -> str:
        """Full (unelided) title of pane ``key``."""
        return self.titles[key].text()

    def image_rect_on_screen(self, key: str):
        """The image's rectangle in pane ``key`` in the panes' widget pixels (QRectF or None)."""
        return self.views.on_screen_rect(self.plots[key].getViewBox())

    # hover ------------------------------------------------------------------------------
    def _on_mouse_moved(self, scene_pos) -> None:
        for key, plot in self.plots.items():
            view = plot.getViewBox()
            if not view.sceneBoundingRect().contains(scene_pos):
                continue
            image = self.items[key].image
            if image is None:
                return
            point = view.mapSceneToView(scene_pos)
            col, row = int(np.floor(point.x())), int(np.floor(point.y()))
            if 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
                value = image[row, col]
                text = ", ".join(f"{v:.4f}" for v in value) if np.ndim(value) else f"{float(value):.4f}"
                message = f"{key}: x={col}, y={row}  value={text}"
                self.readout.setText(message)
                self.hovered.emit(message)
            return
