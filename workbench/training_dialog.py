"""The "Train network" dialog: runs ``core.learned.training`` trainers in a background thread.

The dialog builds the same :class:`core.learned.training.common.TrainSettings` as ``python -m core
train`` and calls the registered trainer's function (no numerical logic here). A
:class:`TrainingWorker` (a QObject in a QThread) runs it; the loop's hooks ``on_step`` /
``on_epoch`` record the loss per step and the validation figures per epoch under a mutex, and
``should_stop`` reads the cancel flag. A GUI timer pulls that state into the progress bar and
the plots. Cancelling stops the loop after the current step; the checkpoint of the last finished
epoch stays on disk (``--resume`` continues from it). Errors are shown in the dialog's log and
never close the application.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    Qt,
    QThread,
    QTimer,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.learned.training import load_trainers
from core.learned.training.common import TrainSettings
from core.paths import weights_dir

from .training_worker import TrainingWorker

REFRESH_MS = 100
CLOSE_GRACE_MS = 200  # a close waits this long for the current training step, then defers


def parse_count(text: str, name: str, *, minimum: int = 1, allow_default: bool = False) -> int | None:
    """Integer in a text field; empty gives None when ``allow_default`` (the trainer's value).

    Raises
    ------
    ValueError
        Naming the field when the text is not an integer or below ``minimum``.
    """
    text = text.strip()
    if not text:
        if allow_default:
            return None
        raise ValueError(f"{name}: a value is required")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


class TrainingDialog(QDialog):
    """Non-modal dialog training one registered network (``Run → Train network…``).

    Parameters
    ----------
    parent : QWidget, optional
    out_dir : Path, optional
        Initial output folder (default ``resources/weights``).
    """

    def __init__(self, parent: QWidget | None = None, out_dir: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train network")
        self.setModal(False)
        self.trainers = load_trainers()
        self.worker: TrainingWorker | None = None
        self.thread: QThread | None = None
        self.last_summary: dict | None = None
        self.errors: list[str] = []
        self.stopping = False  # closing: waiting for the current training step
        self._build_widgets(Path(out_dir) if out_dir is not None else weights_dir())
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self._trainer_changed()
        self._set_running(False)

    # widgets ------------------------------------------------------------------------------
    def _build_widgets(self, out_dir: Path) -> None:
        self.trainer_combo = QComboBox()
        for name in sorted(self.trainers):
            self.trainer_combo.addItem(f"{name} — {self.trainers[name].doc}", name)
        self.trainer_combo.currentIndexChanged.connect(self._trainer_changed)
        self.epochs_edit = QLineEdit()
        self.steps_edit = QLineEdit()
        self.steps_edit.setPlaceholderText("trainer's default")
        self.batch_edit = QLineEdit()
        self.batch_edit.setPlaceholderText("trainer's default")
        self.seed_edit = QLineEdit("0")
        self.threads_edit = QLineEdit("2")
        self.device_combo = QComboBox()
        self.device_combo.addItems(["cpu", "cuda"])
        self.out_edit = QLineEdit(str(out_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_out)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        self.resume_check = QCheckBox("continue from the last epoch checkpoint")
        form = QFormLayout()
        form.addRow("Network", self.trainer_combo)
        form.addRow("Epochs", self.epochs_edit)
        form.addRow("Steps per epoch", self.steps_edit)
        form.addRow("Batch size", self.batch_edit)
        form.addRow("Seed", self.seed_edit)
        form.addRow("CPU threads", self.threads_edit)
        form.addRow("Device", self.device_combo)
        form.addRow("Output folder", out_row)
        form.addRow("Resume", self.resume_check)

        self.progress_bar = QProgressBar()
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(220)
        loss_plot = self.plots.addPlot(title="training loss")
        loss_plot.setLabel("bottom", "step")
        self.loss_curve = loss_plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        psnr_plot = self.plots.addPlot(title="validation PSNR (dB)")
        psnr_plot.setLabel("bottom", "epoch")
        self.psnr_curve = psnr_plot.plot(pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=6)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.log_view)
        layout.addLayout(buttons)
        self.resize(760, 720)

    def _trainer_changed(self) -> None:
        trainer = self.trainers[self.trainer_combo.currentData()]
        self.epochs_edit.setText(str(trainer.default_epochs))
        self.trainer_combo.setToolTip(trainer.doc)

    def _browse_out(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Weights folder", self.out_edit.text())
        if folder:
            self.out_edit.setText(folder)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (
            self.trainer_combo,
            self.epochs_edit,
            self.steps_edit,
            self.batch_edit,
            self.seed_edit,
            self.threads_edit,
            self.device_combo,
            self.out_edit,
            self.resume_check,
        ):
            widget.setEnabled(not running)

    def log(self, line: str) -> None:
        """Append one line to the dialog's log area."""
        self.log_view.appendPlainText(line)

    def show_error(self, message: str) -> None:
        """Record and show an error in the log area (never a modal box, never fatal)."""
        self.errors.append(message)
        self.log(f"error: {message}")

    # settings -----------------------------------------------------------------------------
    def settings(self) -> TrainSettings:
        """The ``TrainSettings`` described by the fields (ValueError naming a bad field)."""
        out = self.out_edit.text().strip()
        if not out:
            raise ValueError("output folder: a folder is required")
        return TrainSettings(
            name=self.trainer_combo.currentData(),
            epochs=parse_count(self.epochs_edit.text(), "epochs"),
            device=self.device_combo.currentText(),
            out=Path(out).expanduser(),
            resume=self.resume_check.isChecked(),
            seed=parse_count(self.seed_edit.text(), "seed", minimum=0),
            steps_per_epoch=parse_count(self.steps_edit.text(), "steps per epoch", allow_default=True),
            batch_size=parse_count(self.batch_edit.text(), "batch size", allow_default=True),
            threads=parse_count(self.threads_edit.text(), "CPU threads"),
            progress=False,
        )

    # control ------------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def start(self) -> bool:
        """Start training with the fields' settings; False (error shown) on bad input."""
        if self.is_running:
            return False
        try:
            settings = self.settings()
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self._join()
        self.last_summary = None
        self.loss_curve.setData([], [])
        self.psnr_curve.setData([], [])
        self.progress_bar.setRange(0, settings.epochs)
        self.progress_bar.setValue(0)
        self.log(
            f"training {settings.name}: {settings.epochs} epochs into {settings.weights_dir}"
            + (" (resuming)" if settings.resume else "")
        )
        self.worker = TrainingWorker(self.trainers[settings.name], settings)
        self.thread = QThread(self)
        self.thread.setObjectName("training-worker")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.succeeded.connect(self._succeeded)
        self.worker.failed.connect(self._failed)
        # direct: the thread's event loop ends as soon as run() returns, even while the GUI waits
        self.worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.done.connect(self._done)
        self._epochs_logged = 0
        self._set_running(True)
        self.thread.start()
        self.timer.start()
        return True

    def cancel(self) -> None:
        """Stop after the current step; the last epoch checkpoint stays on disk."""
        if self.worker is not None and self.is_running:
            self.worker.cancel()
            self.log("cancelling after the current step…")

    def _join(self, timeout_ms: int = 60000) -> bool:
        """Wait for the training thread to end; True when it has."""
        if self.thread is None:
            return True
        self.thread.quit()  # the loop's run() has returned or was cancelled: end the event loop
        ended = self.thread.wait(timeout_ms)
        if ended:
            self.thread = None
        return ended

    # results (GUI thread) -----------------------------------------------------------------
    def refresh(self) -> None:
        """Pull the worker's recorded losses / epochs into the plots, progress bar and log."""
        if self.worker is None:
            return
        losses, epochs, (step, steps) = self.worker.progress()
        if losses:
            self.loss_curve.setData(np.arange(1, len(losses) + 1), np.asarray(losses))
        psnr = [(rec["epoch"], rec["val_psnr"]) for rec in epochs if "val_psnr" in rec]
        if psnr:
            self.psnr_curve.setData(*(np.asarray(column, dtype=float) for column in zip(*psnr)))
        for rec in epochs[self._epochs_logged :]:
            figures = "  ".join(f"val {k[4:]} {v:.4f}" for k, v in rec.items() if k.startswith("val_"))
            self.log(f"epoch {rec['epoch']}: loss {rec['loss']:.4e}  {figures}  ({rec['seconds']:.0f} s)")
        self._epochs_logged = len(epochs)
        if steps:
            total = self.worker.settings.epochs * steps
            # a resumed run learns its first epoch from its first epoch record
            offset = (epochs[0]["epoch"] - 1) * steps if epochs else 0
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(offset + len(losses), total))
            self.progress_bar.setFormat("step %v / %m")

    def _succeeded(self, summary: dict) -> None:
        self.last_summary = summary
        settings = self.worker.settings
        self.refresh()
        if summary.get("cancelled"):
            where = settings.checkpoint_path
            self.log(f"cancelled; last epoch checkpoint: {where if where.exists() else 'none'}")
        else:
            final = ", ".join(f"{k} {v:.3f}" for k, v in summary.get("final_validation", {}).items())
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.log(
                f"done in {summary['wall_seconds']:.0f} s ({final}); weights: "
                f"{settings.weights_dir / (settings.name + '.pt')}"
            )

    def _failed(self, message: str, details: str) -> None:
        self.show_error(message)
        self.log_view.appendPlainText(details.rstrip())

    def _done(self) -> None:
        self.timer.stop()
        self._join()
        self._set_running(False)

    def closeEvent(self, event) -> None:
        """Closing during training cancels it without blocking the GUI: the dialog waits at most
        ``CLOSE_GRACE_MS`` for the current step, else it ignores this close, says that it is
        stopping and closes when the training thread has ended (the last epoch checkpoint stays)."""
        if self.is_running:
            self.worker.cancel()
            if not self._join(CLOSE_GRACE_MS):
                event.ignore()
                if not self.stopping:
                    self.stopping = True
                    self.log("stopping: the dialog closes when the current step has finished…")
                    self.start_button.setEnabled(False)
                    self.cancel_button.setEnabled(False)
                    self.thread.finished.connect(self.close)  # queued: runs in the GUI thread
                return
        self.stopping = False
        self._join()
        self.timer.stop()
        super().closeEvent(event)
