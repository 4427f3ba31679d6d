"""Painting that runs without the GIL: a graphics view and a curve item with no Python paint.

PySide6 keeps the GIL for the whole of every C++ call made from Python, Qt's painting included,
so while the window paints in Python the solver thread cannot run (``bench/gil_paint.py``). Qt's
event loop runs with the GIL released, and a virtual method that Python does not override is
called without taking it. pyqtgraph overrides two on the paint path: ``GraphicsView.paintEvent``
(to emit the scene's ``prepareForPaint`` first, so the whole scene paints inside a Python call)
and ``PlotCurveItem.paint``. Here:

* :class:`NativeGraphicsLayout` is a ``GraphicsLayoutWidget`` whose ``paintEvent`` is Qt's own;
  ``prepareForPaint`` comes from an event filter on the viewport, before each paint event;
* :class:`FastCurve` is a native ``QGraphicsPathItem``: the path is built once per new data
  (vectorised, ``pyqtgraph.arrayToQPath``) and Qt paints it without Python. Long histories are
  decimated to the minimum and maximum of the points of each pixel column of the plot (what
  pyqtgraph's "peak" downsampling shows), so a paint costs O(plot width), not O(history). It offers what the curves
  view and pyqtgraph's ``ViewBox`` and ``LegendItem`` use of a ``PlotDataItem``: ``setData``,
  ``getData`` (the full data, not the decimated path), ``dataBounds``, ``pixelPadding``, ``opts``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsView

#: at most this many bins (a bin: the min and max of a run of points; about one per pixel column)
BINS = 2048
#: at least this many bins, whatever the plot's width
MIN_BINS = 128


def peak_decimate(x: np.ndarray, y: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` reduced to the minimum and maximum of ``y`` in each of ``bins`` equal runs of
    points (NaNs ignored; a run of NaNs stays NaN, so a gap stays a gap); unchanged when short."""
    n = len(x)
    if n <= 2 * bins:
        return x, y
    starts = (np.arange(bins) * n) // bins
    with np.errstate(invalid="ignore"):
        low = np.fmin.reduceat(y, starts)
        high = np.fmax.reduceat(y, starts)
    xs = np.repeat(x[starts], 2)
    ys = np.empty(2 * bins)
    ys[0::2], ys[1::2] = low, high
    return xs, ys


class FastCurve(QGraphicsPathItem):
    """One lane's curve in one plot (add it with ``PlotItem.addItem``)."""

    def __init__(self, pen=None, name: str | None = None):
        super().__init__()
        self.opts = {"pen": pg.mkPen(pen), "brush": None, "fillLevel": None, "symbol": None, "name": name}
        self.setPen(self.opts["pen"])
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._bounds: list | None = [None, None]

    def name(self) -> str | None:
        return self.opts["name"]

    def setData(self, x, y) -> None:  # noqa: N802 (pyqtgraph's name)
        """Show ``y`` against ``x`` (held as given: views stay views); NaNs break the line."""
        self._x = np.asarray(x, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float64)
        self._bounds = None
        view = self.getViewBox()
        if len(self._x):
            # two points (min, max) per pixel column of the plot, as pyqtgraph's "peak" mode
            bins = BINS if view is None else int(min(BINS, max(MIN_BINS, view.width())))
            xs, ys = peak_decimate(self._x, self._y, bins)
            path = pg.arrayToQPath(xs, ys, connect="finite")
        else:
            path = QPainterPath()
        self.setPath(path)
        if view is not None:
            view.itemBoundsChanged(self)

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
        return self._x, self._y

    def getViewBox(self):  # noqa: N802
        item = self.parentItem()
        while item is not None and not isinstance(item, pg.ViewBox):
            item = item.parentItem()
        return item

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802
        """(min, max) of the finite points along axis ``ax`` (None without any)."""
        if self._bounds is None:
            finite = np.isfinite(self._x) & np.isfinite(self._y)
            self._bounds = [
                (float(values[finite].min()), float(values[finite].max())) if finite.any() else None
                for values in (self._x, self._y)
            ]
        return self._bounds[ax]

    def pixelPadding(self) -> float:  # noqa: N802
        return self.opts["pen"].widthF() / 2


class _PrepareForPaint(QObject):
    """Emits the scene's ``prepareForPaint`` before each paint event of a view's viewport."""

    def __init__(self, view: pg.GraphicsView):
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            self.view.scene().prepareForPaint()
        return False


class NativeGraphicsLayout(pg.GraphicsLayoutWidget):
    """A ``GraphicsLayoutWidget`` whose scene Qt paints without holding the GIL (items that
    paint in Python take it for their own ``paint`` only)."""

    paintEvent = QGraphicsView.paintEvent  # noqa: N815 (Qt's name): not overridden in Python

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare = _PrepareForPaint(self)
        self.viewport().installEventFilter(self._prepare)
