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


@pytest.fixture
def slow_solver(monkeypatch):
    """Register ``_test_slow``: every step sleeps ``STEP_SECONDS``; the event tells that a step began."""
    in_step = threading.Event()

    def slow(problem):
        x = problem.x0.clone()
        k = 0
        while True:
            in_step.set()
            time.sleep(STEP_SECONDS)
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
    qtbot.mouseClick(window.transport.play, Qt.MouseButton.LeftButton)
    assert window.worker.is_playing
    qtbot.waitUntil(slow_solver.is_set, timeout=20000)
    thread = window.thread
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 0.9 * STEP_SECONDS  # the GUI thread did not wait
    # the iteration is still running: the window stays, says so, and takes no edits
    assert thread.isRunning() and window.isVisible() and window.stopping
    assert "stopping" in window.statusBar().currentMessage()
    assert not window.centralWidget().isEnabled()
    window.close()  # a second request changes nothing
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert time.perf_counter() - started < 5.0
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
