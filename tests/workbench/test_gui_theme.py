"""One theme: plots, panes and diagnostics share the background of the platform palette's theme
(light or dark)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

from workbench import theme


def backgrounds(window):
    views = (window.panes.graphics, window.curves.graphics, window.diagnostics.graphics)
    return {view.backgroundBrush().color().name() for view in views}


def test_panes_plots_and_diagnostics_share_the_theme_background(main_window):
    colours = theme.current()
    assert backgrounds(main_window) == {colours.background}


def test_a_dark_palette_gives_the_dark_theme(qapp):
    previous = qapp.palette()
    dark = QPalette(previous)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    try:
        qapp.setPalette(dark)
        assert theme.current() is theme.DARK
        light = QPalette(previous)
        light.setColor(QPalette.ColorRole.Window, QColor("#f0f0f0"))
        qapp.setPalette(light)
        assert theme.current() is theme.LIGHT
    finally:
        qapp.setPalette(previous)
