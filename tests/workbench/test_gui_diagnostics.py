"""Diagnostics tab: PODM's intermediate images and their differences (diverging colormap,
symmetric levels), unrolled stages' input/output/difference, one small plot per learned scalar
series, cursors at the shown stage, and the first lane with diagnostics picked by default."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import wait_idle
from PySide6.QtCore import QMutexLocker

from core.display import display_image
from workbench.diagnostics import DIFFERENCE_COLORMAP, diagnostic_images, symmetric_level
from workbench.lane_view import PREVIOUS_ITERATE


def test_podm_differences_use_symmetric_levels_and_the_kept_previous_iterate(main_window, qtbot):
    main_window.step(4)
    wait_idle(qtbot, main_window)
    diagnostics = main_window.diagnostics
    assert diagnostics.lane_index() == 1  # FISTA reports nothing: PODM is picked
    main_window.tabs.setCurrentWidget(diagnostics)
    main_window.scrub_to(3)
    # the kept images are read by a worker job (at once when the worker is idle, else queued)
    qtbot.waitUntil(lambda: main_window.worker.jobs_pending == 0, timeout=30000)
    run = main_window.run
    with QMutexLocker(main_window.worker.run_lock):
        extras = run.extras(1, 3)
        previous = display_image(run.problem, run.problem.to_image(run.lanes[1].iterate_tensor(2)), chroma="")
    items = diagnostics.image_items
    np.testing.assert_allclose(items["x_G − x_tilde"].image, extras["x_G"] - extras["x_tilde"], atol=1e-6)
    np.testing.assert_allclose(items["x_A − x^{k−1}"].image, extras["x_A"] - previous, atol=1e-6)
    for name in ("x_G − x_tilde", "x_A − x^{k−1}"):
        low, high = items[name].getLevels()
        assert low == pytest.approx(-high) and high == pytest.approx(symmetric_level(items[name].image))
        assert items[name].getColorMap().name == DIFFERENCE_COLORMAP
    assert tuple(items["x_A"].getLevels()) == (0.0, 1.0) and items["x_A"].getColorMap() is None
    # one small plot per series, cursors at the shown stage
    series = main_window.worker.latest().lanes[1].series
    assert set(diagnostics.series_plots) == set(series) and len(series) >= 2
    for name, plot in diagnostics.series_plots.items():
        x, y = diagnostics.series_curves[name].getData()
        np.testing.assert_allclose(y, series[name])
        assert sum(isinstance(item, type(diagnostics.series_curves[name])) for item in plot.listDataItems()) == 1
    assert set(diagnostics.cursor_positions().values()) == {3.0}
    main_window.scrub_to(2)
    qtbot.waitUntil(lambda: main_window.worker.jobs_pending == 0, timeout=30000)
    assert set(diagnostics.cursor_positions().values()) == {2.0}


def test_unrolled_stage_shows_input_output_and_their_difference():
    rng = np.random.default_rng(0)
    stage_in, stage_out = rng.random((8, 8), dtype=np.float32), rng.random((8, 8), dtype=np.float32)
    shown = diagnostic_images({"input": stage_in, "output": stage_out, "residual": stage_in - stage_out})
    assert [(name, difference) for name, _, difference in shown] == [
        ("input", False),
        ("output", False),
        ("output − input", True),
    ]
    np.testing.assert_array_equal(shown[2][1], stage_out - stage_in)
    podm = diagnostic_images({"x_A": stage_in, "x_tilde": stage_out, "x_G": stage_in, PREVIOUS_ITERATE: stage_out})
    assert [name for name, _, _ in podm] == ["x_A", "x_tilde", "x_G", "x_G − x_tilde", "x_A − x^{k−1}"]
    np.testing.assert_array_equal(podm[4][1], stage_in - stage_out)


def test_series_share_the_iteration_axis_without_decisions(qtbot):
    """A lane without accept/fallback decisions still shows its series over its iterations."""
    from types import SimpleNamespace

    from workbench.app import make_app
    from workbench.diagnostics import DiagnosticsView

    make_app()
    view = DiagnosticsView()
    qtbot.addWidget(view)
    view.show()
    lane = SimpleNamespace(
        label="net",
        status="running",
        iterations=np.arange(1, 10),
        metrics={"accepted": np.full(9, np.nan)},
        series={"step": np.linspace(0.5, 0.6, 9), "threshold": np.linspace(1e-3, 5e-4, 9)},
        extras={},
    )
    view.show_lane(lane, 9, {})
    for name, plot in view.series_plots.items():
        low, high = plot.getViewBox().viewRange()[0]
        assert low < 1 and high > 9, name  # every point of the series in view


def test_hidden_tab_is_not_updated_while_playing_and_catches_up_when_shown(main_window, qtbot):
    diagnostics = main_window.diagnostics
    main_window.tabs.setCurrentIndex(0)
    assert not diagnostics.isVisible()
    main_window.step(3)
    wait_idle(qtbot, main_window)
    main_window.refresh()
    assert "iteration 3" not in diagnostics.info.text()  # hidden: the GUI thread skipped its images
    main_window.tabs.setCurrentWidget(diagnostics)
    qtbot.waitUntil(lambda: "iteration 3" in diagnostics.info.text(), timeout=10000)
    run = main_window.run
    with QMutexLocker(main_window.worker.run_lock):
        extras = run.extras(1, 3)
    np.testing.assert_allclose(diagnostics.image_items["x_G"].image, extras["x_G"], atol=1e-6)
