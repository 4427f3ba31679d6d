"""The solver worker's control state (a :class:`Mode` and the data that mode needs) and its jobs
(work on the run between two steps, their callbacks delivered in the GUI thread)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Slot

from core.engine import NO_LIMIT

#: a job's callback: ``done(result, error)`` with ``error`` None or (summary, traceback)
Done = Callable[[Any, tuple[str, str] | None], None]


class Mode(enum.Enum):
    """What the worker loop is doing."""

    PAUSED = "paused"  # waiting (queued jobs still run)
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


@dataclass(frozen=True)
class Job:
    """Work on the run between two steps: ``apply(run)`` under the run lock, then ``done`` in the
    GUI thread."""

    apply: Callable[[Any], Any]
    done: Done | None = None


class _Courier(QObject):
    """Lives in the GUI thread: the worker's job callbacks are queued to it."""

    def __init__(self, finished: Callable[[], None]):
        super().__init__()
        self.finished = finished

    @Slot(object)
    def deliver(self, item) -> None:
        done, result, error = item
        try:
            if done is not None:
                done(result, error)
        finally:
            self.finished()
