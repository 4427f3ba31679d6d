"""The file a window shows (a config, preset or session, or the default problem): its name in the
window title, the unsaved-edits mark, the recent files, and what the window remembers between
starts (:mod:`workbench.settings`).

The title follows Qt's ``[*]`` convention: ``"butterfly_sr.toml[*] — Convergence Workbench"``,
shown with a ``*`` after the name while ``isWindowModified()`` (an edit since the file was opened
or the session saved).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from . import settings
from .recent_files import RecentFiles, display_name

APP_TITLE = "Convergence Workbench"
DEFAULT_NAME = "default problem"
RESTORED_NAME = "restored autosave"


class Document:
    """Title, modified mark, recent files and remembered window state of ``window``.

    Parameters
    ----------
    window : MainWindow
        Its ``open_path`` opens recent entries; its status bar shows their messages.
    store : QSettings, optional
        Where to remember things (see :mod:`workbench.settings`); None: for this window only.
    """

    def __init__(self, window: QMainWindow, store: QSettings | None = None):
        self.window = window
        self.store = settings.Store(store)
        self.path: Path | None = None  # the file or session folder shown, None: not from a file
        self.recent = RecentFiles(
            self.store, lambda path: window.open_path(path), window.statusBar().showMessage, window
        )
        self.show(DEFAULT_NAME, modified=False)

    def show(self, name: str, modified: bool) -> None:
        """Title ``name — Convergence Workbench``, with the modified mark when ``modified``."""
        self.window.setWindowTitle(f"{name}[*] — {APP_TITLE}")
        self.window.setWindowModified(modified)

    def opened(self, path: str | Path | None) -> None:
        """``path`` (config, preset or session) is open and unedited; None: the default problem."""
        if path is None:
            self.path = None
            self.show(DEFAULT_NAME, modified=False)
            return
        self.path = Path(path)
        self.show(display_name(path), modified=False)
        self.recent.add(path)

    def restored(self) -> None:
        """An autosave was restored: not saved anywhere yet."""
        self.path = None
        self.show(RESTORED_NAME, modified=True)

    def saved(self, folder: str | Path) -> None:
        """The session was saved into ``folder``: it is now the open file, unedited."""
        self.opened(folder)

    def edited(self) -> None:
        """The problem, a lane or a run setting changed since the file was opened or saved."""
        self.window.setWindowModified(True)

    # dialogs and window state ------------------------------------------------------------
    def folder(self, dialog: str, default: Path) -> str:
        """Start folder of the file dialog ``dialog`` ("open", "save"): the one it opened last."""
        return self.store.folder(dialog, default)

    def remember_folder(self, dialog: str, path: str | Path) -> None:
        """``path`` was chosen in ``dialog``: start there next time."""
        self.store.remember_folder(dialog, path)

    def restore_window(self) -> bool:
        """Remembered geometry and splitters (else a size from the screen); see :mod:`workbench.settings`."""
        return settings.restore_window(self.window, self.store)

    def save_window(self) -> None:
        """Remember the window's geometry and splitters for the next start."""
        settings.save_window(self.window, self.store)
