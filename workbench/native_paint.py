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
  decimated to the minimum and maximum of runs of points, about one run per pixel column of the
  plot (what pyqtgraph's "peak" downsampling shows), kept up to date as points are appended
  (:class:`PeakBins`): a refresh costs O(new points) and a paint O(plot width), not O(history).
  It offers what the curves view and pyqtgraph's ``ViewBox`` and ``LegendItem`` use of a
  ``PlotDataItem``: ``setData``, ``getData`` (the full data, not the decimated path),
  ``dataBounds``, ``pixelPadding``, ``opts``; :meth:`FastCurve.extend` appends.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import Symbols
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QPainterPath, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsView

#: at most this many runs of points (each drawn as its min and max; about one per pixel column)
BINS = 2048
#: at least this many runs, whatever the plot's width
MIN_BINS = 128


def _interleave(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys = np.empty(2 * len(x))
    ys[0::2], ys[1::2] = low, high
    return np.repeat(x, 2), ys


class PeakBins:
    """Peak decimation (each run of points drawn as its minimum and maximum; NaNs ignored, a run
    of NaNs stays NaN so a gap stays a gap), kept up to date as points are appended.

    Points are gathered in runs of ``size`` (a power of two); each complete run keeps its first x
    and its minimum and maximum. When there are more than ``target`` runs, neighbouring runs are
    merged in pairs and ``size`` doubles, so there are always between ``target / 2`` and
    ``target`` runs (amortised O(1) per point) and the curve drawn has at most ``2 · target`` +
    ``size`` points, whatever the length of the history.
    """

    def __init__(self, target: int):
        self.target = max(2, int(target))
        self.size = 1
        self.count = 0
        self.run_x = self.run_low = self.run_high = np.empty(0)
        self.tail_x = self.tail_y = np.empty(0)  # the points of the incomplete run

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        xs, ys = np.concatenate([self.tail_x, x]), np.concatenate([self.tail_y, y])
        whole = len(xs) // self.size * self.size
        if whole:
            blocks = ys[:whole].reshape(-1, self.size)
            with np.errstate(invalid="ignore"):
                low, high = np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)
            self.run_x = np.concatenate([self.run_x, xs[: whole : self.size]])
            self.run_low = np.concatenate([self.run_low, low])
            self.run_high = np.concatenate([self.run_high, high])
        self.tail_x, self.tail_y = xs[whole:], ys[whole:]
        self.count += len(x)
        while len(self.run_x) > self.target:
            self._merge()

    def _merge(self) -> None:
        pairs = len(self.run_x) // 2 * 2  # an odd last run stays as it is, at half the new size
        keep = slice(pairs, None)
        self.run_x = np.concatenate([self.run_x[:pairs:2], self.run_x[keep]])
        self.run_low = np.concatenate([np.fmin(self.run_low[:pairs:2], self.run_low[1:pairs:2]), self.run_low[keep]])
        self.run_high = np.concatenate(
            [np.fmax(self.run_high[:pairs:2], self.run_high[1:pairs:2]), self.run_high[keep]]
        )
        self.size *= 2

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw: one per point while runs are single points, else each run's
        (first x, min) and (first x, max), then the points of the incomplete run."""
        if self.size == 1:
            return self.run_x, self.run_low
        xs, ys = _interleave(self.run_x, self.run_low, self.run_high)
        return np.concatenate([xs, self.tail_x]), np.concatenate([ys, self.tail_y])


class FastCurve(QGraphicsPathItem):
    """One lane's curve in one plot (add it with ``PlotItem.addItem``)."""

    def __init__(self, pen=None, name: str | None = None):
        super().__init__()
        self.opts = {"pen": pg.mkPen(pen), "brush": None, "fillLevel": None, "symbol": None, "name": name}
        self.setPen(self.opts["pen"])
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._bins = PeakBins(BINS)
        self._bounds: list = [None, None]

    def name(self) -> str | None:
        return self.opts["name"]

    def setData(self, x, y) -> None:  # noqa: N802 (pyqtgraph's name)
        """Show ``y`` against ``x`` (held as given: views stay views); NaNs break the line."""
        self._bins = PeakBins(self._wanted_runs(self.getViewBox()))
        self._bounds = [None, None]
        self._x, self._y = np.empty(0), np.empty(0)
        self.extend(x, y, 0)

    def extend(self, x, y, start: int) -> None:
        """Show ``y`` against ``x`` of which the points before ``start`` are those shown already
        (the views of growing arrays): costs O(new points). Anything else is a :meth:`setData`."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        view = self.getViewBox()
        if start != self._bins.count or len(x) < start:
            self.setData(x, y)
            return
        if start and self._wanted_runs(view) > 1.5 * self._bins.target:
            self.setData(x, y)  # the plot grew wider: decimate the history again, once
            return
        self._x, self._y = x, y
        new_x, new_y = x[start:], y[start:]
        self._bins.append(new_x, new_y)
        finite = np.isfinite(new_x) & np.isfinite(new_y)
        if finite.any():
            for axis, values in enumerate((new_x[finite], new_y[finite])):
                low, high = float(values.min()), float(values.max())
                old = self._bounds[axis]
                self._bounds[axis] = (low, high) if old is None else (min(old[0], low), max(old[1], high))
        xs, ys = self._bins.points()
        self.setPath(pg.arrayToQPath(xs, ys, connect="finite") if len(xs) else QPainterPath())
        if view is not None:
            view.itemBoundsChanged(self)

    @staticmethod
    def _wanted_runs(view) -> int:
        """About one run (drawn as its min and max) per pixel column of ``view``, as pyqtgraph's
        "peak" downsampling, within [MIN_BINS, BINS]."""
        return BINS if view is None else int(min(BINS, max(MIN_BINS, view.width())))

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
        return self._x, self._y

    def getViewBox(self):  # noqa: N802
        item = self.parentItem()
        while item is not None and not isinstance(item, pg.ViewBox):
            item = item.parentItem()
        return item

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802
        """(min, max) of the finite points along axis ``ax`` (None without any)."""
        return self._bounds[ax]

    def pixelPadding(self) -> float:  # noqa: N802
        return self.opts["pen"].widthF() / 2


class NativeMarkers:
    """A few markers of one symbol in a plot (e.g. each lane's best iteration), as native path
    items drawn at a fixed size in pixels (``ItemIgnoresTransformations``): moving one is a
    ``setPos``, and Qt paints them without Python (a ``ScatterPlotItem`` re-renders its symbols
    in Python at every ``setData`` and paints in Python)."""

    def __init__(self, plot: pg.PlotItem, symbol: str = "star", size: float = 13, pen=None, z: float = 10):
        self.plot = plot
        self.path = QTransform.fromScale(size, size).map(Symbols[symbol])
        self.pen = pg.mkPen(pen)
        self.z = z
        self.items: list[QGraphicsPathItem] = []
        self._brushes: list = []
        self._spots: list = []  # what is shown

    def set_spots(self, spots: list[tuple[float, float, str]]) -> None:
        """Show one marker at each ``(x, y, colour)``; the others are hidden (nothing is touched
        when the spots are those shown: a lane's best iteration often stays put)."""
        if spots == self._spots:
            return
        self._spots = list(spots)
        while len(self.items) < len(spots):
            item = QGraphicsPathItem(self.path)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setPen(self.pen)
            item.setZValue(self.z)
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
            self._brushes.append(None)
        for index, item in enumerate(self.items):
            if index >= len(spots):
                item.setVisible(False)
                continue
            x, y, colour = spots[index]
            item.setPos(x, y)
            if self._brushes[index] != colour:
                item.setBrush(pg.mkBrush(colour))
                self._brushes[index] = colour
            item.setVisible(True)

    def points(self) -> list[QGraphicsPathItem]:
        """The markers shown (each item's ``pos()`` is its data position)."""
        return [item for item in self.items if item.isVisible()]


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
