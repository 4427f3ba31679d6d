"""The window title names the open config, preset or session ("default problem" otherwise) and
marks unsaved edits with Qt's ``[*]`` convention (issue 7)."""

from __future__ import annotations

from conftest import small_config
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from test_gui_runtime import wait_built
from test_gui_window import wait_idle

from core.config import save_config
from workbench.forms import ParamForm


def shown_title(window) -> str:
    """The title the platform window shows (``[*]`` replaced by ``*`` or nothing)."""
    return window.windowHandle().title()


def edit_lam(qtbot, window, value: str) -> None:
    """Type ``value`` into the current lane's ``lam`` field and press Return."""
    form = [f for f in window.lanes_panel.findChildren(ParamForm) if "lam" in f.editors][0]
    editor = form.editors["lam"]
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, value)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_the_title_names_the_open_file_and_marks_unsaved_edits(main_window, qtbot, tmp_path):
    window = main_window
    assert window.windowTitle() == "default problem[*] — Convergence Workbench"
    assert shown_title(window) == "default problem — Convergence Workbench" and not window.isWindowModified()

    save_config(small_config(), tmp_path / "butterfly_sr.toml")
    assert window.open_path(tmp_path / "butterfly_sr.toml")
    wait_built(qtbot, window)
    assert shown_title(window) == "butterfly_sr.toml — Convergence Workbench"
    assert not window.isWindowModified()

    window.lanes_panel.list.setCurrentRow(0)
    edit_lam(qtbot, window, "0.02")
    wait_idle(qtbot, window)
    assert window.run.config.lanes[0].params["lam"] == 0.02  # the edit reached the core config
    assert window.isWindowModified()
    assert shown_title(window) == "butterfly_sr.toml* — Convergence Workbench"

    window.save_session_to(tmp_path / "my_session")
    wait_idle(qtbot, window)
    assert (tmp_path / "my_session" / "session.toml").exists()
    assert shown_title(window) == "my_session — Convergence Workbench" and not window.isWindowModified()

    window.problem_panel.noise.setValue(0.03)  # a problem edit rebuilds the problem
    wait_built(qtbot, window)
    assert window.run.config.problem.noise_sigma == 0.03
    assert shown_title(window) == "my_session* — Convergence Workbench"

    assert window.open_path(tmp_path / "my_session")  # reopened: saved state again
    wait_built(qtbot, window)
    assert shown_title(window) == "my_session — Convergence Workbench" and not window.isWindowModified()
    assert window.run.config.problem.noise_sigma == small_config().problem.noise_sigma


def test_a_file_that_fails_to_open_leaves_the_title_alone(main_window, qtbot, tmp_path):
    (tmp_path / "broken.toml").write_text("[problem\n", encoding="utf-8")
    assert not main_window.open_path(tmp_path / "broken.toml")
    wait_built(qtbot, main_window)
    assert shown_title(main_window) == "default problem — Convergence Workbench"
    assert main_window.errors and "broken.toml" in main_window.errors[-1]
