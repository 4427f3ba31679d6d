"""Cyclic garbage collection in the GUI thread only.

Python's cyclic collector runs in whichever thread happens to allocate past a threshold: in the
workbench that is often the worker or a training thread. When such a collection frees Qt
objects (the widgets of a closed dialog, a menu), PySide defers their deletion to the main
thread, and that deletion was seen to deadlock inside ``QObject::~QObject``. So the GUI turns
automatic collection off and collects from a timer in the main thread, with the same
generation thresholds Python would use (the pattern pyqtgraph's ``GarbageCollector`` uses).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_collector: MainThreadCollector | None = None


class MainThreadCollector(QObject):
    """Disable automatic collection and collect on a main-thread timer.

    Parameters
    ----------
    interval_ms : int
        How often the generation counts are checked (a check without a collection is a few
        integer comparisons).
    """

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None):
        super().__init__(parent)
        self.collections = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.enable()

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold, as Python would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                self.collections += 1
                return


def install_main_thread_gc(interval_ms: int = 500) -> MainThreadCollector:
    """Install (once per process) the main-thread collector; call it from the GUI thread after
    the QApplication exists."""
    global _collector
    if _collector is None:
        _collector = MainThreadCollector(interval_ms)
        _collector.start()
    return _collector


def installed_collector() -> MainThreadCollector | None:
    """The collector :func:`install_main_thread_gc` installed, if any."""
    return _collector
