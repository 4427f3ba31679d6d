"""What the curves view draws besides the curves: the legend row outside the data, each lane's
best-PSNR marker, an auto-range that a diverging lane cannot blow up, and the plot grid that
reflows to the space (so no column is clipped on a small screen).

Kept apart from :mod:`workbench.curves`, whose data-update path stays the one place that feeds
the curves; :meth:`CurveOverlays.update` reads the same snapshot after it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy

from . import theme
from .image_views import refill_view, use_grid
from .lane_view import best_iteration
from .native_paint import NativeMarkers

#: plot cells narrower than this (pixels) make the grid use fewer columns
MIN_PLOT_WIDTH = 300
#: plot cells lower than this (pixels) make the grid use more columns (fewer rows)
MIN_PLOT_HEIGHT = 120
LEGEND_ENTRY_WIDTH = 150  # pixels a lane's legend entry may take
LEGEND_MARKERS_WIDTH = 300  # pixels of the marker legend (best PSNR, accepted, fallback)
BEST_MARKER = dict(symbol="star", size=13)
#: share of an auto-ranged span left free on each side of the data
AUTO_PADDING = 0.04


def is_wild(status: str) -> bool:
    """A lane whose values must not set the axes of the others: diverging, diverged or failed."""
    return status.startswith(("diverged", "error")) or "diverging" in status


class RobustViewBox(pg.ViewBox):
    """A ViewBox whose auto-range ignores the items in ``excluded`` (a diverging lane's curves),
    so that the other lanes keep readable axes; the excluded curves are still drawn."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.excluded: list = []
        self._held: list = [None, None]  # the bounds last given per axis (see held_bounds)

    def suggestPadding(self, axis):  # noqa: N802 (pyqtgraph's name)
        """A fixed share of the range (pyqtgraph's depends on the view's pixel size, so every
        change of a tick label's width moved both ranges and laid out both axes again)."""
        return AUTO_PADDING if self.state["defaultPadding"] else 0.0

    def set_excluded(self, items: list) -> None:
        if items != self.excluded:
            self.excluded = list(items)
            self.updateAutoRange()

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):
        if items is None and self.excluded:
            items = [item for item in self.addedItems if all(item is not ex for ex in self.excluded)]
        bounds = super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)
        if frac is not None and any(f != 1.0 for f in frac):
            return bounds
        for axis, pair in enumerate(bounds):
            if pair is None:
                continue
            data = self._data_x_range(self.addedItems if items is None else items) if axis == 0 else None
            if data is not None and data[0] >= 0:  # iterations or solve time: grows from 0
                self._held[axis] = growing_bounds(data, self._held[axis])
            else:
                self._held[axis] = held_bounds(pair, self._held[axis])
            bounds[axis] = list(self._held[axis])  # a copy: pyqtgraph pads it in place
        return bounds

    @staticmethod
    def _data_x_range(items) -> tuple[float, float] | None:
        """(smallest, largest) x of the items' data, without pyqtgraph's pixel padding."""
        pairs = []
        for item in items:
            if item.isVisible() and hasattr(item, "dataBounds"):
                pair = item.dataBounds(0)
                if pair is not None and all(v is not None and np.isfinite(v) for v in pair):
                    pairs.append((float(pair[0]), float(pair[1])))
        return (min(p[0] for p in pairs), max(p[1] for p in pairs)) if pairs else None


#: bounds within this share of the span of a step count as on it (pixel padding of the pens)
SLACK = 0.01
#: when data leave the held bounds, the new bounds leave this share of the span on that side
HEADROOM = 0.25


def held_bounds(data: tuple[float, float], held: tuple[float, float] | None) -> tuple[float, float]:
    """The auto-range bounds for ``data``: the ``held`` ones while the data fill at least half of
    them, else :func:`stepped_bounds` of the data with :data:`HEADROOM` on the side they left."""
    low, high = data
    if held is None:
        return stepped_bounds(low, high)
    span = held[1] - held[0]
    slack = SLACK * span  # pyqtgraph widens the data bounds by the pens' pixel width
    if held[0] - slack <= low and high <= held[1] + slack and (high - low) >= 0.5 * span:
        return held
    headroom = HEADROOM * (high - low)  # growing data (the iteration axis, above all) get room
    return stepped_bounds(low - headroom * (low < held[0]), high + headroom * (high > held[1]))


def growing_bounds(data: tuple[float, float], held: tuple[float, float] | None) -> tuple[float, float]:
    """The x bounds of data that only grow from 0 (iterations, solve time): ``[0, e]`` with ``e``
    the first of 1, 2, 5 × 10ⁿ at or above the data's end (``data[1]``, without pixel padding);
    held while the data fill at least a third of them.

    An x axis that grew by a quarter at a time regenerated every bottom axis about ten times per
    decade of iterations (and the tick labels are most of what repainting an axis costs); here it
    changes three times per decade.
    """
    high = data[1]
    if held is not None and held[0] == 0 and held[1] / 3 <= high <= held[1]:
        return held
    if not np.isfinite(high) or high <= 0:
        return held_bounds(data, held)
    power = 10.0 ** np.floor(np.log10(high))
    end = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= high * (1 - 1e-12))
    return 0.0, float(end)


#: the auto-range grows in steps of about 1/RANGE_STEPS of the data's span
RANGE_STEPS = 8


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ ``value`` (> 0)."""
    power = 10.0 ** np.floor(np.log10(value))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value * (1 - 1e-12))


def stepped_bounds(low: float, high: float) -> tuple[float, float]:
    """``[low, high]`` widened outwards to multiples of a nice step (about 1/8 of the span).

    An auto-range that followed every new point would change the axes at every refresh, and
    regenerating the tick labels of every axis is most of what a repaint of the curves costs;
    with stepped bounds the axes change only when the data crosses a step.
    """
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        return low, high
    slack = SLACK * (high - low)
    step = nice_step((high - low) / RANGE_STEPS)
    return float(np.floor((low + slack) / step) * step), float(np.ceil((high - slack) / step) * step)


def grid_columns(count: int, width: float, height: float) -> int:
    """Columns of the plot grid: as many as fit ``MIN_PLOT_WIDTH`` each (at most ``count``),
    more when the rows would be lower than ``MIN_PLOT_HEIGHT``."""
    columns = max(1, min(count, int(width // MIN_PLOT_WIDTH)))
    while columns < count and height / -(-count // columns) < MIN_PLOT_HEIGHT:
        columns += 1
    return -(-count // -(-count // columns))  # as few columns as give the same rows: no empty cells


class CurveOverlays:
    """Legend, best-PSNR markers, robust auto-range and grid reflow of a ``CurvesView``."""

    def __init__(self, view):
        self.view = view
        colours = theme.current()
        self.legend = pg.LegendItem(
            offset=None, labelTextSize="9pt", labelTextColor=colours.foreground, brush=colours.legend_brush()
        )
        self.marker_legend = pg.LegendItem(
            offset=None, labelTextSize="8pt", labelTextColor=colours.foreground, brush=colours.legend_brush()
        )
        for legend in (self.legend, self.marker_legend):
            legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            legend.layout.setContentsMargins(2, 0, 2, 0)
            legend.layout.setVerticalSpacing(0)
        self.best: dict[str, NativeMarkers] = {}
        for key, plot in view.plots.items():
            pen = pg.mkPen(colours.foreground, width=1)
            self.best[key] = NativeMarkers(plot, BEST_MARKER["symbol"], BEST_MARKER["size"], pen)
        self.marker_legend.addItem(
            pg.ScatterPlotItem(pen=pg.mkPen(colours.foreground), brush=colours.muted, **BEST_MARKER), "best PSNR"
        )
        self.marker_legend.setColumnCount(3)
        # the legends sit in their own row layout, so that their widths never widen a plot column
        self.legend_row = pg.GraphicsLayout()
        self.legend_row.addItem(self.legend, row=0, col=0)
        self.legend_row.addItem(self.marker_legend, row=0, col=1)
        self.legend_row.layout.setColumnStretchFactor(0, 1)
        self.legend_row.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.columns = 0
        self.lane_count = 0
        self._width = 1200.0

    def set_lanes(self, count: int) -> None:
        """Lay the legend out in as many columns as fit for ``count`` lanes."""
        self.lane_count = count
        self.legend.setColumnCount(
            max(1, min(count, 6, int((self._width - LEGEND_MARKERS_WIDTH) // LEGEND_ENTRY_WIDTH)))
        )

    def arrange(self, width: float, height: float) -> None:
        """Place the legend row and the plots in the grid that fits ``width`` × ``height``."""
        plots = list(self.view.plots.values())
        columns = grid_columns(len(plots), width, height)
        if abs(width - self._width) > 20:
            self._width = width
            self.set_lanes(self.lane_count)
        if columns == self.columns:
            return
        self.columns = columns
        grid = self.view.graphics.ci
        for item in [self.legend_row, *plots]:
            if item in grid.items:
                grid.removeItem(item)
        grid.addItem(self.legend_row, row=0, col=0, colspan=columns)
        for i, plot in enumerate(plots):
            grid.addItem(plot, row=1 + i // columns, col=i % columns)
        use_grid(grid.layout, 1 + -(-len(plots) // columns), columns, first_row=1)
        refill_view(self.view.graphics)
        self.show_axis_labels()

    def show_axis_labels(self) -> None:
        """The x-axis label only under the bottom row of plots (the others share it)."""
        plots = list(self.view.plots.values())
        columns = max(self.columns, 1)
        bottom_row = (len(plots) - 1) // columns
        for i, plot in enumerate(plots):
            at_bottom = i // columns == bottom_row or i + columns >= len(plots)
            plot.getAxis("bottom").showLabel(at_bottom)

    def clear(self) -> None:
        for markers in self.best.values():
            markers.set_spots([])
        for plot in self.view.plots.values():
            plot.getViewBox().set_excluded([])

    def update(self, snapshot) -> None:
        """Best-PSNR markers and the lanes left out of the auto-range, from ``snapshot``."""
        from .curves import METRIC_PLOTS, curve_values

        lanes = list(enumerate(snapshot.lanes))
        wild = {i for i, lane in lanes if is_wild(lane.status)}
        if len(wild) == len(lanes):
            wild = set()  # every lane diverges: show them all
        best = [(lane, best_iteration(lane)) for _, lane in lanes]
        for spec in METRIC_PLOTS:
            spots = []
            for lane, k in best:
                values = lane.metrics.get(spec.key)
                x = self.view._x_of(lane)
                if k is None or values is None or len(values) < k or len(x) < k:
                    continue
                y = curve_values(values[k - 1 : k], spec.log)[0]
                if np.isfinite(y):
                    spots.append((float(x[k - 1]), float(y), lane.color or "#888888"))
            self.best[spec.key].set_spots(spots)
            excluded = [item for (key, i), item in self.view.curves.items() if key == spec.key and i in wild]
            if spec.key == "opt_error":
                excluded += [self.view.bound_curves[i] for i in wild if i in self.view.bound_curves]
                excluded += [item for (i, _), item in self.view.markers.items() if i in wild]
            self.view.plots[spec.key].getViewBox().set_excluded(excluded)
