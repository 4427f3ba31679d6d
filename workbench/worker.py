"""The solver worker: a QObject in a QThread that pulls steps from the engine.

Control is one :class:`Control` value (a :class:`Mode` and the data that mode needs) under a
``QMutex`` with a ``QWaitCondition`` — queued signals would not reach the busy loop. The worker
publishes the latest ``RunSnapshot`` (detached numpy copies) at most every ``publish_interval``
seconds and whenever it pauses; a GUI timer pulls it with ``latest()``. Every access to the
``Run`` (stepping by the worker, edits by the GUI) happens under ``run_lock``, so a GUI edit
waits at most one iteration.
"""

from __future__ import annotations

import enum
import time
import traceback
from dataclasses import dataclass

from PySide6.QtCore import (
    QMutex,
    QMutexLocker,
    QObject,
    Qt,
    QThread,
    QWaitCondition,
    Signal,
    Slot,
)

from core.engine import NO_LIMIT


class Mode(enum.Enum):
    """What the worker loop is doing."""

    PAUSED = "paused"  # waiting (a pending save still runs)
    STEPPING = "stepping"  # ``steps_left`` more iterations, then PAUSED; may pass the limit
    PLAYING = "playing"  # speed-capped, until the iteration limit
    RUN_TO_END = "run to end"  # full speed until ``target`` (None: the iteration limit)
    STOPPING = "stopping"  # the loop ends after the current iteration; final


@dataclass(frozen=True)
class Control:
    """The worker's control state: a mode and the data that mode needs.

    Parameters
    ----------
    mode : Mode
    steps_left : int
        Iterations still to take (``Mode.STEPPING`` only).
    target : int, optional
        Iteration to run to (``Mode.RUN_TO_END`` only; None: the run's iteration limit).
    """

    mode: Mode = Mode.PAUSED
    steps_left: int = 0
    target: int | None = None

    @property
    def is_playing(self) -> bool:
        """True while the loop has iterations to take."""
        return self.mode in (Mode.STEPPING, Mode.PLAYING, Mode.RUN_TO_END)

    @property
    def limit(self) -> float | None:
        """Iteration limit for ``Run.finished`` under this control (None: the run's own)."""
        if self.mode is Mode.STEPPING:
            return NO_LIMIT  # a step request may pass the iteration limit
        return self.target

    def after_step(self) -> Control:
        """The control once one iteration has been taken (STEPPING counts down to PAUSED)."""
        if self.mode is not Mode.STEPPING:
            return self
        return Control(Mode.STEPPING, self.steps_left - 1) if self.steps_left > 1 else Control()


class RunWorker(QObject):
    """Steps a ``core.engine.Run`` in a background thread.

    Signals
    -------
    failed(str, str)
        Summary and traceback of an exception raised by the engine (the worker pauses and
        goes on serving; the application never closes because of it).
    paused_changed(bool)
        Emitted when the worker pauses by itself (run done, engine error).
    saved(str)
        A background save (:meth:`request_save`) wrote this folder.
    save_failed(str, str)
        A background save failed: summary and traceback (the autosave shows one warning and
        retries; the run goes on).
    nothing_to_run(str)
        A play / run-to-end / step request found nothing to do and paused: ``"limit"`` (every
        running lane is at the iteration limit), ``"stopped"`` (every lane has stopped) or
        ``"no lanes"``.
    """

    failed = Signal(str, str)
    saved = Signal(str)
    save_failed = Signal(str, str)
    paused_changed = Signal(bool)
    nothing_to_run = Signal(str)
    finished = Signal()

    def __init__(self, run, publish_interval: float = 1 / 30):
        super().__init__()
        self.run = run
        self.publish_interval = publish_interval
        self.run_lock = QMutex()
        self._mutex = QMutex()
        self._wake = QWaitCondition()
        self._control = Control()
        self._save_to = None  # folder of a pending background save (autosave)
        self._max_rate = 0.0  # iterations per second, 0 = unlimited
        self._latest = None
        self._last_publish = 0.0
        self.publish()

    # control (called from the GUI thread) ----------------------------------------------
    def _set_control(self, control: Control) -> None:
        """Switch to ``control`` (caller holds ``_mutex``); STOPPING is final."""
        if self._control.mode is not Mode.STOPPING:
            self._control = control
        self._wake.wakeAll()

    def set_paused(self, paused: bool) -> None:
        """Pause (takes effect before the next iteration starts) or resume playing."""
        with QMutexLocker(self._mutex):
            self._set_control(Control(Mode.PAUSED if paused else Mode.PLAYING))

    def step(self, n: int = 1) -> None:
        """Advance ``n`` iterations (added to a pending step request), then pause."""
        with QMutexLocker(self._mutex):
            pending = self._control.steps_left if self._control.mode is Mode.STEPPING else 0
            steps = pending + int(n)
            self._set_control(Control(Mode.STEPPING, steps) if steps > 0 else Control())

    def run_to_convergence(self) -> None:
        """Play at full speed until every lane has stopped or the iteration limit is reached."""
        with QMutexLocker(self._mutex):
            self._set_control(Control(Mode.RUN_TO_END))

    def run_to(self, target: int) -> None:
        """Play at full speed until every lane has reached iteration ``target`` or stopped."""
        with QMutexLocker(self._mutex):
            self._set_control(Control(Mode.RUN_TO_END, target=int(target)))

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
            self.save_failed.emit(f"autosave to {folder} failed: {exc}", traceback.format_exc())
            return
        self.saved.emit(str(folder))

    def stop(self) -> None:
        """Ask the loop to end (it finishes the current iteration first)."""
        with QMutexLocker(self._mutex):
            self._set_control(Control(Mode.STOPPING))

    @property
    def mode(self) -> Mode:
        """The current :class:`Mode`."""
        with QMutexLocker(self._mutex):
            return self._control.mode

    @property
    def is_playing(self) -> bool:
        with QMutexLocker(self._mutex):
            return self._control.is_playing

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
    def _next_action(self) -> tuple[str, Control]:
        """Block until there is something to do; return "step", "save" or "stop" and the
        control the iteration runs under (a step request is counted down here)."""
        with QMutexLocker(self._mutex):
            while self._control.mode is Mode.PAUSED and self._save_to is None:
                self._wake.wait(self._mutex)
            control = self._control
            if control.mode is Mode.STOPPING:
                return "stop", control
            if self._save_to is not None:
                return "save", control
            self._control = control.after_step()
            return "step", control

    def _pause_self(self) -> None:
        with QMutexLocker(self._mutex):
            self._set_control(Control())
        self.paused_changed.emit(True)

    def _throttle(self, started: float) -> None:
        with QMutexLocker(self._mutex):
            if self._max_rate <= 0 or self._control.mode is not Mode.PLAYING:
                return
            remaining = 1.0 / self._max_rate - (time.perf_counter() - started)
            if remaining > 0:
                self._wake.wait(self._mutex, int(remaining * 1000))

    @Slot()
    def loop(self) -> None:
        """Main loop; runs until ``stop()``."""
        while True:
            action, control = self._next_action()
            if action == "stop":
                break
            if action == "save":
                self._save_pending()
                continue
            started = time.perf_counter()
            try:
                with QMutexLocker(self.run_lock):
                    run = self.run
                    finished = run.finished(control.limit)
                    idle_reason = self._idle_reason(run, control) if finished else None
                    if not finished:
                        run.step(1)
                        finished = run.finished(control.limit)
            except Exception as exc:  # engine errors are shown, never fatal
                self._pause_self()
                self.publish()
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            with QMutexLocker(self._mutex):
                idle = self._control.mode is Mode.PAUSED
                due = time.perf_counter() - self._last_publish >= self.publish_interval
            if finished:
                self._pause_self()
            if finished or idle or due:
                self.publish()
            if idle_reason is not None:
                self.nothing_to_run.emit(idle_reason)
            self._throttle(started)
        self.finished.emit()

    @staticmethod
    def _idle_reason(run, control: Control) -> str | None:
        """Why a request finds nothing to run (None for replays to a target iteration)."""
        if control.target is not None:
            return None
        if not run.lanes:
            return "no lanes"
        return "stopped" if run.finished(NO_LIMIT) else "limit"


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
