"""Everyday workflows of issue 7, each driven through the real widgets (buttons, keys, mouse
clicks on the plots) and checked on the engine objects they change."""

from __future__ import annotations

import numpy as np
from conftest import wait_idle
from PySide6.QtCore import QMutexLocker, QPointF, Qt
from PySide6.QtWidgets import QApplication, QStyle
from test_gui_runtime import wait_built


def lane_steps(window):
    with QMutexLocker(window.worker.run_lock):
        return [lane.k for lane in window.run.lanes]


def click(qtbot, widget, button=Qt.MouseButton.LeftButton):
    qtbot.mouseClick(widget, button)


def click_plot(qtbot, window, key, x, y, button=Qt.MouseButton.LeftButton):
    """A real mouse click on plot ``key`` of the curves at data coordinates (x, y)."""
    graphics = window.curves.graphics
    view = window.curves.plots[key].getViewBox()
    pos = graphics.mapFromScene(view.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(graphics.viewport(), button, pos=pos)


def legend_labels(window):
    legend = window.curves.legend
    return [label.text for _, label in legend.items]


def same_icon(a, b) -> bool:
    return a.pixmap(16).toImage() == b.pixmap(16).toImage()


# Lanes → Add ------------------------------------------------------------------------------
def test_add_button_adds_a_lane_even_after_every_lane_was_deleted(main_window, qtbot):
    buttons = main_window.lanes_panel.buttons
    click(qtbot, buttons["add"])
    assert [lane.spec.solver for lane in main_window.run.lanes] == ["fista", "podm", "fista"]
    for _ in range(3):
        click(qtbot, buttons["remove"])
    assert main_window.run.lanes == [] and main_window.run.config.lanes == []
    assert "no lanes left" in main_window.statusBar().currentMessage()
    assert buttons["add"].isEnabled()
    click(qtbot, buttons["add"])
    assert [lane.spec.solver for lane in main_window.run.lanes] == ["fista"]
    assert main_window.run.lanes[0].spec.prior is not None and not main_window.errors
    main_window.refresh()
    assert "iterate0" in main_window.panes.items
    click(qtbot, main_window.transport.step)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [1]


# PSNR legend --------------------------------------------------------------------------------
def test_psnr_legend_stays_after_lane_and_problem_changes(main_window, qtbot):
    legend = main_window.curves.legend
    assert legend.scene() is not None and legend_labels(main_window) == ["FISTA", "PODM"]
    click(qtbot, main_window.lanes_panel.buttons["duplicate"])  # a lane change
    main_window.refresh()
    assert main_window.curves.legend.scene() is main_window.curves.graphics.scene()
    assert legend_labels(main_window) == [lane.label for lane in main_window.run.lanes] == ["FISTA", "PODM", "FISTA 2"]
    main_window.problem_panel.set_degradation("blur")  # a problem change
    wait_built(qtbot, main_window)
    assert main_window.run.config.problem.degradation == "blur"
    main_window.refresh()
    assert main_window.curves.legend.scene() is main_window.curves.graphics.scene()
    assert main_window.curves.legend.isVisible()
    assert legend_labels(main_window) == ["FISTA", "PODM", "FISTA 2"]


# scrubbing to an iteration whose iterate is not kept ----------------------------------------
def test_clicking_a_curve_at_a_not_kept_iteration_shows_the_nearest_kept_iterate(main_window, qtbot):
    main_window.run_panel.keep.setValue(3)  # kept: x⁰ and the last 3 iterates
    wait_built(qtbot, main_window)
    assert main_window.run.config.run.keep_iterates == 3
    click(qtbot, main_window.transport.step10)
    wait_idle(qtbot, main_window)
    run = main_window.run
    assert run.kept_iterations(0) == [0, 8, 9, 10]
    main_window.curves.plots["psnr"].getViewBox().setRange(xRange=(1, 10), yRange=(0, 50), padding=0)
    click_plot(qtbot, main_window, "psnr", 6.1, 25.0)
    assert main_window.scrub_k == 6
    for lane_index in range(2):
        np.testing.assert_allclose(
            main_window.panes.image_of(f"iterate{lane_index}"), run.iterate(lane_index, 8), atol=1e-6
        )
        title = main_window.panes.title_text(f"iterate{lane_index}")
        assert "k=6 (nearest kept: 8)" in title
        psnr = main_window.worker.latest().lanes[lane_index].metrics["psnr"][8 - 1]
        assert f"{psnr:.2f} dB" in title  # the PSNR of the shown iterate
    click_plot(qtbot, main_window, "psnr", 9.0, 25.0)  # kept: no note
    title = main_window.panes.title_text("iterate0")
    assert "k=9" in title and "nearest kept" not in title
    np.testing.assert_allclose(main_window.panes.image_of("iterate0"), run.iterate(0, 9), atol=1e-6)


# right click -------------------------------------------------------------------------------
def test_right_click_on_a_curve_opens_the_menu_and_does_not_scrub(main_window, qtbot):
    click(qtbot, main_window.transport.step10)
    wait_idle(qtbot, main_window)
    main_window.curves.plots["psnr"].getViewBox().setRange(xRange=(1, 10), yRange=(0, 50), padding=0)
    click_plot(qtbot, main_window, "psnr", 4.0, 25.0, Qt.MouseButton.RightButton)
    menu = QApplication.activePopupWidget()
    try:
        assert menu is not None and menu.isVisible()  # the plot's context menu
        assert main_window.scrub_k is None and main_window.curves.cursor_position() == 10
    finally:
        if menu is not None:
            menu.close()
    click_plot(qtbot, main_window, "psnr", 4.0, 25.0)  # the left button scrubs
    assert main_window.scrub_k == 4 and main_window.curves.cursor_position() == 4


# reset -------------------------------------------------------------------------------------
def test_reset_clears_the_previous_runs_bound_curve_and_axis_ranges(main_window, qtbot):
    click(qtbot, main_window.transport.step10)
    wait_idle(qtbot, main_window)
    curves = main_window.curves
    x, _ = curves.bound_curves[1].getData()  # PODM's optimality bound
    assert len(x) == 10
    psnr_view = curves.plots["psnr"].getViewBox()
    qtbot.waitUntil(lambda: psnr_view.viewRange()[0][1] > 9, timeout=5000)  # auto range is lazy
    click(qtbot, main_window.transport.reset)
    main_window.refresh()
    assert lane_steps(main_window) == [0, 0]
    for key, plot in curves.plots.items():
        for item in plot.listDataItems():
            data, _ = item.getData()
            assert data is None or len(data) == 0, key  # no curve of the old run is left
        assert plot.getViewBox().viewRange() == [[0, 1], [0, 1]], key
        assert all(plot.getViewBox().autoRangeEnabled()), key
    click(qtbot, main_window.transport.step)
    wait_idle(qtbot, main_window)
    assert curves.point_count("psnr", 0) == 1
    qtbot.waitUntil(lambda: psnr_view.viewRange() != [[0, 1], [0, 1]], timeout=5000)
    assert psnr_view.viewRange()[0][1] < 5  # follows the new run only


# at the iteration limit --------------------------------------------------------------------
def test_run_to_end_at_the_limit_says_why_and_offers_to_extend(main_window, qtbot):
    main_window.run_panel.iterations.setValue(3)
    assert main_window.run.iterations == 3
    click(qtbot, main_window.transport.converge)
    qtbot.waitUntil(lambda: lane_steps(main_window) == [3, 3], timeout=60000)
    wait_idle(qtbot, main_window)
    controls = main_window.controls
    assert controls.limit_box is None or not controls.limit_box.isVisible()
    click(qtbot, main_window.transport.converge)  # at the limit: nothing to run
    qtbot.waitUntil(lambda: controls.limit_box is not None and controls.limit_box.isVisible(), timeout=10000)
    assert "iteration limit (3)" in main_window.statusBar().currentMessage()
    assert not controls.limit_box.isModal()
    assert controls.extend_button.text() == "Extend by 3"
    click(qtbot, controls.extend_button)
    assert main_window.run.iterations == 6 and main_window.run_panel.iterations.value() == 6
    qtbot.waitUntil(lambda: lane_steps(main_window) == [6, 6], timeout=60000)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [6, 6] and main_window.run.done


def test_space_at_the_limit_says_why(main_window, qtbot):
    main_window.run_panel.iterations.setValue(2)
    click(qtbot, main_window.transport.step)
    click(qtbot, main_window.transport.step)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [2, 2]
    main_window.activateWindow()
    qtbot.keyClick(main_window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: "iteration limit (2)" in main_window.statusBar().currentMessage(), timeout=10000)
    assert main_window.controls.limit_box.isVisible() and not main_window.worker.is_playing
    assert not main_window.transport.play.isChecked()
    click(qtbot, main_window.controls.extend_button)  # goes on playing (as Space asked)
    qtbot.waitUntil(lambda: min(lane_steps(main_window)) >= 3, timeout=60000)
    main_window.set_playing(False)


# transport icons ---------------------------------------------------------------------------
def test_transport_buttons_use_standard_icons_not_emoji(main_window, qtbot):
    transport = main_window.transport
    style = transport.style()
    buttons = (transport.play, transport.step, transport.step10, transport.converge, transport.reset)
    for button in buttons:
        assert not button.icon().isNull(), button.text()
        assert all(ord(ch) < 0x2000 for ch in button.text()), button.text()  # no emoji glyphs
    assert same_icon(transport.play.icon(), style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
    click(qtbot, transport.play)
    assert main_window.worker.is_playing and transport.play.text() == "Pause"
    assert same_icon(transport.play.icon(), style.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
    click(qtbot, transport.play)
    assert not main_window.worker.is_playing and transport.play.text() == "Play"
    assert same_icon(transport.play.icon(), style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
