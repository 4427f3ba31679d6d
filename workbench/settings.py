"""What the workbench remembers between starts: window geometry, splitter states, the last folder
of the file dialogs and the recent files (:mod:`workbench.recent_files`).

Everything is kept in one ``QSettings`` in INI format. A real start uses :func:`app_settings`
(the user's settings file, under the organisation and application names below); tests and
screenshots give the window their own ``QSettings(path, IniFormat)``, or None: remembered for
the window's life only, never written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

from . import geometry

ORGANIZATION = "convergence-workbench"
APPLICATION = "workbench"


def app_settings() -> QSettings:
    """The user's settings: ``<user config folder>/convergence-workbench/workbench.ini``."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class Store:
    """Values by key in ``settings``, or in memory when ``settings`` is None.

    Parameters
    ----------
    settings : QSettings, optional
    """

    def __init__(self, settings: QSettings | None):
        self.settings = settings
        self._memory: dict[str, object] = {}

    def value(self, key: str, default=None):
        """The value stored under ``key`` (``default`` when none)."""
        if self.settings is None:
            return self._memory.get(key, default)
        return self.settings.value(key, default)

    def set(self, key: str, value) -> None:
        """Store ``value`` under ``key`` (written to the file by :meth:`sync`)."""
        if self.settings is None:
            self._memory[key] = value
        else:
            self.settings.setValue(key, value)

    def strings(self, key: str) -> list[str]:
        """A list of strings stored under ``key`` (INI files give one string back for a one-item list)."""
        value = self.value(key, [])
        if value is None or value == "":
            return []
        return [value] if isinstance(value, str) else [str(item) for item in value]

    def sync(self) -> None:
        """Write pending values to the settings file."""
        if self.settings is not None:
            self.settings.sync()

    # dialogs ----------------------------------------------------------------------------
    def folder(self, dialog: str, default: Path) -> str:
        """The folder the file dialog ``dialog`` opened last (``default`` when none or gone)."""
        folder = self.value(f"folders/{dialog}")
        return str(folder) if folder and Path(str(folder)).is_dir() else str(default)

    def remember_folder(self, dialog: str, path: str | Path) -> None:
        """Remember the folder of ``path`` (a folder: itself) for the next ``dialog``."""
        path = Path(path)
        self.set(f"folders/{dialog}", str(path if path.is_dir() else path.parent))
        self.sync()


def named_splitters(window: QMainWindow) -> dict[str, QSplitter]:
    """The window's splitters that have an object name (their state is remembered)."""
    return {splitter.objectName(): splitter for splitter in window.findChildren(QSplitter) if splitter.objectName()}


def restore_window(window: QMainWindow, store: Store) -> bool:
    """Give ``window`` its remembered geometry and splitter states.

    A geometry that is off every current screen (a monitor that is gone), or none at all, is
    replaced by a size from the available screen geometry (:func:`workbench.geometry.initial_size`).
    Returns True when the remembered geometry was used.
    """
    saved, frame = store.value("window/geometry"), store.value("window/frame")
    restored = (
        isinstance(saved, QByteArray)
        and isinstance(frame, QRect)
        and geometry.on_a_screen(frame)
        and window.restoreGeometry(saved)
    )
    if not restored:
        window.resize(*geometry.initial_size())
    for name, splitter in named_splitters(window).items():
        state = store.value(f"splitters/{name}")
        if isinstance(state, QByteArray):
            splitter.restoreState(state)
    return bool(restored)


def save_window(window: QMainWindow, store: Store) -> None:
    """Remember ``window``'s geometry and splitter states (written at once)."""
    store.set("window/geometry", window.saveGeometry())
    store.set("window/frame", window.frameGeometry())
    for name, splitter in named_splitters(window).items():
        store.set(f"splitters/{name}", splitter.saveState())
    store.sync()
