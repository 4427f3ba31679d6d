"""Window geometry from the screens: the first size (never larger than the screen) and whether a
remembered window would be visible."""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication

PREFERRED_SIZE = (1920, 1200)
SCREEN_SHARE = 0.92  # leave room for panels and the window frame


def initial_size(preferred: tuple[int, int] = PREFERRED_SIZE) -> tuple[int, int]:
    """``preferred`` shrunk to fit the primary screen's available geometry."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return preferred
    available = screen.availableGeometry()
    return (
        min(preferred[0], int(available.width() * SCREEN_SHARE)),
        min(preferred[1], int(available.height() * SCREEN_SHARE)),
    )


#: a remembered window must show at least this much of itself on a screen (else it is ignored)
VISIBLE_PART = (80, 40)


def on_a_screen(frame: QRect) -> bool:
    """True when at least :data:`VISIBLE_PART` of the window rectangle ``frame`` lies on one of the
    current screens' available geometry."""
    if frame.isEmpty():
        return False
    for screen in QGuiApplication.screens():
        part = screen.availableGeometry().intersected(frame)
        if part.width() >= min(VISIBLE_PART[0], frame.width()) and part.height() >= min(
            VISIBLE_PART[1], frame.height()
        ):
            return True
    return False
