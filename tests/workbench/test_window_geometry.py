"""The window is sized from the screen it opens on (issue 7: 1600×1000 ran off a 1366×768 screen)."""

from __future__ import annotations

from PySide6.QtCore import QRect

from workbench import geometry


class FakeScreen:
    def __init__(self, width, height):
        self.rect = QRect(0, 0, width, height)

    def availableGeometry(self):  # noqa: N802  (Qt's name)
        return self.rect


def test_initial_size_fits_small_screens_and_keeps_the_preferred_size_on_large_ones(monkeypatch):
    for (width, height), expected in (
        ((1366, 768), (1256, 706)),
        ((1920, 1080), (1766, 993)),
        ((3840, 2160), (1920, 1200)),
    ):
        monkeypatch.setattr(geometry.QGuiApplication, "primaryScreen", lambda w=width, h=height: FakeScreen(w, h))
        assert geometry.initial_size() == expected


def test_the_window_opens_no_larger_than_the_screen_allows(main_window):
    from PySide6.QtGui import QGuiApplication

    available = QGuiApplication.primaryScreen().availableGeometry()
    limit = max(available.width(), main_window.minimumSizeHint().width())
    assert main_window.width() <= limit
