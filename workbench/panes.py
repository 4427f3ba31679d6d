"""Image panes: ground truth, observation and, per lane, the iterate and its error map.

Plain pyqtgraph ``ImageItem`` s (row-major float32, explicit levels) in linked view boxes, so
zoom and pan are synced; the error maps share one colour bar (magma, levels fixed unless the
user drags the bar). Hovering any pane shows the pixel coordinates and value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ERROR_COLORMAP = "magma"


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


@dataclass
class LanePaneInfo:
    """What a lane's panes show in their titles."""

    label: str
    color: str
    status: str = "ready"
    k: int = 0
    psnr: float | None = None
    ssim: float | None = None
    kept_k: int | None = None  # iterate shown instead of iteration k (not kept); None: k's own


def lane_title(info: LanePaneInfo, what: str) -> str:
    """HTML title of a lane pane: colour swatch, label, iteration (and the kept iteration shown
    when iteration k is not kept), PSNR/SSIM of the shown iterate, divergence."""
    details = f"k={info.k}"
    if info.kept_k is not None:
        details += f" (nearest kept: {info.kept_k})"
    if what == "iterate":
        if info.psnr is not None and np.isfinite(info.psnr):
            details += f" · {info.psnr:.2f} dB"
        if info.ssim is not None and np.isfinite(info.ssim):
            details += f" · SSIM {info.ssim:.3f}"
    else:
        details = what if info.kept_k is None else f"{what} (k={info.kept_k})"
    if info.status.startswith(("diverged", "error")):
        details += f" <span style='color:#ff5050'>⚠ {info.status}</span>"
    # two lines, so that titles stay narrower than their pane even with many lanes
    return f"<span style='color:{info.color}'>■ {info.label}</span><br>{details}"


def set_title(plot: pg.PlotItem, html: str, size: str = "9pt") -> None:
    """Set a plot title that never widens its layout column (long titles may overflow)."""
    plot.setTitle(html, size=size)
    plot.titleLabel.setMinimumWidth(0)
    plot.titleLabel.setToolTip(html)


class ImagePanes(QWidget):
    """Grid of synced image panes with a hover read-out.

    Column 0 holds the ground truth (top) and the observation (bottom); column ``i + 1`` holds
    lane ``i``'s iterate (top) and error map (bottom).
    """

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setAcceptDrops(False)  # files dropped here go to the main window
        self.graphics.viewport().setAcceptDrops(False)
        self.graphics.setBackground("#1e1e1e")
        self.readout = QLabel("hover a pane to read pixel values")
        self.readout.setObjectName("pane_readout")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)
        self.plots: dict[str, pg.PlotItem] = {}
        self.items: dict[str, pg.ImageItem] = {}
        self.lane_infos: list[LanePaneInfo] = []
        self.error_bar: pg.ColorBarItem | None = None
        self.error_levels: tuple[float, float] | None = None
        self._master: pg.ViewBox | None = None
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_lanes([])

    # structure --------------------------------------------------------------------------
    def _add_pane(self, key: str, row: int, col: int, title: str) -> pg.ImageItem:
        plot = self.graphics.addPlot(row=row, col=col)
        plot.setMinimumSize(24, 24)  # many lanes shrink their panes instead of clipping the grid
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        set_title(plot, title)
        plot.setMenuEnabled(False)
        view = plot.getViewBox()
        view.setAspectLocked(True)
        view.invertY(True)
        item = pg.ImageItem(axisOrder="row-major")
        plot.addItem(item)
        if self._master is None:
            self._master = view
        else:
            view.setXLink(self._master)
            view.setYLink(self._master)
        self.plots[key] = plot
        self.items[key] = item
        return item

    def set_lanes(self, infos: list[LanePaneInfo]) -> None:
        """Rebuild the grid for these lanes (call only when lanes are added/removed/renamed)."""
        self.graphics.clear()
        self.plots.clear()
        self.items.clear()
        self._master = None
        self.lane_infos = list(infos)
        self._add_pane("ground_truth", 0, 0, "ground truth")
        self._add_pane("observation", 1, 0, "observation")
        error_items = []
        for i, info in enumerate(self.lane_infos):
            self._add_pane(f"iterate{i}", 0, i + 1, lane_title(info, "iterate"))
            error_items.append(self._add_pane(f"error{i}", 1, i + 1, lane_title(info, "|x − x_gt|")))
        for item in error_items:
            item.setColorMap(pg.colormap.get(ERROR_COLORMAP))
        self.error_bar = None
        if error_items:
            levels = self.error_levels or (0.0, 0.2)
            self.error_bar = pg.ColorBarItem(
                values=levels, colorMap=ERROR_COLORMAP, interactive=True, width=12, label="|x − x_gt|"
            )
            self.error_bar.setImageItem(error_items)
            self.graphics.addItem(self.error_bar, row=1, col=len(self.lane_infos) + 1)

    # content ----------------------------------------------------------------------------
    def set_reference(self, ground_truth: np.ndarray | None, observation: np.ndarray | None) -> None:
        """Show ground truth and observation (display images in [0, 1])."""
        for key, image in (("ground_truth", ground_truth), ("observation", observation)):
            if image is not None:
                self.items[key].setImage(display_array(image), autoLevels=False, levels=(0.0, 1.0))
            else:
                self.items[key].clear()
        self.fit_view()

    def fit_view(self) -> None:
        """Zoom every (linked) pane to the whole image."""
        image = self.items["ground_truth"].image
        if image is None:
            image = self.items["observation"].image
        if image is not None and self._master is not None:
            self._master.setRange(xRange=(0, image.shape[1]), yRange=(0, image.shape[0]), padding=0.02)

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
            if self.error_levels is None:
                self.fix_error_levels(float(np.percentile(error, 99.5)) or 1e-3)
            error_item.setImage(error, autoLevels=False, levels=self.error_bar.levels())
        set_title(self.plots[f"iterate{index}"], lane_title(info, "iterate"))
        set_title(self.plots[f"error{index}"], lane_title(info, "|x − x_gt|"))

    def fix_error_levels(self, high: float) -> None:
        """Fix the shared error-map levels to (0, high) until the problem changes."""
        self.error_levels = (0.0, max(high, 1e-6))
        if self.error_bar is not None:
            self.error_bar.setLevels(self.error_levels)

    def reset_levels(self) -> None:
        """Forget the error-map levels (the next error map fixes them again)."""
        self.error_levels = None

    def image_of(self, key: str) -> np.ndarray | None:
        """The array shown in pane ``key`` (e.g. ``"iterate0"``, ``"observation"``)."""
        return self.items[key].image

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
