"""File → Open Recent: the configs and session folders opened or saved last, newest first.

The list lives in the window's :class:`workbench.settings.Store` (key ``recent/files``). The menu
is rebuilt each time it opens: an entry whose file no longer exists is shown disabled with the
reason in its tooltip; one that vanished after the menu opened is removed with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from .settings import Store

MAX_RECENT = 10
KEY = "recent/files"


def display_name(path: str | Path) -> str:
    """What a file is called in titles and menus: a config's file name, a session's folder name."""
    path = Path(path)
    return path.parent.name if path.name == "session.toml" else path.name


class RecentFiles:
    """The recent-files list and its menu.

    Parameters
    ----------
    store : Store
        Where the list is kept.
    open_path : callable(Path) -> bool
        Opens an entry (the window's ``open_path``).
    show_status : callable(message, timeout_ms)
        For "no longer exists" messages.
    parent : QWidget
        Owner of the menu and its actions.
    """

    def __init__(self, store: Store, open_path: Callable[[Path], bool], show_status, parent: QWidget):
        self.store = store
        self.open_path = open_path
        self.show_status = show_status
        self.menu = QMenu("Open &Recent", parent)
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.fill_menu)
        self.fill_menu()

    def paths(self) -> list[Path]:
        """The entries, newest first."""
        return [Path(text) for text in self.store.strings(KEY)]

    def _store(self, paths: list[Path]) -> None:
        self.store.set(KEY, [str(path) for path in paths[:MAX_RECENT]])
        self.store.sync()
        self.fill_menu()

    def add(self, path: str | Path) -> None:
        """Put ``path`` (made absolute) first; a session's ``session.toml`` is kept as its folder."""
        path = Path(path).expanduser().absolute()
        if path.name == "session.toml":
            path = path.parent
        self._store([path, *(old for old in self.paths() if old != path)])

    def remove(self, path: Path) -> None:
        """Drop ``path`` from the list."""
        self._store([old for old in self.paths() if old != path])

    def clear(self) -> None:
        """Empty the list (File → Open Recent → Clear)."""
        self._store([])

    def fill_menu(self) -> None:
        """Rebuild the menu: one entry per path (disabled when the file is gone; with its folder when
        another entry has the same name), then Clear."""
        self.menu.clear()
        paths = self.paths()
        names = [display_name(path) for path in paths]
        for number, (path, name) in enumerate(zip(paths, names), start=1):
            label = name if names.count(name) == 1 else f"{name} — {path.parent}"  # same name elsewhere
            action = QAction(f"&{number % 10} {label}", self.menu)
            if path.exists():
                action.setToolTip(str(path))
            else:
                action.setEnabled(False)
                action.setToolTip(f"{path}: no longer exists")
            action.triggered.connect(lambda _=False, p=path: self.open(p))
            self.menu.addAction(action)
        if not paths:
            self.menu.addAction("(none)").setEnabled(False)
        self.menu.addSeparator()
        clear = self.menu.addAction("&Clear recent files")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self.clear)

    def open(self, path: Path) -> bool:
        """Open the entry ``path``; one that no longer exists is removed with a message."""
        if not path.exists():
            self.remove(path)
            self.show_status(f"{path}: no longer exists; removed from the recent files", 10000)
            return False
        return self.open_path(path)
