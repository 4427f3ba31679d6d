"""Plot axes and images whose drawing Qt does without Python (see :mod:`workbench.native_paint`).

pyqtgraph's ``AxisItem`` and ``ImageItem`` paint in Python: every repaint of their region (an
axis with the grid on covers the whole plot) replays a ``QPicture`` of the ticks and labels, or
scales the image, inside a Python call, under the GIL. Here each keeps pyqtgraph's own layout
and rendering but shows the result with native child items, and its own ``paint`` draws nothing
(an empty Python call):

* :class:`NativeAxis`: pyqtgraph's tick layout (``generateDrawSpecs``: the same ticks, labels
  and grid lines) as one ``QGraphicsPathItem`` per pen and one ``QGraphicsSimpleTextItem`` per
  label, laid out again only when pyqtgraph invalidates its picture (a new range, size, style);
* :class:`NativeImage`: pyqtgraph's rendered ``QImage`` (levels, lookup table, NaNs) as the
  pixmap of a ``QGraphicsPixmapItem``, rendered again only when the image, levels or lookup
  table change;
* :class:`NativeColorBar`: a ``ColorBarItem`` with native axes.

Each brings itself up to date before each paint of its scene (``sigPrepareForPaint``). The items
keep their contents flag: Qt does not repaint where the children of an item without contents
were, so a moved or hidden tick label would stay on screen (seen under X11, not offscreen).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPicture, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsSimpleTextItem


def text_origin(rect: QRectF, flags: int, metrics: QFontMetricsF, text: str) -> QPointF:
    """Top-left corner of ``text`` drawn in ``rect`` with the alignment ``flags`` (one line), as
    ``QPainter.drawText(rect, flags, text)`` places it."""
    align = Qt.AlignmentFlag
    x = _aligned(
        rect.left(), rect.right(), metrics.horizontalAdvance(text), flags, align.AlignRight, align.AlignHCenter
    )
    y = _aligned(rect.top(), rect.bottom(), metrics.height(), flags, align.AlignBottom, align.AlignVCenter)
    return QPointF(x, y)


def _aligned(low: float, high: float, size: float, flags: int, to_high, to_centre) -> float:
    """Where a text of ``size`` starts in [low, high] with the alignment ``flags``."""
    if flags & to_high:
        return high - size
    if flags & to_centre:
        return (low + high) / 2 - size / 2
    return low


#: Qt's pixmap cache (KiB) the application asks for: each plot's grid is kept as about three
#: plot-sized pixmaps, more than Qt's default 10 MiB holds for a dozen plots (they would be
#: stroked again at every repaint)
PIXMAP_CACHE_KB = 64 * 1024


def _cached(item: QGraphicsItem) -> QGraphicsItem:
    """``item`` kept as a pixmap between its changes: stroking the grid's semi-transparent lines
    at every repaint costs several milliseconds per plot, blitting them a fraction of that
    (within :data:`PIXMAP_CACHE_KB`)."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return item


class _UpToDateBeforePaint:
    """Calls :meth:`bring_up_to_date` before every paint of the item's scene; the item's own
    ``paint`` draws nothing (its native children do)."""

    _watched_scene = None

    def paint(self, painter, *args) -> None:
        return None

    def itemChange(self, change, value):  # noqa: N802 (Qt's name)
        result = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged:
            if self._watched_scene is not None:
                self._watched_scene.sigPrepareForPaint.disconnect(self.bring_up_to_date)
            self._watched_scene = self.scene()
            if self._watched_scene is not None:
                self._watched_scene.sigPrepareForPaint.connect(self.bring_up_to_date)
        return result

    def bring_up_to_date(self) -> None:
        raise NotImplementedError


class NativeAxis(_UpToDateBeforePaint, pg.AxisItem):
    """An ``AxisItem`` drawn by native child items; see the module docstring."""

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        self.lines: list[QGraphicsPathItem] = []
        self.labels: list[QGraphicsSimpleTextItem] = []

    def setRange(self, mn, mx):  # noqa: N802 (pyqtgraph's name)
        """As pyqtgraph's, but an unchanged range keeps the layout (pyqtgraph lays the ticks out
        again at every call, and its view calls it on every resize and auto-range)."""
        if self.picture is not None and list(self.range) == [mn, mx]:
            return
        super().setRange(mn, mx)

    def bring_up_to_date(self) -> None:
        """Lay the ticks out again if pyqtgraph invalidated them (``picture is None``)."""
        if self.picture is not None or not self.isVisible():
            return  # laid out, or hidden (a paint after it is shown lays it out)
        picture = QPicture()
        painter = QPainter(picture)  # pyqtgraph measures the labels with this painter's font
        try:
            if self.style["tickFont"]:
                painter.setFont(self.style["tickFont"])
            specs = self.generateDrawSpecs(painter)
            font = painter.font()
        finally:
            painter.end()
        self.picture = picture  # laid out (pyqtgraph sets None to ask again); the children draw
        self._show(specs, font)

    def _show(self, specs, font) -> None:
        if specs is None:
            specs = (None, [], [])
        axis, ticks, texts = specs
        paths: dict[tuple, tuple] = {}
        for pen, p1, p2 in ([axis] if axis is not None else []) + list(ticks):
            key = (pen.color().rgba(), pen.widthF(), int(pen.style().value), pen.isCosmetic())
            path = paths.setdefault(key, (pen, QPainterPath()))[1]
            path.moveTo(QPointF(p1[0], p1[1]))
            path.lineTo(QPointF(p2[0], p2[1]))
        while len(self.lines) < len(paths):
            self.lines.append(_cached(QGraphicsPathItem(self)))
        for item, (pen, path) in zip(self.lines, paths.values(), strict=False):
            item.setPen(pen)
            item.setPath(path)
            item.setVisible(True)
        for item in self.lines[len(paths) :]:
            item.setVisible(False)
        metrics = QFontMetricsF(font)
        brush = self.textPen().color()
        while len(self.labels) < len(texts):
            self.labels.append(QGraphicsSimpleTextItem(self))
        for item, (rect, flags, text) in zip(self.labels, texts, strict=False):
            if item.text() != text:
                item.setText(text)
            item.setFont(font)
            item.setBrush(brush)
            item.setPos(text_origin(rect, int(flags), metrics, text))
            item.setVisible(True)
        for item in self.labels[len(texts) :]:
            item.setVisible(False)

    def tick_labels(self) -> list[str]:
        """The tick labels shown."""
        return [item.text() for item in self.labels if item.isVisible()]


def native_axes() -> dict[str, NativeAxis]:
    """The left and bottom axes of a ``PlotItem`` (``pg.PlotItem(axisItems=native_axes())``; the
    axes given are shown, the others are pyqtgraph's, hidden)."""
    return {side: NativeAxis(side) for side in ("left", "bottom")}


class NativeImage(_UpToDateBeforePaint, pg.ImageItem):
    """An ``ImageItem`` shown by a native ``QGraphicsPixmapItem`` child; see the module docstring.
    (``paintMode`` and ``border`` are not drawn.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pixmap_item = QGraphicsPixmapItem(self)
        self._shown = None  # the QImage the pixmap was made from

    def bring_up_to_date(self) -> None:
        """Render the image again if pyqtgraph asked for it, and show it."""
        if self.image is None:
            self.pixmap_item.setVisible(False)
            self._shown = None
            return
        if self._renderRequired:
            self.render()
        if self._unrenderable or self.qimage is None:
            self.pixmap_item.setVisible(False)
            return
        if self.qimage is not self._shown:
            self._shown = self.qimage
            self.pixmap_item.setPixmap(QPixmap.fromImage(self.qimage))
            width, height = self.width(), self.height()  # the image's extent (the view's units)
            scale = QTransform.fromScale(width / self.qimage.width(), height / self.qimage.height())
            self.pixmap_item.setTransform(scale)  # the identity unless pyqtgraph downsampled
        self.pixmap_item.setVisible(True)


class NativeColorBar(pg.ColorBarItem):
    """A ``ColorBarItem`` whose frame and value axis are :class:`NativeAxis` items (its levels
    follow the error maps, so its axis is laid out again at most refreshes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        old = {side: self.getAxis(side) for side in ("left", "right", "top", "bottom")}
        main = self.axis
        new = {side: NativeAxis(side) for side in old}
        label = next((axis.labelText for axis in old.values() if axis.labelText), None)
        self.setAxisItems(new)
        for side, axis in new.items():
            self.showAxis(side)
            axis.setZValue(0.5)
            if old[side] is main:
                self.axis = axis
                if side in ("left", "right") and main.fixedWidth is not None:
                    axis.setWidth(main.fixedWidth)
            else:
                axis.setTicks([])
                axis.setStyle(showValues=False)
        self.axis.unlinkFromView()
        self.axis.setRange(*self.values)
        if label:
            self.getAxis("bottom" if self.horizontal else "left").setLabel(label)
