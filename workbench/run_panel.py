"""Run settings: device (CPU, CUDA when present), float32/float64, iteration limit, tolerance,
kept iterates, and the x axis of the curves."""

from __future__ import annotations

from typing import Any

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget


def available_devices() -> list[str]:
    """``["cpu"]`` plus ``"cuda"`` when PyTorch sees a CUDA device."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class RunPanel(QWidget):
    """Editor of the ``[run]`` section.

    Signals
    -------
    changed(dict)
        The edited run section.
    x_axis_changed(str)
        ``"iteration"`` or ``"seconds"``.
    """

    changed = Signal(dict)
    x_axis_changed = Signal(str)

    def __init__(self, run: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        self._run = dict(run)
        self._updating = False
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.device.setToolTip("where tensors live; CUDA is listed when torch.cuda.is_available()")
        self.device.currentTextChanged.connect(lambda v: self._edit("device", v))
        form.addRow("device", self.device)
        self.dtype = QComboBox()
        self.dtype.addItems(["float32", "float64"])
        self.dtype.currentTextChanged.connect(lambda v: self._edit("dtype", v))
        form.addRow("precision", self.dtype)
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 1_000_000)
        self.iterations.setKeyboardTracking(False)
        self.iterations.setToolTip("Play and Run to end stop every lane at this iteration")
        self.iterations.valueChanged.connect(lambda v: self._edit("iterations", int(v)))
        form.addRow("iterations", self.iterations)
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setDecimals(8)
        self.tolerance.setRange(0.0, 1.0)
        self.tolerance.setSingleStep(1e-5)
        self.tolerance.setKeyboardTracking(False)
        self.tolerance.setToolTip("stop a lane when ‖xᵏ − xᵏ⁻¹‖/‖xᵏ⁻¹‖ < tolerance (0: never)")
        self.tolerance.valueChanged.connect(lambda v: self._edit("tolerance", float(v)))
        form.addRow("tolerance", self.tolerance)
        self.keep = QSpinBox()
        self.keep.setRange(0, 100_000)
        self.keep.setKeyboardTracking(False)
        self.keep.setToolTip("number of latest iterates kept per lane for scrubbing and export (restarts the run)")
        self.keep.valueChanged.connect(lambda v: self._edit("keep_iterates", int(v)))
        form.addRow("kept iterates", self.keep)
        self.x_axis = QComboBox()
        self.x_axis.addItems(["iteration", "seconds"])
        self.x_axis.setToolTip("x axis of the curves: iteration or cumulative solve time")
        self.x_axis.currentTextChanged.connect(self.x_axis_changed)
        form.addRow("curves x axis", self.x_axis)
        self.set_run(run)

    def set_run(self, run: dict[str, Any]) -> None:
        """Show ``run`` without emitting ``changed``."""
        self._updating = True
        try:
            self._run = dict(run)
            if self.device.findText(run.get("device", "cpu")) < 0:
                self.device.addItem(run.get("device", "cpu"))
            self.device.setCurrentText(run.get("device", "cpu"))
            self.dtype.setCurrentText(run.get("dtype", "float32"))
            self.iterations.setValue(int(run.get("iterations", 200)))
            self.tolerance.setValue(float(run.get("tolerance", 0.0)))
            self.keep.setValue(int(run.get("keep_iterates", 50)))
        finally:
            self._updating = False

    def set_iterations(self, iterations: int) -> None:
        """Set the iteration limit as the user would (emits ``changed``)."""
        self.iterations.setValue(int(iterations))

    def run_settings(self) -> dict[str, Any]:
        return dict(self._run)

    def _edit(self, key: str, value: Any) -> None:
        if self._updating:
            return
        self._run[key] = value
        self.changed.emit(dict(self._run))
