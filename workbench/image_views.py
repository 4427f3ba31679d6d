"""Aspect-locked image views that fit their image and stay synced (image panes, diagnostics).

Every view shows the whole image as large as its space allows (aspect ratio kept, no padding)
and refits whenever its size changes: a window resize, a moved splitter, lanes added or
removed. A user's zoom is kept only while the user is zoomed in (the image no longer fits);
zooming back out returns every view to the fit. Zoom and pan of one view are copied to the
others (same image rectangle, each view keeping its own aspect ratio), without pyqtgraph's
range links, whose aspect-locked feedback made linked panes shrink over a session.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer

#: a view whose target is smaller than this share of the image (either side) is "zoomed in"
ZOOMED_IN = 0.99


class SyncedImageViews:
    """Fit-and-sync behaviour of a group of ``pg.ViewBox`` es showing images of one shape."""

    def __init__(self):
        self.views: list[pg.ViewBox] = []
        self.shape: tuple[int, int] | None = None  # (rows, cols) of the images shown
        self.zoomed = False
        self._syncing = False

    def add(self, view: pg.ViewBox) -> None:
        """Manage ``view`` (aspect locked, y down, fitted to the current shape)."""
        view.setAspectLocked(True)
        view.invertY(True)
        view.setDefaultPadding(0.0)
        view.sigRangeChanged.connect(lambda *_: self._on_range_changed(view))
        self.views.append(view)
        if self.shape is not None:
            self._set_rect(view, self.zoomed_rect() or self.image_rect())

    def clear(self) -> None:
        """Forget every view (their layout was cleared); the shape and zoom are kept."""
        self.views = []

    def image_rect(self) -> QRectF:
        rows, cols = self.shape
        return QRectF(0.0, 0.0, float(cols), float(rows))

    def zoomed_rect(self) -> QRectF | None:
        """The shared zoom rectangle while zoomed in, else None."""
        if not self.zoomed or not self.views:
            return None
        return self.views[0].targetRect()

    def set_shape(self, shape: tuple[int, ...] | None) -> None:
        """The (rows, cols, ...) of the images shown; a new shape refits every view."""
        shape = None if shape is None else (int(shape[0]), int(shape[1]))
        if shape != self.shape:
            self.shape = shape
            self.fit()

    def fit(self) -> None:
        """Every view to the whole image (forgets the user's zoom)."""
        self.zoomed = False
        if self.shape is not None:
            for view in self.views:
                self._set_rect(view, self.image_rect())

    def _set_rect(self, view: pg.ViewBox, rect: QRectF) -> None:
        self._syncing = True
        try:
            view.setRange(rect=rect, padding=0.0)
        finally:
            self._syncing = False

    def _on_range_changed(self, source: pg.ViewBox) -> None:
        if self._syncing or self.shape is None:
            return
        target = source.targetRect()
        rows, cols = self.shape
        self.zoomed = target.width() < ZOOMED_IN * cols or target.height() < ZOOMED_IN * rows
        if not self.zoomed:
            self.fit()
            return
        for view in self.views:
            if view is not source:
                self._set_rect(view, target)

    def on_screen_rect(self, view: pg.ViewBox) -> QRectF | None:
        """The image's rectangle in the view's scene (= widget pixels), None without a shape."""
        if self.shape is None:
            return None
        return view.mapViewToScene(self.image_rect()).boundingRect()


def use_grid(layout, rows: int, columns: int, first_row: int = 0) -> None:
    """Give rows ``first_row..rows-1`` and columns ``0..columns-1`` of a QGraphicsGridLayout
    equal stretch, and collapse the rows and columns beyond them (left over from a larger grid
    of an earlier arrangement, which would otherwise keep their spacing)."""
    big = 1 << 24
    for row in range(max(layout.rowCount(), rows)):
        used = row < rows
        layout.setRowStretchFactor(row, 1 if first_row <= row < rows else 0)
        layout.setRowMaximumHeight(row, big if used else 0)
        layout.setRowSpacing(row, layout.verticalSpacing() if used else 0)
    for col in range(max(layout.columnCount(), columns)):
        used = col < columns
        layout.setColumnStretchFactor(col, 1 if used else 0)
        layout.setColumnMaximumWidth(col, big if used else 0)
        layout.setColumnSpacing(col, layout.horizontalSpacing() if used else 0)


def refill_view(graphics: pg.GraphicsLayoutWidget) -> None:
    """After the next event-loop turn, make the layout fill its view again: re-arranging items
    during a resize can leave the central layout at the size of an earlier frame."""

    def refill() -> None:
        try:
            graphics.ci.setGeometry(graphics.range)
        except RuntimeError:  # the widget was deleted meanwhile
            pass

    QTimer.singleShot(0, refill)
