"""A plot axis that Qt paints without Python (see :mod:`workbench.native_paint` for why).

pyqtgraph's ``AxisItem`` paints in Python: every repaint of its region (with the grid on, the
whole plot) replays a ``QPicture`` of its ticks and labels inside a Python call, under the GIL.
:class:`NativeAxis` keeps pyqtgraph's tick layout (``generateDrawSpecs``: the same ticks, labels
and grid lines) but shows it with native child items, one ``QGraphicsPathItem`` per pen and one
``QGraphicsSimpleTextItem`` per label, rebuilt only when pyqtgraph invalidates its picture (a
range, size or style change); the axis itself has no contents, so Qt never calls its ``paint``.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPicture
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsSimpleTextItem


def text_origin(rect: QRectF, flags: int, metrics: QFontMetricsF, text: str) -> QPointF:
    """Top-left corner of ``text`` drawn in ``rect`` with the alignment ``flags`` (one line), as
    ``QPainter.drawText(rect, flags, text)`` places it."""
    width, height = metrics.horizontalAdvance(text), metrics.height()
    if flags & Qt.AlignmentFlag.AlignRight:
        x = rect.right() - width
    elif flags & Qt.AlignmentFlag.AlignHCenter:
        x = rect.center().x() - width / 2
    else:
        x = rect.left()
    if flags & Qt.AlignmentFlag.AlignBottom:
        y = rect.bottom() - height
    elif flags & Qt.AlignmentFlag.AlignVCenter:
        y = rect.center().y() - height / 2
    else:
        y = rect.top()
    return QPointF(x, y)


class NativeAxis(pg.AxisItem):
    """An ``AxisItem`` drawn by native child items; see the module docstring."""

    def __init__(self, orientation: str, **kwargs):
        self._built = False
        self._pending = False
        super().__init__(orientation, **kwargs)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.lines: list[QGraphicsPathItem] = []
        self.labels: list[QGraphicsSimpleTextItem] = []
        self._scene = None

    # pyqtgraph sets ``picture = None`` whenever the ticks must be laid out again
    @property
    def picture(self):
        return self.__dict__.get("_picture")

    @picture.setter
    def picture(self, value) -> None:
        self.__dict__["_picture"] = value
        if value is None and not self._pending and hasattr(self, "labels"):
            self._pending = True  # a change with no repaint after it (Qt skips no-content items)
            QTimer.singleShot(0, self, self.rebuild)  # dropped if the axis is deleted first

    def setRange(self, mn, mx):  # noqa: N802 (pyqtgraph's name)
        """As pyqtgraph's, but an unchanged range keeps the layout (pyqtgraph lays the ticks out
        again at every call, and its view calls it on every resize and auto-range)."""
        if self.picture is not None and list(self.range) == [mn, mx]:
            return
        super().setRange(mn, mx)

    def itemChange(self, change, value):  # noqa: N802 (Qt's name)
        result = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged:
            if self._scene is not None:
                self._scene.sigPrepareForPaint.disconnect(self.rebuild)
            self._scene = self.scene()
            if self._scene is not None:
                self._scene.sigPrepareForPaint.connect(self.rebuild)
        return result

    def rebuild(self) -> None:
        """Lay the ticks out again if pyqtgraph invalidated them (before a paint, or soon after
        the change when no paint follows)."""
        self._pending = False
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
        self.__dict__["_picture"] = picture  # laid out (an empty picture: the children draw)
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
            self.lines.append(QGraphicsPathItem(self))
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
        """The tick labels shown (after a rebuild)."""
        return [item.text() for item in self.labels if item.isVisible()]


def native_axes() -> dict[str, NativeAxis]:
    """The left and bottom axes of a ``PlotItem`` (``pg.PlotItem(axisItems=native_axes())``; the
    axes given are shown, the others are pyqtgraph's, hidden)."""
    return {side: NativeAxis(side) for side in ("left", "bottom")}
