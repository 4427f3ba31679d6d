"""The installed Qt binding must not corrupt Python's reference count of ``None``.

PySide6 6.12.0 on CPython < 3.12 drops one reference to ``None`` per call of any
``None``-returning Qt method; a solver worker that locks a mutex per iteration then aborts the
interpreter with "deallocating None" within seconds (see ../shared/reference/gui.md).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QMutex, QObject, QTimer  # noqa: E402


def _drift(call, n=1000):
    before = sys.getrefcount(None)
    for _ in range(n):
        call()
    return sys.getrefcount(None) - before


def test_void_qt_calls_keep_none_refcount():
    timer = QTimer()
    obj = QObject()
    mutex = QMutex()
    assert abs(_drift(lambda: timer.setInterval(5))) <= 2
    assert abs(_drift(lambda: obj.setObjectName("worker"))) <= 2

    def lock_unlock():
        mutex.lock()
        mutex.unlock()

    assert abs(_drift(lock_unlock)) <= 2
