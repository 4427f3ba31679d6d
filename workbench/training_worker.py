"""The training worker: runs one registered trainer in the QThread it was moved to, reporting
progress to the GUI through signals and a mutex-guarded progress record."""

from __future__ import annotations

import traceback

from PySide6.QtCore import QMutex, QMutexLocker, QObject, Signal, Slot

from core.learned.training import Trainer
from core.learned.training.common import TrainSettings


class TrainingWorker(QObject):
    """Runs ``trainer.func(settings)`` once in the thread it was moved to.

    The settings' hooks are replaced by this worker's recorders; everything they record is read
    by the GUI through :meth:`progress` (mutex-guarded copies).

    Signals
    -------
    succeeded(object)
        The trainer's summary dict (``summary["cancelled"]`` tells a cancelled run).
    failed(str, str)
        Summary and traceback of an exception raised by the trainer.
    done()
        Emitted last in every case (the thread quits on it).
    """

    succeeded = Signal(object)
    failed = Signal(str, str)
    done = Signal()

    def __init__(self, trainer: Trainer, settings: TrainSettings):
        super().__init__()
        self.trainer = trainer
        self.settings = settings
        settings.should_stop = self.should_stop
        settings.on_step = self._record_step
        settings.on_epoch = self._record_epoch
        settings.progress = False
        self._mutex = QMutex()
        self._cancel = False
        self._losses: list[float] = []
        self._epochs: list[dict] = []
        self._step = (0, 0)  # (step in epoch, steps per epoch)

    def cancel(self) -> None:
        """Ask the loop to stop after its current step (any thread)."""
        with QMutexLocker(self._mutex):
            self._cancel = True

    def should_stop(self) -> bool:
        with QMutexLocker(self._mutex):
            return self._cancel

    def _record_step(self, step: int, steps: int, loss: float) -> None:
        with QMutexLocker(self._mutex):
            self._losses.append(float(loss))
            self._step = (int(step), int(steps))

    def _record_epoch(self, record: dict) -> None:
        with QMutexLocker(self._mutex):
            self._epochs.append(dict(record))

    def progress(self) -> tuple[list[float], list[dict], tuple[int, int]]:
        """Copies of (loss per step, epoch records, (step in epoch, steps per epoch))."""
        with QMutexLocker(self._mutex):
            return list(self._losses), list(self._epochs), self._step

    @Slot()
    def run(self) -> None:
        """Train (worker thread); report the summary or the error, then ``done``."""
        try:
            summary = self.trainer.func(self.settings)
        except Exception as exc:  # shown in the dialog, never fatal
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.succeeded.emit(summary)
        self.done.emit()
