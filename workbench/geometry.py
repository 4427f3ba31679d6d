"""Window geometry from the screen the window opens on (never larger than it)."""

from __future__ import annotations

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
