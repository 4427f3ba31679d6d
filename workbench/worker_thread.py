"""The solver worker's thread: start it, stop it, and keep a stopping one alive until it ends
(destroying a running ``QThread`` aborts the process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Slot

if TYPE_CHECKING:
    from .worker import RunWorker


def start_worker(worker: RunWorker) -> QThread:
    """Move ``worker`` to a new thread, start its loop and return the thread."""
    thread = QThread()
    thread.setObjectName("solver-worker")
    worker.moveToThread(thread)
    thread.started.connect(worker.loop)
    # direct: the thread's event loop ends as soon as the loop returns, even while the GUI waits
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread


def stop_worker(worker: RunWorker, thread: QThread, timeout_ms: int = 200) -> bool:
    """Ask the loop to stop and wait at most ``timeout_ms`` for its thread to end.

    Returns True when the thread has ended. On False the worker is still finishing its current
    iteration: the thread and the worker are kept alive until then (see
    :func:`keep_until_finished`), so that nothing destroys a running thread.
    """
    worker.stop()
    thread.quit()
    if thread.wait(timeout_ms):
        return True
    keep_until_finished(worker, thread)
    return False


class _Keeper(QObject):
    """Holds stopping workers and their threads until each thread has ended (GUI thread)."""

    def __init__(self):
        super().__init__()
        self.pending: dict[QThread, RunWorker] = {}

    def keep(self, worker: RunWorker, thread: QThread) -> None:
        if thread not in self.pending:
            self.pending[thread] = worker
            thread.finished.connect(self._release)  # queued into the GUI thread

    @Slot()
    def _release(self) -> None:
        for thread in [t for t in self.pending if t.isFinished() or t.wait(50)]:
            del self.pending[thread]


_keeper: _Keeper | None = None


def keep_until_finished(worker: RunWorker, thread: QThread) -> None:
    """Keep ``worker`` and ``thread`` referenced until the thread has ended (call from the GUI
    thread): destroying a running ``QThread`` aborts the process, and the window that owns
    them may be deleted first."""
    global _keeper
    if _keeper is None:
        _keeper = _Keeper()
    _keeper.keep(worker, thread)
