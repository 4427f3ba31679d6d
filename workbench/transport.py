"""Transport bar: play/pause, step, step ×10, run to convergence, reset, speed cap and the
iteration scrubber over the kept history."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QWidget,
)


class TransportBar(QWidget):
    """Buttons and scrubber; all edits are forwarded as signals.

    Signals
    -------
    play_toggled(bool), step_requested(int), converge_requested(), reset_requested()
    speed_changed(float)
        Iterations per second, 0 = unlimited.
    scrubbed(int)
        Iteration chosen on the scrubber (-1: follow the latest iteration).
    """

    play_toggled = Signal(bool)
    step_requested = Signal(int)
    converge_requested = Signal()
    reset_requested = Signal()
    speed_changed = Signal(float)
    scrubbed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        icon = self.style().standardIcon
        self.icons = {
            "play": icon(QStyle.StandardPixmap.SP_MediaPlay),
            "pause": icon(QStyle.StandardPixmap.SP_MediaPause),
        }
        self.play = self._button("Play", "play / pause (Space)", self.icons["play"], checkable=True)
        self.play.toggled.connect(self._on_play)
        self.step = self._button("Step", "one iteration (→)", icon(QStyle.StandardPixmap.SP_ArrowForward))
        self.step.clicked.connect(lambda: self.step_requested.emit(1))
        self.step10 = self._button("Step ×10", "ten iterations", icon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.step10.clicked.connect(lambda: self.step_requested.emit(10))
        self.converge = self._button(
            "Run to end",
            "run at full speed until every lane has converged, diverged or reached the iteration limit",
            icon(QStyle.StandardPixmap.SP_MediaSkipForward),
        )
        self.converge.clicked.connect(self.converge_requested)
        self.reset = self._button(
            "Reset", "restart every lane from x⁰ (Home)", icon(QStyle.StandardPixmap.SP_MediaSkipBackward)
        )
        self.reset.clicked.connect(self.reset_requested)
        for button in (self.play, self.step, self.step10, self.converge, self.reset):
            layout.addWidget(button)
        layout.addSpacing(12)
        layout.addWidget(QLabel("speed"))
        self.unlimited = QCheckBox("unlimited")
        self.unlimited.setChecked(True)
        self.speed = QSpinBox()
        self.speed.setRange(1, 1000)
        self.speed.setValue(20)
        self.speed.setSuffix(" it/s")
        self.speed.setEnabled(False)
        self.speed.setToolTip("speed cap while playing")
        self.unlimited.toggled.connect(self._on_speed)
        self.speed.valueChanged.connect(self._on_speed)
        layout.addWidget(self.speed)
        layout.addWidget(self.unlimited)
        layout.addSpacing(12)
        layout.addWidget(QLabel("iteration"))
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setRange(0, 0)
        self.scrubber.setToolTip("scrub the kept history (Shift+←/→); rightmost follows the latest iteration")
        self.scrubber.valueChanged.connect(self._on_scrub)
        layout.addWidget(self.scrubber, 1)
        self.position = QLabel("k = 0 (live)")
        self.position.setMinimumWidth(130)
        layout.addWidget(self.position)
        self._updating = False

    def _button(self, text: str, tip: str, icon: QIcon, checkable: bool = False) -> QToolButton:
        # Qt's standard icons: glyphs such as ⏸ need an emoji font and may draw as a box
        button = QToolButton()
        button.setText(text)
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space/→ stay window shortcuts
        return button

    def _on_play(self, playing: bool) -> None:
        self.play.setText("Pause" if playing else "Play")
        self.play.setIcon(self.icons["pause" if playing else "play"])
        if not self._updating:
            self.play_toggled.emit(playing)

    def set_playing(self, playing: bool) -> None:
        """Show the play state without emitting ``play_toggled``."""
        self._updating = True
        try:
            self.play.setChecked(playing)
        finally:
            self._updating = False

    def _on_speed(self, *_):
        self.speed.setEnabled(not self.unlimited.isChecked())
        self.speed_changed.emit(0.0 if self.unlimited.isChecked() else float(self.speed.value()))

    def set_range(self, low: int, high: int, follow: bool) -> None:
        """Scrubber range (kept iterations); ``follow`` keeps the handle at the latest."""
        self._updating = True
        try:
            self.scrubber.setRange(low, max(low, high))
            if follow:
                self.scrubber.setValue(self.scrubber.maximum())
        finally:
            self._updating = False

    def set_value(self, k: int) -> None:
        """Move the handle to iteration ``k`` without emitting ``scrubbed``."""
        self._updating = True
        try:
            self.scrubber.setValue(k)
        finally:
            self._updating = False

    def show_position(self, k: int, live: bool) -> None:
        self.position.setText(f"k = {k}" + (" (live)" if live else ""))

    def _on_scrub(self, value: int) -> None:
        if self._updating:
            return
        self.scrubbed.emit(-1 if value >= self.scrubber.maximum() else value)

    def nudge(self, delta: int) -> None:
        """Move the scrubber by ``delta`` iterations (keyboard scrubbing)."""
        self.scrubber.setValue(self.scrubber.value() + delta)
