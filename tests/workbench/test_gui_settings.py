"""What the window remembers between starts (issue 7): geometry, splitters, the dialogs' last
folders and the recent files, in a QSettings INI file. Every test writes its own INI file under
``tmp_path``; the user's real settings are redirected there too (``QSettings.setPath``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import small_config
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QSplitter
from test_gui_runtime import wait_built

from core.config import save_config
from workbench import geometry
from workbench.settings import APPLICATION, ORGANIZATION, Store, app_settings


@pytest.fixture
def ini(tmp_path, qapp):
    """An INI file for the test; the user scope of INI settings points under ``tmp_path`` too."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "user"))
    return tmp_path / "workbench.ini"


def open_window(qtbot, ini: Path, config=None):
    """A shown main window remembering into ``ini``. The offscreen screen (800×800) is narrower
    than the window's minimum size hint, so the window may be smaller here: a window that does
    not fit its screen is moved by Qt, and positions could not be compared."""
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    make_app()
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    window = MainWindow(config or small_config(), autosave_dir=None, settings=settings)
    window.setMinimumSize(300, 300)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def splitters(window):
    """The two remembered splitters: side panels | views, and image panes / plots."""
    return window.findChild(QSplitter, "panels_and_views"), window.findChild(QSplitter, "panes_and_plots")


def test_the_real_settings_are_an_ini_file_under_the_workbench_names(ini, tmp_path):
    settings = app_settings()
    assert settings.format() == QSettings.Format.IniFormat
    assert Path(settings.fileName()) == tmp_path / "user" / ORGANIZATION / f"{APPLICATION}.ini"


def test_geometry_and_splitters_come_back_in_the_next_window(ini, qtbot):
    first = open_window(qtbot, ini)
    available = QGuiApplication.primaryScreen().availableGeometry()
    first.resize(available.width() - 100, available.height() - 120)
    first.move(available.topLeft() + QPoint(37, 61))  # below the top: Qt moves a title bar off the screen
    assert first.size() != QSize(*geometry.initial_size())
    main, right = splitters(first)
    main.setSizes([420, main.width() - 420 - main.handleWidth()])
    right.setSizes([200, right.height() - 200 - right.handleWidth()])
    qtbot.waitUntil(lambda: first.pos() == available.topLeft() + QPoint(37, 61))
    shown = (first.geometry(), main.sizes(), right.sizes())
    assert shown[1][0] == 420 and shown[2][0] == 200
    first.close()

    second = open_window(qtbot, ini)
    main, right = splitters(second)
    assert second.geometry() == shown[0]
    assert (main.sizes(), right.sizes()) == (shown[1], shown[2])
    second.close()


def test_without_saved_geometry_the_window_is_sized_from_the_screen(ini, qtbot):
    window = open_window(qtbot, ini)
    assert (window.width(), window.height()) == geometry.initial_size()
    window.close()


def test_a_saved_geometry_off_every_screen_is_ignored(ini, qtbot):
    first = open_window(qtbot, ini)
    first.resize(500, 400)
    first.close()
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    assert settings.contains("window/geometry")
    screens = QRect()
    for screen in QGuiApplication.screens():
        screens = screens.united(screen.availableGeometry())
    settings.setValue("window/frame", QRect(screens.right() + 500, screens.bottom() + 500, 500, 400))
    settings.sync()
    assert not geometry.on_a_screen(QRect(screens.right() + 500, screens.bottom() + 500, 500, 400))
    second = open_window(qtbot, ini)
    assert (second.width(), second.height()) == geometry.initial_size() != (500, 400)
    second.close()


def test_an_opened_file_is_first_in_open_recent_and_clicking_it_opens_it(ini, qtbot, tmp_path):
    other = small_config()
    other.problem.noise_sigma, other.problem.seed = 0.05, 5
    save_config(other, tmp_path / "noisier.toml")
    window = open_window(qtbot, ini)
    window.open_path(tmp_path / "noisier.toml")
    wait_built(qtbot, window)
    assert (window.run.config.problem.noise_sigma, window.run.config.problem.seed) == (0.05, 5)
    recent = window.document.recent
    assert recent.paths()[0] == tmp_path / "noisier.toml"
    window.close()

    second = open_window(qtbot, ini)  # remembered: the next start's menu has it first
    assert second.run.config.problem.seed != 5
    menu = second.document.recent.menu
    entry = menu.actions()[0]
    assert entry.text().endswith("noisier.toml") and entry.isEnabled()
    menu.popup(second.mapToGlobal(QPoint(10, 10)))
    qtbot.waitExposed(menu)
    entry = menu.actions()[0]  # the menu is rebuilt when it opens
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(entry).center())
    wait_built(qtbot, second)
    assert (second.run.config.problem.noise_sigma, second.run.config.problem.seed) == (0.05, 5)
    second.close()


def test_a_recent_file_that_is_gone_is_disabled_and_removed_with_a_message(ini, qtbot, tmp_path):
    config = small_config()
    for name in ("kept.toml", "gone.toml"):
        save_config(config, tmp_path / name)
    window = open_window(qtbot, ini)
    for name in ("kept.toml", "gone.toml"):
        window.document.recent.add(tmp_path / name)
    (tmp_path / "gone.toml").unlink()
    menu = window.document.recent.menu
    menu.popup(window.mapToGlobal(QPoint(10, 10)))
    qtbot.waitExposed(menu)
    gone, kept = menu.actions()[:2]
    assert gone.text().endswith("gone.toml") and not gone.isEnabled() and "no longer exists" in gone.toolTip()
    assert kept.text().endswith("kept.toml") and kept.isEnabled()
    menu.hide()
    errors = list(window.errors)
    before = window.run
    assert window.document.recent.open(tmp_path / "gone.toml") is False  # vanished after the menu opened
    assert "no longer exists" in window.statusBar().currentMessage()
    assert window.document.recent.paths() == [tmp_path / "kept.toml"]
    assert window.errors == errors and window.run is before
    window.close()


def test_clear_empties_open_recent(ini, qtbot, tmp_path):
    window = open_window(qtbot, ini)
    save_config(small_config(), tmp_path / "a.toml")
    window.document.recent.add(tmp_path / "a.toml")
    menu = window.document.recent.menu
    clear = [action for action in menu.actions() if "Clear" in action.text()][0]
    clear.trigger()
    assert window.document.recent.paths() == []
    assert QSettings(str(ini), QSettings.Format.IniFormat).value("recent/files") in (None, [], "")
    assert [action.text() for action in menu.actions() if action.text()][0] == "(none)"
    window.close()


def test_the_open_and_save_dialogs_start_in_the_last_folder_used(ini, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    configs, sessions = tmp_path / "configs", tmp_path / "sessions"
    configs.mkdir()
    sessions.mkdir()
    save_config(small_config(), configs / "a.toml")
    asked = []

    def get_open(parent, caption, folder, *args, **kwargs):
        asked.append(("open", folder))
        return str(configs / "a.toml"), ""

    def get_folder(parent, caption, folder, *args, **kwargs):
        asked.append(("save", folder))
        return str(sessions / "run1")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", get_open)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", get_folder)
    window = open_window(qtbot, ini)
    window.editor.open_dialog()
    wait_built(qtbot, window)
    window.editor.save_dialog()
    qtbot.waitUntil(lambda: (sessions / "run1" / "session.toml").exists(), timeout=60000)
    window.close()
    second = open_window(qtbot, ini)
    second.editor.open_dialog()
    wait_built(qtbot, second)
    second.editor.save_dialog()
    qtbot.waitUntil(lambda: window.worker.jobs_pending == 0, timeout=60000)
    assert asked[2:] == [("open", str(configs)), ("save", str(sessions))]
    assert asked[0][1] != str(configs) and asked[1][1] != str(sessions)
    second.close()


def test_recent_files_with_the_same_name_show_their_folders(ini, qtbot, tmp_path):
    window = open_window(qtbot, ini)
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        save_config(small_config(), tmp_path / folder / "sr.toml")
        window.document.recent.add(tmp_path / folder / "sr.toml")
    texts = [action.text() for action in window.document.recent.menu.actions()[:2]]
    assert texts == [f"&1 sr.toml — {tmp_path / 'two'}", f"&2 sr.toml — {tmp_path / 'one'}"]
    window.close()


def test_a_real_start_uses_the_user_settings_and_names_its_file(ini, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from workbench import app
    from workbench.main_window import MainWindow

    save_config(small_config(), tmp_path / "butterfly_sr.toml")
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)  # run_gui returns once the window is shown
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run_gui installs its slot guard
    before = set(QApplication.topLevelWidgets())
    assert app.run_gui(str(tmp_path / "butterfly_sr.toml"), autosave_dir=None) == 0
    (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w not in before]
    qtbot.addWidget(window)
    assert window.windowHandle().title() == "butterfly_sr.toml — Convergence Workbench"
    window.close()
    user = QSettings(str(tmp_path / "user" / ORGANIZATION / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    assert Store(user).strings("recent/files") == [str(tmp_path / "butterfly_sr.toml")]
    assert user.contains("window/geometry")
