"""Main window: opening, stepping, play/pause, scrubbing, worker errors, closing mid-run.

Numbers are asserted against the engine's own objects (``run.snapshot()``, ``run.iterate``):
the GUI only displays them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import wait_idle
from PySide6.QtCore import QMutexLocker
from PySide6.QtGui import QAction

from workbench.curves import METRIC_PLOTS
from workbench.forms import ParamForm


def lane_steps(window):
    with QMutexLocker(window.worker.run_lock):
        return [lane.k for lane in window.run.lanes]


def test_window_opens_on_default_problem(main_window):
    run = main_window.run
    assert [lane.label for lane in run.lanes] == ["FISTA", "PODM"]
    assert run.config.problem.image == "camera" and run.config.problem.degradation == "sparse_sr"
    snapshot = run.snapshot()
    np.testing.assert_array_equal(main_window.panes.image_of("ground_truth"), snapshot.ground_truth)
    np.testing.assert_array_equal(main_window.panes.image_of("observation"), snapshot.observation)
    # iterate panes show x⁰ before the first step
    np.testing.assert_allclose(main_window.panes.image_of("iterate1"), run.iterate(1, 0), atol=1e-6)
    assert main_window.lanes_panel.list.count() == 2


def test_step_five_gives_five_points_per_curve_per_lane(main_window, qtbot):
    main_window.step(5)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [5, 5]
    snapshot = main_window.worker.latest()
    for spec in METRIC_PLOTS:
        for lane_index in range(2):
            assert main_window.curves.point_count(spec.key, lane_index) == 5, spec.key
    # the PSNR curve is the engine's PSNR history, point for point
    for lane_index, lane in enumerate(snapshot.lanes):
        x, y = main_window.curves.curves[("psnr", lane_index)].getData()
        np.testing.assert_array_equal(x, [1, 2, 3, 4, 5])
        np.testing.assert_allclose(y, lane.metrics["psnr"])
    assert main_window.curves.cursor_position() == 5


def test_play_then_pause_stops_within_one_iteration(main_window, qtbot):
    main_window.set_playing(True)
    qtbot.waitUntil(lambda: min(lane_steps(main_window)) >= 2, timeout=60000)
    main_window.set_playing(False)
    at_pause = max(lane_steps(main_window))
    qtbot.wait(600)
    assert max(lane_steps(main_window)) <= at_pause + 1
    assert not main_window.worker.is_playing


def test_scrubbing_shows_the_kept_iterate_of_that_iteration(main_window, qtbot):
    main_window.step(6)
    wait_idle(qtbot, main_window)
    main_window.scrub_to(3)
    run = main_window.run
    for lane_index in range(2):
        shown = main_window.panes.image_of(f"iterate{lane_index}")
        np.testing.assert_allclose(shown, run.iterate(lane_index, 3), atol=1e-6)
        assert np.abs(shown - run.iterate(lane_index, 6)).max() > 1e-5
    assert main_window.curves.cursor_position() == 3
    # keyboard scrubbing: Shift+→ moves one iteration forward
    main_window.transport.scrubber.setValue(3)
    main_window.transport.nudge(1)
    np.testing.assert_allclose(main_window.panes.image_of("iterate0"), run.iterate(0, 4), atol=1e-6)
    main_window.scrub_to(-1)  # back to live
    np.testing.assert_allclose(main_window.panes.image_of("iterate0"), run.iterate(0, 6), atol=1e-6)


def test_clicking_a_curve_maps_to_the_nearest_iteration(main_window, qtbot):
    main_window.step(4)
    wait_idle(qtbot, main_window)
    assert main_window.curves.iteration_at(2.8) == 3
    main_window.curves.set_x_axis("seconds")
    seconds = main_window.worker.latest().lanes[0].seconds
    assert main_window.curves.iteration_at(float(seconds[1])) == 2
    x, _ = main_window.curves.curves[("ssim", 0)].getData()
    np.testing.assert_allclose(x, seconds)


def test_diagnostics_show_podm_intermediate_images_of_the_scrubbed_iteration(main_window, qtbot):
    main_window.step(4)
    wait_idle(qtbot, main_window)
    main_window.diagnostics.lane_combo.setCurrentIndex(1)  # PODM
    main_window.scrub_to(2)
    assert set(main_window.diagnostics.image_items) == {"x_A", "x_tilde", "x_G", "x_G − x_tilde", "x_A − x^{k−1}"}
    live = main_window.worker.latest().lanes[1].extras["x_G"]
    shown = main_window.diagnostics.image_items["x_G"].image
    assert shown.shape == live.shape and np.abs(shown - live).max() > 0  # iteration 2, not 4
    accepted = main_window.worker.latest().lanes[1].metrics["accepted"]
    diagnostics = main_window.diagnostics
    assert len(diagnostics.bars_accepted.opts["x"]) == np.sum(accepted > 0.5)
    assert len(diagnostics.bars_fallback.opts["x"]) == np.sum(accepted < 0.5)
    assert np.isfinite(accepted).sum() == 4


def test_worker_exception_shows_a_message_and_the_app_goes_on(main_window, qtbot):
    run = main_window.run
    original = run.step

    def broken_step(n=1, **options):
        raise RuntimeError("solver exploded")

    run.step = broken_step
    main_window.step(1)
    qtbot.waitUntil(lambda: bool(main_window.errors), timeout=10000)
    assert "solver exploded" in main_window.errors[-1]
    assert main_window._error_boxes and not main_window._error_boxes[-1].isModal()
    run.step = original
    main_window.step(2)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [2, 2]


def test_closing_during_a_run_stops_the_worker(main_window, qtbot):
    thread = main_window.thread
    main_window.set_playing(True)
    qtbot.waitUntil(lambda: max(lane_steps(main_window)) >= 1, timeout=60000)
    main_window.close()
    assert thread.isFinished()
    assert main_window.thread is None


def test_a_diverging_lane_is_marked_in_its_panes_and_the_legend(main_window, qtbot):
    main_window.lanes_panel.list.setCurrentRow(0)
    solver_form = main_window.lanes_panel.forms[0].findChildren(ParamForm)[0]
    solver_form.set_value("step_size", 1e6)  # γ ≫ 2/L: the iterates blow up
    assert main_window.run.lanes[0].spec.params["step_size"] == 1e6
    main_window.worker.run_to(60)
    qtbot.waitUntil(lambda: main_window.run.lanes[0].status.startswith("diverged"), timeout=60000)
    main_window.set_playing(False)
    wait_idle(qtbot, main_window)
    status = main_window.run.lanes[0].status
    assert "diverged" in main_window.panes.title_text("iterate0")
    assert "diverged" not in main_window.panes.title_text("iterate1")
    legend_label = main_window.curves.legend.getLabel(main_window.curves.curves[("psnr", 0)])
    assert status in legend_label.text
    assert main_window.run.lanes[1].active  # the other lane goes on


def test_hover_reads_pixel_values_and_views_are_synced(main_window):
    from PySide6.QtCore import QPointF

    panes = main_window.panes
    view = panes.plots["ground_truth"].getViewBox()
    scene_pos = view.mapViewToScene(QPointF(10.5, 5.5))
    panes._on_mouse_moved(scene_pos)
    truth = main_window.run.snapshot().ground_truth
    assert f"x=10, y=5  value={truth[5, 10]:.4f}" in panes.readout.text()
    view.setRange(xRange=(4, 20), yRange=(4, 20), padding=0)
    other = panes.plots["error1"].getViewBox()
    for axis in (0, 1):  # same centre; the spans differ only by the panes' aspect ratios
        assert np.mean(other.viewRange()[axis]) == pytest.approx(np.mean(view.viewRange()[axis]))
        assert np.ptp(other.viewRange()[axis]) < 40  # zoomed in with the first pane (64 px image)


def test_speed_cap_limits_iterations_per_second(main_window, qtbot):
    main_window.transport.unlimited.setChecked(False)
    main_window.transport.speed.setValue(5)
    started = time.perf_counter()
    main_window.set_playing(True)
    qtbot.wait(1000)
    main_window.set_playing(False)
    elapsed = time.perf_counter() - started
    wait_idle(qtbot, main_window)
    # at most 5 it/s over the elapsed time, +1 iteration in flight at the pause, +1 at the start
    assert 1 <= max(lane_steps(main_window)) <= 5 * elapsed + 2


def test_keyboard_shortcuts_step_scrub_and_reset(main_window, qtbot):

    main_window.activateWindow()
    shortcuts = {action.text(): action.shortcut().toString() for action in main_window.findChildren(QAction)}
    assert shortcuts["Play / pause"] == "Space" and shortcuts["Reset"] == "Home"
    assert shortcuts["Scrub back"] == "Shift+Left" and shortcuts["Step"] == "Right"
    assert shortcuts["Image &panes as PNG…"] == "Ctrl+E"
    assert shortcuts["&Open config or session…"] == "Ctrl+O" and shortcuts["&Save session…"] == "Ctrl+S"
    actions = {action.text(): action for action in main_window.findChildren(QAction)}
    actions["Step"].trigger()
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [1, 1]
    actions["Step ×10"].trigger()
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [11, 11]
    actions["Scrub back"].trigger()
    assert main_window.scrub_k == 10
    actions["Reset"].trigger()
    assert lane_steps(main_window) == [0, 0]
    assert main_window.transport.scrubber.maximum() == 0


def test_run_to_end_stops_at_the_iteration_limit(main_window, qtbot):
    with QMutexLocker(main_window.worker.run_lock):
        main_window.run.config.run.iterations = 6
    main_window.transport.converge.click()
    qtbot.waitUntil(lambda: lane_steps(main_window) == [6, 6], timeout=60000)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [6, 6] and main_window.run.done


def test_a_solver_that_does_not_apply_is_refused_and_the_lanes_go_on(main_window, qtbot):
    main_window.lanes_panel.list.setCurrentRow(0)
    main_window.lanes_panel.set_component("solver", "admm_net")  # declared for the MRI degradation only
    assert any("admm_net" in message and "mri" in message for message in main_window.errors)
    assert main_window.run.lanes[0].spec.solver == "fista"  # the lane keeps its solver
    main_window.step(2)
    wait_idle(qtbot, main_window)
    assert [lane.k for lane in main_window.run.lanes] == [2, 2]


def test_a_lane_whose_solver_fails_is_reported_and_the_others_go_on(scratch_registries, main_window, qtbot):
    from core.registry import SOLVERS

    def fails(problem):
        raise ValueError("solver '_test_fails' cannot run on this problem")
        yield  # a generator, like every solver

    SOLVERS.register(
        "_test_fails", doc="fails at its first step", needs_prior=False, needs_denoiser=False, learned=False
    )(fails)
    main_window.on_lane_changed(0, {"label": "FISTA", "solver": "_test_fails", "params": {}})
    main_window.step(2)
    wait_idle(qtbot, main_window)
    assert main_window.run.lanes[0].status.startswith("error")
    assert any("_test_fails" in message for message in main_window.errors)
    assert "error" in main_window.panes.title_text("iterate0")
    assert main_window.run.lanes[1].k == 2


def test_clicking_a_plot_scrubs_every_pane_there(main_window, qtbot):
    from PySide6.QtCore import QPointF

    main_window.step(5)
    wait_idle(qtbot, main_window)
    view = main_window.curves.plots["psnr"].getViewBox()
    view.setRange(xRange=(1, 5), yRange=(0, 50), padding=0)
    y = 25.0

    class Click:
        def scenePos(self):
            return view.mapViewToScene(QPointF(2.2, y))

    main_window.curves._on_click(Click())
    assert main_window.scrub_k == 2 and main_window.transport.scrubber.value() == 2
    assert main_window.curves.cursor_position() == 2
    np.testing.assert_allclose(main_window.panes.image_of("iterate1"), main_window.run.iterate(1, 2), atol=1e-6)


def test_podm_pane_title_shows_the_share_of_accepted_checks(main_window, qtbot):
    main_window.step(4)
    wait_idle(qtbot, main_window)
    lanes = main_window.worker.latest().lanes
    podm = next(i for i, lane in enumerate(lanes) if lane.label == "PODM")
    accepted = np.asarray(lanes[podm].metrics["accepted"], dtype=np.float64)
    assert np.isfinite(accepted).sum() == 4
    expected = f"check accepts {100 * np.mean(accepted > 0.5):.0f} %"
    assert expected in main_window.panes.title_text(f"iterate{podm}")
    fista = next(i for i, lane in enumerate(lanes) if lane.label == "FISTA")
    assert "check accepts" not in main_window.panes.title_text(f"iterate{fista}")  # no check, no rate
    main_window.scrub_to(1)  # the rate follows the shown iteration
    qtbot.waitUntil(lambda: main_window.worker.jobs_pending == 0, timeout=30000)
    assert f"check accepts {100 * float(accepted[0] > 0.5):.0f} %" in main_window.panes.title_text(f"iterate{podm}")
