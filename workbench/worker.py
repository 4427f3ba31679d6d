"""The solver worker: a QObject in a QThread that pulls steps from the engine.

Control (pause / step n / run to convergence / stop / speed cap) goes through flags under a
``QMutex`` with a ``QWaitCondition`` — queued signals would not reach the busy loop. The worker
publishes the latest ``RunSnapshot`` (detached numpy copies) at most every ``publish_interval``
seconds and whenever it pauses; a GUI timer pulls it with ``latest()``. Every access to the
``Run`` (stepping by the worker, edits by the GUI) happens under ``run_lock``, so a GUI edit
waits at most one iteration.
"""
from __future__ import annotations

import time
import traceback

from PySide6.QtCore import (
    QMutex,
    QMutexLocker,
    QObject,
    QThread,
    QWaitCondition,
    Signal,
    Slot,
)


class RunWorker(QObject):
    """Steps a ``core.engine.Run`` in a background thread.

    Signals
    -------
    failed(str, str)
        Summary and traceback of an exception raised by the engine (the worker pauses and
        goes on serving; the application never closes because of it).
    paused_changed(bool)
        Emitted when the worker pauses or resumes by itself (budget exhausted, run done).
    """

    failed = Signal(str, str)
    saved = Signal(str)
    paused_changed = Signal(bool)
    finished = Signal()

    def __init__(self, run, publish_interval: float = 1 / 30):
        super().__init__()
        self.run = run
        self.publish_interval = publish_interval
        self.run_lock = QMutex()
        self._mutex = QMutex()
        self._wake = QWaitCondition()
        self._paused = True
        self._budget = 0            # steps left for "step n" while paused
        self._target = None         # run to this iteration (None: to run.iterations)
        self._full_speed = False    # ignore the speed cap ("run to end", replaying a session)
        self._stop = False
        self._save_to = None        # folder of a pending background save (autosave)
        self._max_rate = 0.0        # iterations per second, 0 = unlimited
        self._latest = None
        self._last_publish = 0.0
        self.publish()

    # control (called from the GUI thread) ----------------------------------------------
    def set_paused(self, paused: bool) -> None:
        """Pause (takes effect before the next iteration starts) or resume playing."""
        with QMutexLocker(self._mutex):
            self._paused = paused
            self._budget = 0
            self._target = None
            self._full_speed = False
            self._wake.wakeAll()

    def step(self, n: int = 1) -> None:
        """Advance ``n`` iterations, then pause."""
        with QMutexLocker(self._mutex):
            self._paused = True
            self._target = None
            self._budget += int(n)
            self._wake.wakeAll()

    def run_to_convergence(self) -> None:
        """Play at full speed until every lane has stopped or the iteration limit is reached."""
        with QMutexLocker(self._mutex):
            self._paused = False
            self._budget = 0
            self._target = None
            self._full_speed = True
            self._wake.wakeAll()

    def run_to(self, target: int) -> None:
        """Play at full speed until every lane has reached iteration ``target`` or stopped."""
        with QMutexLocker(self._mutex):
            self._paused = False
            self._budget = 0
            self._target = int(target)
            self._full_speed = True
            self._wake.wakeAll()

    def set_max_rate(self, rate: float) -> None:
        """Speed cap in iterations per second (0 or less: unlimited)."""
        with QMutexLocker(self._mutex):
            self._max_rate = max(0.0, float(rate))
            self._wake.wakeAll()

    def request_save(self, folder) -> None:
        """Save the session into ``folder`` from the worker thread, between two iterations."""
        with QMutexLocker(self._mutex):
            self._save_to = folder
            self._wake.wakeAll()

    def _save_pending(self) -> None:
        from core.session import save_session

        with QMutexLocker(self._mutex):
            folder, self._save_to = self._save_to, None
        try:
            with QMutexLocker(self.run_lock):
                save_session(self.run, folder)
        except Exception as exc:  # a failed autosave is reported, never fatal
            self.failed.emit(f"autosave to {folder} failed: {exc}", traceback.format_exc())
            return
        self.saved.emit(str(folder))

    def stop(self) -> None:
        """Ask the loop to end (it finishes the current iteration first)."""
        with QMutexLocker(self._mutex):
            self._stop = True
            self._wake.wakeAll()

    @property
    def is_playing(self) -> bool:
        with QMutexLocker(self._mutex):
            return not self._paused or self._budget > 0

    def latest(self):
        """The most recently published ``RunSnapshot``."""
        with QMutexLocker(self._mutex):
            return self._latest

    def publish(self) -> None:
        """Take a snapshot of the run now (any thread) and make it the latest."""
        with QMutexLocker(self.run_lock):
            snapshot = self.run.snapshot()
        with QMutexLocker(self._mutex):
            self._latest = snapshot
            self._last_publish = time.perf_counter()

    def replace_run(self, run) -> None:
        """Swap in a new ``Run`` (new problem); pauses."""
        with QMutexLocker(self.run_lock):
            self.run = run
        self.set_paused(True)
        self.publish()

    # loop (worker thread) ---------------------------------------------------------------
    def _next_action(self) -> str:
        """Block until there is something to do; return "step", "save" or "stop"."""
        with QMutexLocker(self._mutex):
            while not self._stop and self._paused and self._budget <= 0 and self._save_to is None:
                self._wake.wait(self._mutex)
            if self._stop:
                return "stop"
            if self._save_to is not None:
                return "save"
            if self._budget > 0:
                self._budget -= 1
            return "step"

    def _pause_self(self) -> None:
        with QMutexLocker(self._mutex):
            self._paused = True
            self._budget = 0
            self._target = None
        self.paused_changed.emit(True)

    def _throttle(self, started: float) -> None:
        with QMutexLocker(self._mutex):
            if self._max_rate <= 0 or self._full_speed or self._paused or self._stop:
                return
            remaining = 1.0 / self._max_rate - (time.perf_counter() - started)
            if remaining > 0:
                self._wake.wait(self._mutex, int(remaining * 1000))

    @Slot()
    def loop(self) -> None:
        """Main loop; runs until ``stop()``."""
        while (action := self._next_action()) != "stop":
            if action == "save":
                self._save_pending()
                continue
            started = time.perf_counter()
            with QMutexLocker(self._mutex):
                stepping = self._paused          # a "step n" request steps past the limit
                target = self._target
            try:
                with QMutexLocker(self.run_lock):
                    run = self.run
                    active = any(lane.active for lane in run.lanes)
                    finished = (not active if stepping else
                                run.done if target is None else self._reached(run, target))
                    if not finished:
                        run.step(1)
                        finished = (not any(lane.active for lane in run.lanes) if stepping else
                                    run.done if target is None else self._reached(run, target))
            except Exception as exc:  # engine errors are shown, never fatal
                self._pause_self()
                self.publish()
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            with QMutexLocker(self._mutex):
                idle = self._paused and self._budget <= 0
                due = time.perf_counter() - self._last_publish >= self.publish_interval
            if finished:
                self._pause_self()
            if finished or idle or due:
                self.publish()
            self._throttle(started)
        self.finished.emit()

    @staticmethod
    def _reached(run, target: int) -> bool:
        return all(not lane.active or lane.k >= target for lane in run.lanes)


def start_worker(worker: RunWorker) -> QThread:
    """Move ``worker`` to a new thread, start its loop and return the thread."""
    thread = QThread()
    thread.setObjectName("solver-worker")
    worker.moveToThread(thread)
    thread.started.connect(worker.loop)
    worker.finished.connect(thread.quit)
    thread.start()
    return thread


def stop_worker(worker: RunWorker, thread: QThread, timeout_ms: int = 30000) -> bool:
    """Stop the loop and join the thread; True when it ended within ``timeout_ms``."""
    worker.stop()
    thread.quit()
    return thread.wait(timeout_ms)
