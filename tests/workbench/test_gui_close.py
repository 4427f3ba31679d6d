"""Closing the main window while the worker is inside a long iteration ends cleanly: the close
waits for the iteration (window shows that it is stopping), never destroys a running thread,
and the autosave's crash marker is removed."""

from __future__ import annotations

from PySide6.QtCore import Qt


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

    from workbench import worker_thread as worker_module
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
