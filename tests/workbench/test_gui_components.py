"""Which components the lanes panel offers: File → Load plugin… adds a plugin's components to the
lists (issue 8), and learned solvers that do not apply to the problem's degradation are shown
disabled with the reason (issue 7)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from test_gui_runtime import wait_built

from core.paths import CHECKOUT_DIR

EXAMPLE_PLUGIN = CHECKOUT_DIR / "docs" / "example_plugin.py"


def trigger(window, text: str) -> None:
    """Trigger the menu action whose text (without '&') is ``text``."""
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            if action.text().replace("&", "") == text:
                action.trigger()
                return
    raise AssertionError(f"no menu action {text!r}")


def solver_row(window, name: str) -> int:
    row = window.lanes_panel.solver.findData(name)
    assert row >= 0, f"{name} is not in the solver list"
    return row


def enabled(window, name: str) -> bool:
    item = window.lanes_panel.solver.model().item(solver_row(window, name))
    return bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)


def test_load_plugin_action_adds_its_solver_to_the_lanes_panel(main_window, qtbot, monkeypatch, scratch_registries):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(EXAMPLE_PLUGIN), ""))
    assert main_window.lanes_panel.solver.findData("heavy_ball") == -1
    trigger(main_window, "Load plugin…")
    assert not main_window.errors
    assert "heavy_ball" in main_window.statusBar().currentMessage()
    assert enabled(main_window, "heavy_ball")
    assert main_window.lanes_panel.denoiser.findData("median3") >= 0
    main_window.lanes_panel.solver.setCurrentIndex(solver_row(main_window, "heavy_ball"))  # as a user picks it
    assert main_window.run.lanes[0].spec.solver == "heavy_ball" and not main_window.errors
    assert main_window.lanes_panel.solver.currentData() == "heavy_ball"


def test_a_failing_plugin_shows_its_message_and_the_window_goes_on(
    main_window, qtbot, monkeypatch, tmp_path, scratch_registries
):
    bad = tmp_path / "broken_plugin.py"
    bad.write_text("raise RuntimeError('no good')\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    combo = main_window.lanes_panel.solver
    solvers = [combo.itemData(i) for i in range(combo.count())]
    trigger(main_window, "Load plugin…")
    assert len(main_window.errors) == 1 and "broken_plugin.py" in main_window.errors[0]
    assert "no good" in main_window.errors[0]
    assert [combo.itemData(i) for i in range(combo.count())] == solvers
    main_window.step(1)
    qtbot.waitUntil(lambda: [lane.k for lane in main_window.run.lanes] == [1, 1], timeout=60000)


def test_solvers_that_do_not_apply_are_disabled_with_the_reason_until_the_degradation_changes(main_window, qtbot):
    from core.lane_spec import applicability

    assert main_window.run.config.problem.degradation == "sparse_sr"
    combo = main_window.lanes_panel.solver
    assert not enabled(main_window, "lista") and not enabled(main_window, "ista_net_plus")
    assert enabled(main_window, "fista") and enabled(main_window, "podm")
    tip = combo.itemData(solver_row(main_window, "lista"), Qt.ItemDataRole.ToolTipRole)
    assert applicability("lista", "sparse_sr") in tip and "denoise" in tip
    main_window.problem_panel.set_degradation("denoise")  # the user changes the problem
    wait_built(qtbot, main_window)
    assert main_window.run.config.problem.degradation == "denoise"
    assert enabled(main_window, "lista") and not enabled(main_window, "ista_net_plus")
    assert "not available" not in combo.itemData(solver_row(main_window, "lista"), Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(solver_row(main_window, "lista"))
    assert main_window.run.lanes[0].spec.solver == "lista" and not main_window.errors
