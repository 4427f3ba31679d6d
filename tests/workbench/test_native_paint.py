"""The curves Qt paints without Python (workbench/native_paint.py) and the x axis that grows in
1-2-5 steps (workbench/curve_overlays.py)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsView

from workbench.curve_overlays import RobustViewBox, growing_bounds
from workbench.native_paint import BINS, FastCurve, NativeGraphicsLayout, peak_decimate


def test_peak_decimation_keeps_each_bins_extremes():
    rng = np.random.default_rng(0)
    n = 10 * BINS + 7
    x = np.arange(1, n + 1, dtype=float)
    y = rng.standard_normal(n)
    y[100:5000] = np.nan  # a gap: whole bins of NaN stay NaN
    xs, ys = peak_decimate(x, y)
    assert len(xs) == len(ys) == 2 * BINS
    starts = (np.arange(BINS) * n) // BINS
    ends = np.append(starts[1:], n)
    for b in rng.choice(BINS, 50, replace=False):
        part = y[starts[b] : ends[b]]
        low, high = (np.nan, np.nan) if np.isnan(part).all() else (np.nanmin(part), np.nanmax(part))
        np.testing.assert_equal(ys[2 * b : 2 * b + 2], [low, high])
        assert xs[2 * b] == xs[2 * b + 1] == x[starts[b]]
    assert np.nanmax(ys) == np.nanmax(y) and np.nanmin(ys) == np.nanmin(y)
    short = np.arange(2 * BINS, dtype=float)
    assert peak_decimate(short, short)[1] is short  # short histories are drawn as they are


def test_nothing_on_the_paint_path_is_python():
    """Qt calls a virtual method without the GIL only when Python does not override it."""
    assert FastCurve.paint is QGraphicsPathItem.paint
    assert FastCurve.boundingRect is QGraphicsPathItem.boundingRect
    assert NativeGraphicsLayout.paintEvent is QGraphicsView.paintEvent


def test_fast_curve_in_a_plot_auto_ranges_on_paint_and_keeps_its_data(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    plot = widget.addPlot(viewBox=RobustViewBox())
    curve = FastCurve(pg.mkPen("r", width=2), name="lane")
    plot.addItem(curve)
    x = np.arange(1.0, 20001.0)
    y = np.where(x % 1000 < 10, np.nan, np.sin(x / 500) * 3 + 10)
    curve.setData(x, y)
    widget.grab()  # a paint: prepareForPaint comes from the viewport's event filter
    (x_low, x_high), (y_low, y_high) = plot.getViewBox().viewRange()
    assert x_low <= 1 and x_high >= 20000 and y_low <= np.nanmin(y) and y_high >= np.nanmax(y)
    assert x_high <= 20000 * 1.2  # the 1-2-5 step above the data, not more
    got_x, got_y = curve.getData()
    assert got_x is x or np.shares_memory(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert curve.dataBounds(1) == (np.nanmin(y), np.nanmax(y))
    assert curve.path().elementCount() <= 2 * BINS  # decimated: a paint costs the plot's width
    curve.setData([], [])
    assert curve.dataBounds(0) is None and curve.path().isEmpty()


def test_x_axis_grows_in_1_2_5_steps_and_starts_over_for_a_new_run():
    held, changes = None, []
    for k in range(1, 100001):
        bounds = growing_bounds((1.0, float(k)), held)
        assert bounds[0] == 0 and bounds[1] >= k
        if bounds != held:
            changes.append(bounds[1])
        held = bounds
    assert changes == [m * 10**p for p in range(5) for m in (1, 2, 5)] + [100000]
    assert growing_bounds((1.0, 30.0), (0.0, 100000.0)) == (0.0, 50.0)  # a restarted lane
    assert growing_bounds((0.0, 0.0), None) == pytest.approx((0.0, 0.0), abs=1.0)
