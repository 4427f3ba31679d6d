"""The main window's permanent status-bar labels: device and precision, iteration rates, the kept
history's size, and one persistent warning while autosaves fail."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from . import messages


class StatusLabels:
    """Labels added to ``bar`` (``autosave``, ``device``, ``rate``, ``memory``, in that order).

    Parameters
    ----------
    bar : QStatusBar
    """

    def __init__(self, bar: QStatusBar):
        self.autosave = QLabel()  # one persistent warning while autosaves fail
        self.autosave.setVisible(False)
        self.device, self.rate, self.memory = QLabel(), QLabel(), QLabel()
        for label in (self.autosave, self.device, self.rate, self.memory):
            bar.addPermanentWidget(label)

    def autosave_warning(self, message: str | None) -> None:
        """Show ``message`` until it is cleared (None)."""
        self.autosave.setText(message or "")
        self.autosave.setToolTip(message or "")
        self.autosave.setVisible(bool(message))

    def update(self, snapshot, worker) -> None:
        """Device, rates of ``snapshot``; the kept history size when the run lock is free (never waits)."""
        run = worker.run
        self.device.setText(f"device: {run.device.type} · {run.config.run.dtype}")
        self.rate.setText(messages.rates_text(snapshot))
        if worker.run_lock.tryLock(0):
            try:
                memory = run.memory_bytes()
            finally:
                worker.run_lock.unlock()
            self.memory.setText(f"kept history: {memory / 2**20:.1f} MiB")
