"""Cyclic garbage is collected in the GUI thread only (workbench.main_thread_gc)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from workbench.app import make_app
from workbench.main_thread_gc import installed_collector


class _Cycle:
    def __init__(self):
        self.me = self
        self.qobject = QObject()


def test_garbage_made_and_abandoned_in_a_thread_is_collected_in_the_main_thread(qtbot):
    make_app()
    assert installed_collector() is not None and not gc.isenabled()
    collected_in: list[str] = []

    def record(phase, info):
        if phase == "stop" and info["collected"]:
            collected_in.append(threading.current_thread().name)

    refs: list[weakref.ref] = []
    kept: list[list] = []

    def worker():
        for _ in range(50):
            cycle = _Cycle()
            refs.append(weakref.ref(cycle))
            del cycle
        # allocations far past the first threshold, kept alive: the automatic collector would
        # run in this thread, and the main-thread collector sees the same counts
        kept.append([[] for _ in range(3 * gc.get_threshold()[0])])

    gc.collect()
    gc.callbacks.append(record)
    try:
        thread = threading.Thread(target=worker, name="lane-worker")
        thread.start()
        thread.join()
        assert all(ref() is not None for ref in refs), "collected in the worker thread"
        qtbot.waitUntil(lambda: all(ref() is None for ref in refs), timeout=5000)
    finally:
        gc.callbacks.remove(record)
    assert "lane-worker" not in collected_in and threading.main_thread().name in collected_in
