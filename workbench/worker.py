"""The solver worker: a QObject in a QThread that pulls steps from the engine.

Control is one :class:`Control` value (a :class:`Mode` and the data that mode needs) under a
``QMutex`` with a ``QWaitCondition`` — queued signals would not reach the busy loop. The worker
holds ``run_lock`` across each step; nothing in the GUI thread ever waits for it:

* edits, reads of kept iterates and run swaps are jobs (:meth:`RunWorker.submit`): the worker
  applies them between two lanes of a lockstep (where no lane is mid-step), or the GUI thread
  at once when the worker is idle and the lock is free; their results come back to the GUI
  thread through a callback. Run settings (``settings_only`` jobs: attribute writes the engine
  reads between steps) apply at once even while a lane steps;
* the worker publishes at most every ``publish_interval`` seconds (and after each job and
  whenever it pauses) only the history recorded since its last publish (:mod:`workbench.feed`);
  the GUI timer pulls the accumulated ``RunSnapshot`` with :meth:`RunWorker.latest`. The
  interval grows while the GUI thread is busy more than ``GUI_SHARE`` of the time: Python lets
  one thread run at a time, so a window that repaints faster than it can afford slows the
  solver (many fast iterations on a small problem).
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QMutex,
    QMutexLocker,
    QObject,
    QWaitCondition,
    Signal,
    Slot,
)

from core.engine import NO_LIMIT

from .feed import HistoryFeed, SnapshotMirror
from .worker_control import Control, Done, Job, Mode, _Courier  # noqa: F401  (re-exported)

#: largest share of the time the GUI thread should spend showing new data
GUI_SHARE = 0.1
#: the longest the worker waits between two publishes while it plays
MAX_PUBLISH_INTERVAL = 0.5


def _apply(job: Job, run) -> tuple[Any, tuple[str, str] | None]:
    """``(job.apply(run), None)``, or ``(None, (summary, traceback))`` when it raised."""
    try:
        return job.apply(run), None
    except Exception as exc:  # a failed edit is reported by its callback
        return None, (f"{type(exc).__name__}: {exc}", traceback.format_exc())


class RunWorker(QObject):
    """Steps a ``core.engine.Run`` in a background thread.

    Signals
    -------
    failed(str, str)
        Summary and traceback of an exception raised by the engine (the worker pauses and
        goes on serving; the application never closes because of it).
    paused_changed(bool)
        Emitted when the worker pauses by itself (run done, engine error).
    nothing_to_run(str)
        A play / run-to-end / step request found nothing to do and paused: ``"limit"`` (every
        running lane is at the iteration limit), ``"stopped"`` (every lane has stopped) or
        ``"no lanes"``.
    """

    failed = Signal(str, str)
    job_done = Signal(object)  # (done, result, error) to the courier in the GUI thread
    paused_changed = Signal(bool)
    nothing_to_run = Signal(str)
    finished = Signal()

    def __init__(self, run, publish_interval: float = 1 / 30):
        super().__init__()
        self.run = run
        self.publish_interval = publish_interval
        self.min_publish_interval = publish_interval
        self._gui_share = 0.0  # the GUI thread's CPU time / wall time (moving average)
        self._gui_mark: tuple[float, float] | None = None  # (thread time, wall time) of the last latest()
        self._clock = lambda: (time.thread_time(), time.perf_counter())
        self.run_lock = QMutex()
        self._mutex = QMutex()
        self._wake = QWaitCondition()
        self._control = Control()
        self._jobs: list[Job] = []  # applied in order where no lane is mid-step
        self._busy = False  # the loop is stepping, publishing or applying jobs (under _mutex)
        self._stepping = False  # a lane is mid-step and no job is being applied (under _mutex)
        self._publish_wanted = False  # a settings job ran beside a step: publish at the next lane boundary
        self._unfinished = 0  # queued jobs whose callback has not run yet (under _mutex)
        self._max_rate = 0.0  # iterations per second, 0 = unlimited
        self._feed = HistoryFeed()  # worker side of the publishes (under run_lock)
        self._pending = []  # published updates the GUI has not pulled yet (under _mutex)
        self._mirror = SnapshotMirror()  # GUI side: the accumulated snapshot
        self._last_publish = 0.0
        self._courier = _Courier(self._job_finished)  # no parent: stays in the GUI thread when the worker moves
        self.job_done.connect(self._courier.deliver)
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

    def submit(self, apply: Callable[[Any], Any], done: Done | None = None, settings_only: bool = False) -> bool:
        """Apply ``apply(run)`` where no lane is mid-step, then call ``done(result, error)`` in the
        GUI thread.

        Never waits for the run lock: when the worker is idle (not playing, no job queued) and
        the lock is free, the job runs at once in the calling thread (and ``done`` is called
        before this returns); otherwise it is queued and the worker applies it after the lane
        it is stepping (between two lanes of a lockstep, or after it). Each job is followed by a
        publish. Returns True when it ran at once.

        ``settings_only``: ``apply`` only assigns run-level settings (``run.config.run``
        attributes, one Python write each) that the engine reads between steps, never lane state
        or history. Such a job also runs at once while a lane is mid-step (no job queued before
        it); the worker then publishes at its next lane boundary.
        """
        job = Job(apply, done)
        with QMutexLocker(self._mutex):
            beside_step = settings_only and self._stepping and not self._jobs
            if beside_step:
                self._publish_wanted = True
                run = self.run
        if beside_step:
            outcome = _apply(job, run)
            if done is not None:
                done(*outcome)
            return True
        with QMutexLocker(self._mutex):
            idle = (
                not (self._busy or self._control.is_playing or self._jobs) and self._control.mode is not Mode.STOPPING
            )
            if not (idle and self.run_lock.tryLock(0)):
                self._jobs.append(job)
                self._unfinished += 1
                self._wake.wakeAll()
                return False
        try:
            outcome = self._apply_locked(job)
        finally:
            self.run_lock.unlock()
        if done is not None:
            done(*outcome)
        return True

    def _apply_locked(self, job: Job) -> tuple[Any, tuple[str, str] | None]:
        """Run a job (caller holds ``run_lock``) and publish; errors are returned, never raised."""
        outcome = _apply(job, self.run)
        self._publish_locked()
        return outcome

    def _run_jobs(self) -> None:
        """Apply the queued jobs (worker thread), their callbacks queued to the GUI thread."""
        with QMutexLocker(self._mutex):
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            with QMutexLocker(self.run_lock):
                self._apply_queued(job)

    def _apply_queued(self, job: Job) -> None:
        """Apply a queued job (worker thread, ``run_lock`` held); its callback goes to the GUI thread."""
        self.job_done.emit((job.done, *self._apply_locked(job)))

    def _between_lanes(self, run) -> bool:
        """Between two lanes of a lockstep (worker thread, ``run_lock`` held): apply the queued
        jobs and any publish a settings job asked for; False when a job swapped the run."""
        with QMutexLocker(self._mutex):
            jobs, self._jobs = self._jobs, []
            publish, self._publish_wanted = self._publish_wanted, False
            self._stepping = False
        for job in jobs:
            self._apply_queued(job)
        if publish and not jobs:
            self._publish_locked()
        with QMutexLocker(self._mutex):
            self._stepping = self.run is run
        return self.run is run

    def _job_finished(self) -> None:
        with QMutexLocker(self._mutex):
            self._unfinished -= 1

    @property
    def jobs_pending(self) -> int:
        """Queued jobs not finished yet (applied by the worker and their callback run here)."""
        with QMutexLocker(self._mutex):
            return self._unfinished

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
        """True while the worker has iterations to take (False at once after a pause request)."""
        with QMutexLocker(self._mutex):
            return self._control.is_playing

    @property
    def idle(self) -> bool:
        """True once the worker waits with nothing to do (a job submitted now runs at once)."""
        with QMutexLocker(self._mutex):
            return not (self._busy or self._control.is_playing or self._jobs)

    def latest(self):
        """The accumulated ``RunSnapshot`` of everything published (call from the GUI thread only:
        it appends the updates published since the last call)."""
        with QMutexLocker(self._mutex):
            updates, self._pending = self._pending, []
        for update in updates:
            self._mirror.apply(update)
        self._pace()
        return self._mirror.snapshot

    def _pace(self) -> None:
        """Adapt ``publish_interval`` to the GUI thread's busy share between two pulls (its CPU
        time over wall time, a moving average; the repaint of new data comes after the pull that
        brought it): longer while above ``GUI_SHARE``, shorter while below half of it."""
        cpu, wall = self._clock()
        if self._gui_mark is not None and wall > self._gui_mark[1]:
            busy = (cpu - self._gui_mark[0]) / (wall - self._gui_mark[1])
            self._gui_share = 0.8 * self._gui_share + 0.2 * busy
            factor = 1.25 if self._gui_share > GUI_SHARE else 0.9 if self._gui_share < GUI_SHARE / 2 else 1.0
            wanted = min(MAX_PUBLISH_INTERVAL, max(self.min_publish_interval, self.publish_interval * factor))
            with QMutexLocker(self._mutex):
                self.publish_interval = wanted
        self._gui_mark = (cpu, wall)

    def publish(self) -> None:
        """Publish what the run recorded since the last publish (any thread not holding ``run_lock``)."""
        with QMutexLocker(self.run_lock):
            self._publish_locked()

    def _publish_locked(self) -> None:
        update = self._feed.collect(self.run)
        with QMutexLocker(self._mutex):
            self._pending.append(update)
            self._last_publish = time.perf_counter()

    def replace_run(self, run, done: Done | None = None) -> None:
        """Pause and swap in a new ``Run`` (new problem, reset) between two steps, then call
        ``done(run, error)`` in the GUI thread; ``run`` may be a function of the old run that
        builds the new one (in the worker)."""
        self.set_paused(True)

        def swap(old):
            self.run = run(old) if callable(run) else run
            return self.run

        self.submit(swap, done)

    def memory_bytes(self) -> int:
        """Bytes of the window's copy of the history (GUI thread)."""
        return self._mirror.nbytes()

    # loop (worker thread) ---------------------------------------------------------------
    def _next_action(self) -> tuple[str, Control]:
        """Block until there is something to do; return "step", "jobs" or "stop" and the
        control the iteration runs under (a step request is counted down here)."""
        with QMutexLocker(self._mutex):
            self._busy = False
            while self._control.mode is Mode.PAUSED and not self._jobs:
                self._wake.wait(self._mutex)
            self._busy = True  # until it waits again (the step, its publish, the jobs)
            control = self._control
            if control.mode is Mode.STOPPING:
                return "stop", control
            if self._jobs:
                return "jobs", control
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
            if action == "jobs":
                self._run_jobs()
                continue
            started = time.perf_counter()
            try:
                with QMutexLocker(self.run_lock):
                    run = self.run
                    finished = run.finished(control.limit)
                    idle_reason = self._idle_reason(run, control) if finished else None
                    if not finished:
                        with QMutexLocker(self._mutex):
                            self._stepping = True
                        try:
                            between = functools.partial(self._between_lanes, run)
                            run.step(1, between=between, limit=control.limit)
                        finally:
                            with QMutexLocker(self._mutex):
                                self._stepping = False
                        run = self.run  # a job between the lanes may have swapped it
                        finished = run.finished(control.limit)
            except Exception as exc:  # engine errors are shown, never fatal
                self._pause_self()
                self.publish()
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
                continue
            with QMutexLocker(self._mutex):
                idle = self._control.mode is Mode.PAUSED
                due = time.perf_counter() - self._last_publish >= self.publish_interval or self._publish_wanted
                self._publish_wanted = False
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
