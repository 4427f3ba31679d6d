"""One theme for the whole window: light or dark, following the platform palette.

Plots, image panes and diagnostics take their background and text colour from here (and
pyqtgraph's defaults are set from it when the application starts), so no white plot sits beside
a dark pane.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QGuiApplication, QPalette


@dataclass(frozen=True)
class Theme:
    """Colours of the graphics views (``#rrggbb`` strings)."""

    dark: bool
    background: str
    foreground: str
    muted: str  # cursors, secondary text
    warning: str  # "worse than best", diverging
    error: str

    def legend_brush(self):
        """Translucent legend background."""
        color = pg.mkColor(self.background)
        color.setAlpha(220)
        return pg.mkBrush(color)


LIGHT = Theme(False, "#ffffff", "#202020", "#707070", "#c05800", "#d00000")
DARK = Theme(True, "#1e1e1e", "#e0e0e0", "#a0a0a0", "#ffa040", "#ff5050")


def current() -> Theme:
    """The theme matching the application's palette (dark when its window colour is dark)."""
    app = QGuiApplication.instance()
    if app is None:
        return LIGHT
    window = app.palette().color(QPalette.ColorRole.Window)
    return DARK if window.lightness() < 128 else LIGHT


def apply_to_pyqtgraph(theme: Theme | None = None) -> Theme:
    """Make ``theme`` pyqtgraph's default background/foreground (before any view is created)."""
    theme = theme or current()
    pg.setConfigOptions(background=theme.background, foreground=theme.foreground)
    return theme
