"""Curves: the legend sits outside every plot's data area, each lane's best-PSNR iterate is
marked, a diverging lane does not set the other lanes' y axes, and no plot column is clipped at
1366×768."""

from __future__ import annotations

import numpy as np
from conftest import wait_idle
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication
from test_gui_workflows import click

from workbench.curve_overlays import RANGE_STEPS, SLACK, nice_step, stepped_bounds
from workbench.curves import METRIC_PLOTS, curve_values
from workbench.forms import ParamForm


def settle(window):
    for _ in range(6):
        QApplication.processEvents()
    window.refresh()
    QApplication.processEvents()


def test_legend_outside_the_data_and_no_column_clipped_at_1366x768(main_window, qtbot):
    main_window.resize(1366, 768)
    main_window.step(3)
    wait_idle(qtbot, main_window)
    settle(main_window)
    curves = main_window.curves
    legend = curves.legend.sceneBoundingRect()
    assert legend.width() > 0 and [label.text for _, label in curves.legend.items] == ["FISTA", "PODM"]
    visible = QRectF(curves.graphics.viewport().rect())
    for key, plot in curves.plots.items():
        data = plot.getViewBox().sceneBoundingRect()
        assert not legend.intersects(data), key
        assert visible.contains(plot.sceneBoundingRect()), key  # nothing clipped at the right


def test_best_psnr_iterate_is_marked_on_every_plot(main_window, qtbot):
    main_window.step(6)
    wait_idle(qtbot, main_window)
    snapshot = main_window.worker.latest()
    for spec in METRIC_PLOTS:
        spots = main_window.curves.overlays.best[spec.key].points()
        expected = []
        for lane in snapshot.lanes:
            psnr = np.asarray(lane.metrics["psnr"])
            k = int(np.nanargmax(psnr)) + 1
            y = curve_values(lane.metrics[spec.key][k - 1 : k], spec.log)[0]
            if np.isfinite(y):
                expected.append((float(k), float(y)))
        got = sorted((spot.pos().x(), spot.pos().y()) for spot in spots)
        np.testing.assert_allclose(got, sorted(expected), rtol=1e-6)


def test_a_diverging_lane_does_not_blow_up_the_other_lanes_axes(main_window, qtbot):
    main_window.lanes_panel.list.setCurrentRow(0)
    solver_form = main_window.lanes_panel.forms[0].findChildren(ParamForm)[0]
    solver_form.set_value("step_size", 1e6)  # the FISTA lane blows up
    main_window.worker.run_to(40)
    qtbot.waitUntil(lambda: main_window.run.lanes[0].status.startswith("diverged"), timeout=60000)
    main_window.set_playing(False)
    wait_idle(qtbot, main_window)
    settle(main_window)
    snapshot = main_window.worker.latest()
    healthy = curve_values(snapshot.lanes[1].metrics["objective"], True)
    wild = curve_values(snapshot.lanes[0].metrics["objective"], True)
    assert np.nanmax(wild) > np.nanmax(healthy) + 5  # orders of magnitude apart
    low, high = main_window.curves.plots["objective"].getViewBox().viewRange()[1]
    span = np.nanmax(healthy) - np.nanmin(healthy)
    assert high < np.nanmax(healthy) + span + 1e-3 and low > np.nanmin(healthy) - span - 1e-3


def test_stepped_bounds_hold_the_data_in_nice_steps():
    rng = np.random.default_rng(0)
    for _ in range(500):
        low = rng.uniform(-1e3, 1e3) * 10.0 ** rng.integers(-6, 4)
        high = low + rng.uniform(1e-9, 1e3) * 10.0 ** rng.integers(-6, 4)
        a, b = stepped_bounds(low, high)
        step = nice_step((high - low) / RANGE_STEPS)
        slack = SLACK * (high - low)  # a pen's pixel padding may be cut
        assert a <= low + slack and b >= high - slack and (b - a) <= (high - low) + 2 * step * (1 + 1e-9)
        mantissa = step / 10.0 ** np.floor(np.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-9
    assert stepped_bounds(0, 37) == (0, 40) and stepped_bounds(20.1, 29.3) == (20, 30)
    assert stepped_bounds(3.0, 3.0) == (3.0, 3.0)


def test_the_axes_do_not_change_at_every_new_iteration(main_window, qtbot):
    """Axis ranges follow the data in steps, so most refreshes repaint no tick labels (an
    auto-range that follows every point changed the ranges at every one of these iterations)."""
    view = main_window.curves.plots["psnr"].getViewBox()
    ranges = []
    for _ in range(40):
        click(qtbot, main_window.transport.step)
        wait_idle(qtbot, main_window)
        view.updateAutoRange()
        ranges.append(tuple(map(tuple, view.viewRange())))
    assert len(main_window.worker.latest().lanes[0].metrics["psnr"]) == 40
    later = ranges[19:]
    changes = sum(a != b for a, b in zip(later, later[1:]))
    assert changes <= 8, f"the axes changed {changes} times in iterations 20-40"
    (x_low, x_high), (y_low, y_high) = view.viewRange()
    psnr = curve_values(main_window.worker.latest().lanes[0].metrics["psnr"], False)
    assert x_low <= 1 and x_high >= 40 and y_low <= np.nanmin(psnr) and y_high >= np.nanmax(psnr)  # all in view
