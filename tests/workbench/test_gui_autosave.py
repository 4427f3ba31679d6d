"""Autosave (issue 9, items 2, 3 and 16): a restored autosave is not overwritten with less while it
is replayed; a second instance leaves a running instance's autosave and marker alone and a dead
PID in the marker means a crash; a full disk shows one persistent warning and retries quietly."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

from PySide6.QtWidgets import QMessageBox
from test_gui_window import lane_steps, wait_idle

from core.engine import Run
from core.session import read_metrics_csv, save_session


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def saved_iterations(folder) -> int:
    return max(len(table["iteration"]) for table in read_metrics_csv(folder / "metrics.csv").values())


def save_and_wait(qtbot, window, folder) -> None:
    """Ask for an autosave and wait until the folder was swapped for a new one."""
    before = (folder / "session.toml").stat().st_ino if (folder / "session.toml").exists() else None
    window.autosaver.save_now()
    qtbot.waitUntil(
        lambda: (folder / "session.toml").exists() and (folder / "session.toml").stat().st_ino != before, timeout=30000
    )


def denoise_config():
    from conftest import small_config

    config = small_config()
    config.problem.degradation = "denoise"
    config.problem.params = {}
    return config


def test_a_restored_autosave_keeps_what_it_holds_until_the_replay_has_caught_up(qtbot, tmp_path):
    from workbench.app import make_app, start
    from workbench.autosave import MARKER
    from workbench.main_window import MainWindow

    run = Run(denoise_config())
    run.step(30)
    autosave = save_session(run, tmp_path / ".autosave")
    (autosave / MARKER).write_text(str(dead_pid()))  # the instance that wrote it crashed
    make_app()
    begun = start(None, autosave, ask_restore=lambda: True)
    assert begun.restored and begun.replay == 30 and begun.autosave_dir == autosave
    window = MainWindow(begun.run.config, autosave_dir=begun.autosave_dir, run=begun.run)
    qtbot.addWidget(window)
    window.replay(begun.replay, restored=True)
    window.worker.set_paused(True)  # the replay is still far behind
    wait_idle(qtbot, window)
    assert max(lane_steps(window)) < 30
    window.autosaver.save_now()  # as the periodic timer does
    window.autosaver._tick()
    qtbot.wait(200)
    assert saved_iterations(autosave) == 30
    window.replay(begun.replay, restored=True)  # the replay catches up: saves go on
    qtbot.waitUntil(lambda: lane_steps(window) == [30, 30], timeout=60000)
    wait_idle(qtbot, window)
    save_and_wait(qtbot, window, autosave)
    assert saved_iterations(autosave) == 30
    window.step(2)
    wait_idle(qtbot, window)
    save_and_wait(qtbot, window, autosave)
    assert saved_iterations(autosave) == 32
    window.close()


def test_a_second_instance_leaves_the_running_instance_alone_and_a_dead_pid_is_a_crash(qtbot, tmp_path):
    from conftest import small_config

    from workbench.app import make_app, start
    from workbench.autosave import MARKER, marker_owner_alive, unclean_autosave
    from workbench.main_window import MainWindow

    run = Run(denoise_config())
    run.step(2)
    autosave = save_session(run, tmp_path / ".autosave")
    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (autosave / MARKER).write_text(str(first.pid))  # the first instance is running
        assert marker_owner_alive(autosave) and unclean_autosave(autosave) is None
        asked = []
        make_app()
        begun = start(None, autosave, ask_restore=lambda: asked.append(1) or True)
        assert not asked and not begun.restored
        window = MainWindow(small_config(), autosave_dir=autosave)
        qtbot.addWidget(window)
        own = tmp_path / f".autosave-{os.getpid()}"
        assert window.autosaver.folder == own
        assert (own / MARKER).read_text().split()[0] == str(os.getpid())
        window.step(1)
        wait_idle(qtbot, window)
        save_and_wait(qtbot, window, own)
        assert saved_iterations(own) == 1 and saved_iterations(autosave) == 2
        window.close()
        assert (autosave / MARKER).read_text() == str(first.pid)  # the first one's marker is kept
        assert not own.exists()  # a clean exit of the second one
        (autosave / MARKER).write_text(f"{first.pid} 1")  # same PID, another process start
        assert not marker_owner_alive(autosave)
        (autosave / MARKER).write_text(str(first.pid))
    finally:
        first.kill()
        first.wait()
    assert unclean_autosave(autosave) == autosave  # its process died: a crash
    begun = start(None, autosave, ask_restore=lambda: True)
    assert begun.restored and begun.replay == 2


def test_a_full_disk_during_autosave_shows_one_warning_and_retries_quietly(qtbot, tmp_path, monkeypatch):
    from conftest import small_config

    import core.session
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    real_write = core.session.write_session
    full = {"on": True, "tries": 0}

    def write(folder, *args, **kwargs):
        if full["on"]:
            full["tries"] += 1
            raise OSError(errno.ENOSPC, "No space left on device", str(folder))
        return real_write(folder, *args, **kwargs)

    monkeypatch.setattr(core.session, "write_session", write)
    make_app()
    window = MainWindow(small_config(), autosave_dir=tmp_path / ".autosave")
    qtbot.addWidget(window)
    window.show()
    window.autosaver._periodic.setInterval(100)  # retries every 0.1 s in the test
    window.autosaver.save_now()
    qtbot.waitUntil(lambda: full["tries"] >= 3, timeout=30000)  # retried while nothing plays
    warning = window.status_autosave
    assert warning.isVisible() and "No space left on device" in warning.text()
    assert "retrying" in warning.text()
    assert not window.errors and not [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    full["on"] = False  # space again: the next retry saves
    qtbot.waitUntil(lambda: (tmp_path / ".autosave" / "session.toml").exists(), timeout=30000)
    qtbot.waitUntil(lambda: not warning.isVisible(), timeout=10000)
    window.close()


def test_an_autosave_folder_that_cannot_be_created_is_a_warning_not_a_crash(qtbot, tmp_path):
    from conftest import small_config

    from workbench.app import make_app
    from workbench.main_window import MainWindow

    (tmp_path / "file").write_text("not a folder")
    make_app()
    window = MainWindow(small_config(), autosave_dir=tmp_path / "file" / ".autosave")
    qtbot.addWidget(window)
    window.show()
    assert window.status_autosave.isVisible() and "autosave to" in window.status_autosave.text()
    assert not window.errors
    window.close()
