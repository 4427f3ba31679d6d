"""Autosave of the current session to ``sessions/.autosave`` and crash detection.

While the window is open a marker file ``RUNNING`` sits in the autosave folder; a clean exit
removes it. Finding it at start-up means the last session ended uncleanly, and its autosave
is offered for restore. Saves run in the worker thread (between two iterations), on changes
(debounced) and every few seconds while the run is playing.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from core.session import SESSION_FILE

MARKER = "RUNNING"


def default_autosave_dir() -> Path:
    """``sessions/.autosave`` under the current folder (the repository root for ``make run``)."""
    return Path.cwd() / "sessions" / ".autosave"


def unclean_autosave(folder: Path | None) -> Path | None:
    """The autosave folder if the previous session ended uncleanly and left a session there."""
    if folder is None:
        return None
    folder = Path(folder)
    if (folder / MARKER).exists() and (folder / SESSION_FILE).exists():
        return folder
    return None


class Autosaver(QObject):
    """Schedules background saves of the worker's run into ``folder``.

    Parameters
    ----------
    worker : RunWorker
    folder : Path
    interval_s : float
        Period of saves while the run plays.
    debounce_s : float
        Delay between an edit and its save (edits in between restart the delay).
    """

    def __init__(self, worker, folder: Path, interval_s: float = 5.0, debounce_s: float = 1.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MARKER).write_text(str(os.getpid()), encoding="utf-8")
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(int(debounce_s * 1000))
        self._debounce.timeout.connect(self.save_now)
        self._periodic = QTimer(self)
        self._periodic.setInterval(int(interval_s * 1000))
        self._periodic.timeout.connect(self._tick)
        self._periodic.start()

    def changed(self) -> None:
        """Something was edited: save soon."""
        self._debounce.start()

    def _tick(self) -> None:
        if self.worker.is_playing:
            self.save_now()

    def save_now(self) -> None:
        """Ask the worker to save between two iterations."""
        self.worker.request_save(self.folder)

    def close(self) -> None:
        """Clean exit: stop the timers and remove the crash marker."""
        self._debounce.stop()
        self._periodic.stop()
        try:
            (self.folder / MARKER).unlink()
        except FileNotFoundError:
            pass


def set_aside(folder: Path) -> Path:
    """Rename a broken autosave ``folder`` to ``<folder>.broken-<n>`` so the next start is clean;
    returns the new name."""
    folder = Path(folder)
    n = 1
    while folder.with_name(f"{folder.name}.broken-{n}").exists():
        n += 1
    target = folder.with_name(f"{folder.name}.broken-{n}")
    folder.rename(target)
    return target


def discard_marker(folder: Path) -> None:
    """Forget an autosave the user chose not to restore (its files stay)."""
    try:
        (Path(folder) / MARKER).unlink()
    except OSError:
        pass
