"""Closing the main window while the worker is inside a long iteration ends cleanly: the close
waits for the iteration (window shows that it is stopping), never destroys a running thread,
and the autosave's crash marker is removed."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt

from core.registry import SOLVERS, Entry
from core.solvers.base import Step

STEP_SECONDS = 1.0
#: a held step ends when the test releases it, or after this long (so a broken close fails, not hangs)
HOLD_LIMIT_SECONDS = 30.0


class SlowSteps(threading.Event):
    """Set when a step began. ``hold()`` makes the next steps wait for ``release``."""

    def __init__(self):
        super().__init__()
        self.held = False
        self.release = threading.Event()
        self.released_by_timeout = False

    def hold(self):
        self.held = True

    def wait_in_step(self):
        if not self.held:
            time.sleep(STEP_SECONDS)
        elif not self.release.wait(HOLD_LIMIT_SECONDS):
            self.released_by_timeout = True


@pytest.fixture
def slow_solver(monkeypatch):
    """Register ``_test_slow``: every step sleeps ``STEP_SECONDS`` (or waits while held); the
    returned event tells that a step began."""
    in_step = SlowSteps()

    def slow(problem):
        x = problem.x0.clone()
        k = 0
        while True:
            in_step.set()
            in_step.wait_in_step()
            k += 1
            yield Step(k, x)

    monkeypatch.setitem(
        SOLVERS,
        "_test_slow",
        Entry(
            "_test_slow",
            slow,
            (),
            "sleeps at every step",
            {"kind": "solver", "needs_prior": False, "needs_denoiser": False, "learned": False},
        ),
    )
    return in_step


def test_closing_during_a_slow_iteration_waits_for_it_and_closes_cleanly(qtbot, tmp_path, slow_solver):
    from conftest import small_config

    from workbench.app import make_app
    from workbench.autosave import MARKER
    from workbench.main_window import MainWindow

    make_app()
    window = MainWindow(small_config(), autosave_dir=tmp_path / ".autosave")
    qtbot.addWidget(window)
    window.show()
    window.on_lane_changed(0, {"label": "SLOW", "solver": "_test_slow", "params": {}})
    assert window.run.lanes[0].spec.solver == "_test_slow"
    slow_solver.hold()  # the step in progress ends only when the test says so
    qtbot.mouseClick(window.transport.play, Qt.MouseButton.LeftButton)
    assert window.worker.is_playing
    qtbot.waitUntil(slow_solver.is_set, timeout=20000)
    thread = window.thread
    window.close()
    # close() returned while the step is still held: the GUI thread did not wait for it
    assert not slow_solver.release.is_set() and not slow_solver.released_by_timeout
    # the iteration is still running: the window stays, says so, and takes no edits
    assert thread.isRunning() and window.isVisible() and window.stopping
    assert "stopping" in window.statusBar().currentMessage()
    assert not window.centralWidget().isEnabled()
    window.close()  # a second request changes nothing
    assert thread.isRunning() and window.isVisible()
    slow_solver.release.set()  # the step ends: the window closes
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert not slow_solver.released_by_timeout
    assert thread.isFinished() and window.thread is None
    assert not (tmp_path / ".autosave" / MARKER).exists()  # a clean exit


def test_a_window_deleted_while_stopping_keeps_its_thread_alive_until_it_ends(qtbot, slow_solver):
    import gc
    import weakref

    from conftest import small_config

    from workbench import worker as worker_module
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    make_app()
    window = MainWindow(small_config(), autosave_dir=None)
    window.show()
    window.on_lane_changed(0, {"label": "SLOW", "solver": "_test_slow", "params": {}})
    qtbot.mouseClick(window.transport.play, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(slow_solver.is_set, timeout=20000)
    thread = weakref.ref(window.thread)
    window.close()
    assert window.stopping
    window.deleteLater()  # as pytest-qt does after a test
    del window
    qtbot.wait(50)
    gc.collect()
    assert thread() is not None and thread().isRunning()  # kept, not destroyed while running
    qtbot.waitUntil(lambda: not worker_module._keeper.pending, timeout=10000)
