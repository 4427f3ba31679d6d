"""The curves Qt paints without Python (workbench/native_paint.py) and the x axis that grows in
1-2-5 steps (workbench/curve_overlays.py)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from conftest import wait_idle
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsView
from test_gui_workflows import click

from workbench.curve_overlays import RobustViewBox, growing_bounds
from workbench.native_paint import BINS, FastCurve, NativeGraphicsLayout, NativeMarkers, PeakBins


def test_peak_bins_keep_each_runs_extremes_as_points_are_appended():
    rng = np.random.default_rng(0)
    n, target = 50_000, 300
    x = np.arange(1, n + 1, dtype=float)
    y = rng.standard_normal(n)
    y[1000:9000] = np.nan  # a gap: runs of NaN stay NaN
    bins = PeakBins(target)
    done = 0
    while done < n:  # appended in uneven pieces, as refreshes bring them
        size = int(rng.integers(1, 400))
        bins.append(x[done : done + size], y[done : done + size])
        done += size
        assert target / 2 - 1 <= len(bins.run_x) <= target or bins.size == 1
    xs, ys = bins.points()
    assert len(xs) == len(ys) <= 2 * target + bins.size
    starts = bins.run_x.astype(int) - 1  # x is the 1-based point index: where each run starts
    ends = np.append(starts[1:], n - len(bins.tail_x))
    for r in range(len(starts)):
        part = y[starts[r] : ends[r]]
        low, high = (np.nan, np.nan) if np.isnan(part).all() else (np.nanmin(part), np.nanmax(part))
        np.testing.assert_equal(ys[2 * r : 2 * r + 2], [low, high])
    np.testing.assert_equal(bins.tail_y, y[n - len(bins.tail_x) :])
    assert np.nanmax(ys) == np.nanmax(y) and np.nanmin(ys) == np.nanmin(y)
    short = PeakBins(target)
    short.append(x[:100], y[:100])
    np.testing.assert_equal(short.points()[1], y[:100])  # short histories are drawn as they are


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
    longer = np.arange(1.0, 30001.0)
    more = np.append(y, np.full(10000, 42.0))
    curve.extend(longer, more, 20000)  # appended: the bounds and path follow the new points
    assert curve.getData()[0] is longer and curve.dataBounds(1) == (np.nanmin(y), 42.0)
    assert curve.dataBounds(0) == (10.0, 30000.0)  # points 1-9 have no finite y
    assert curve.path().elementCount() <= 2 * BINS + 64
    curve.extend(longer[:50], more[:50], 0)  # a restarted history starts over
    assert curve.dataBounds(0) == (10.0, 50.0) and curve.path().elementCount() == 50
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


def test_native_markers_move_recolour_and_hide(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    markers = NativeMarkers(plot, "star", 13, pg.mkPen("k"))
    markers.set_spots([(1.0, 2.0, "#ff0000"), (3.0, 4.0, "#00ff00")])
    first = list(markers.items)
    markers.set_spots([(5.0, 6.0, "#0000ff")])
    shown = markers.points()
    assert len(shown) == 1 and shown[0] is first[0] and not first[1].isVisible()  # items are reused
    assert (shown[0].pos().x(), shown[0].pos().y()) == (5.0, 6.0)
    assert shown[0].brush().color().name() == "#0000ff"
    assert shown[0].flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations  # pixels, not data
    widget.resize(300, 200)
    plot.getViewBox().setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    before = plot.getViewBox().viewRange()
    markers.set_spots([(50.0, 60.0, "#0000ff")])  # off the view: the markers never move the axes
    widget.grab()
    assert plot.getViewBox().viewRange() == before


def test_the_windows_curves_paint_natively_and_show_every_recorded_point(main_window, qtbot):
    """A guard for the window: its views and lane curves are the native ones, and what a curve
    holds after stepping is every recorded value (decimation only shapes the drawn path)."""
    views = [main_window.curves.graphics, main_window.panes.graphics, main_window.diagnostics.graphics]
    assert all(isinstance(view, NativeGraphicsLayout) for view in views)
    click(qtbot, main_window.transport.step)
    wait_idle(qtbot, main_window)
    click(qtbot, main_window.transport.step)
    wait_idle(qtbot, main_window)
    main_window.refresh()
    snapshot = main_window.worker.latest()
    for (key, index), curve in main_window.curves.curves.items():
        assert type(curve) is FastCurve
        x, y = curve.getData()
        np.testing.assert_array_equal(x, [1.0, 2.0])
        expected = snapshot.lanes[index].metrics[key]
        if key in ("psnr", "ssim"):
            np.testing.assert_allclose(y, expected)
    python_painted = [
        item
        for plot in main_window.curves.plots.values()
        for item in plot.getViewBox().addedItems
        if type(item).paint is not QGraphicsPathItem.paint and not isinstance(item, pg.ScatterPlotItem)
    ]
    assert python_painted == []  # only the PODM accept/fallback markers still paint in Python


def test_appending_keeps_the_decimation_even_on_a_plot_wider_than_the_largest_bin_count(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(3 * BINS, 200)
    plot = widget.addPlot()
    curve = FastCurve(pg.mkPen("r"))
    plot.addItem(curve)
    widget.grab()
    assert plot.getViewBox().width() > 1.5 * BINS
    x = np.arange(1.0, 10001.0)
    curve.setData(x[:5000], x[:5000])
    bins = curve._bins
    curve.extend(x, x, 5000)
    assert curve._bins is bins and bins.count == 10000  # appended, not decimated again


def test_podm_markers_are_thinned_on_long_runs_and_kept_on_short_ones(qtbot):
    """Accept/fallback markers: one per iteration while a lane has at most MAX_MARKERS of a kind,
    then every other one (the stride doubles), appended as the lane runs."""
    from core.engine import RunSnapshot
    from workbench.curves import MAX_MARKERS, CurvesView
    from workbench.feed import LiveLaneSnapshot

    view = CurvesView()
    qtbot.addWidget(view)
    view.set_lanes([("PODM", "#d62728")])
    rng = np.random.default_rng(0)
    n = 5 * MAX_MARKERS
    accepted = (rng.random(n) < 0.3).astype(float)
    metrics = {key: np.linspace(1.0, 2.0, n) for key in ("rel_change", "rec_error", "psnr", "ssim", "objective")}
    metrics.update(opt_error=np.linspace(1.0, 0.1, n), opt_bound=np.full(n, 0.5), accepted=accepted)

    def show(k: int):
        lane = LiveLaneSnapshot(
            label="PODM", color="#d62728", status="running", k=k, image=None, error_map=None,
            metrics={key: values[:k] for key, values in metrics.items()},
            iterations=np.arange(1, k + 1), seconds=np.arange(1, k + 1) * 0.1, history_id=7,
        )  # fmt: skip
        view.update_curves(RunSnapshot(None, np.zeros((4, 4)), [lane]))
        return [view.markers[(0, kind)].data["x"].copy() for kind in ("accepted", "fallback")]

    short = show(300)
    np.testing.assert_array_equal(short[0], np.flatnonzero(accepted[:300] > 0.5) + 1)  # every one
    np.testing.assert_array_equal(short[1], np.flatnonzero(accepted[:300] < 0.5) + 1)
    for k in [*range(600, n, 300), n]:
        got = show(k)
    stride = view._plotted[0].marker_stride
    assert stride > 1 and all(len(x) <= MAX_MARKERS for x in got)
    on_stride = (np.arange(n) % stride) == 0
    np.testing.assert_array_equal(np.sort(got[0]), np.flatnonzero((accepted > 0.5) & on_stride) + 1)
    np.testing.assert_array_equal(np.sort(got[1]), np.flatnonzero((accepted < 0.5) & on_stride) + 1)
