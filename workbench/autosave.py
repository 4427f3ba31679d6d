"""Autosave of the current session to ``sessions/.autosave`` and crash detection.

While the window is open a marker file ``RUNNING`` sits in the autosave folder; it holds the
process id (and, on Linux, the process start time) of the instance that writes there. A clean
exit removes it. A marker whose process is no longer alive means that instance crashed: its
autosave is offered for restore. A marker whose process is alive belongs to another running
instance: nothing is offered, the marker is left alone, and this instance autosaves into its
own folder ``sessions/.autosave-<pid>`` instead.

Saves happen on changes (debounced) and every few seconds while the run is playing: a worker job
takes what changed since the last save under the run lock (quick), and a writer thread of its
own writes the folder (:mod:`workbench.autosave_writer`), so the solver never waits on the disk.
The writer is given at most ``DUTY`` of the time (the next periodic save waits for 1/``DUTY``
times the last write). While a restored autosave is replayed, saves wait until the replay has
caught up with what the autosave holds. A failing save (a full disk) shows one persistent
warning and is retried quietly.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from core.session import SESSION_FILE

from .autosave_writer import AutosaveWriter, Capturer

MARKER = "RUNNING"
#: largest share of the time the autosave writer may take while the run plays
DUTY = 0.05


def default_autosave_dir() -> Path:
    """``sessions/.autosave`` under the current folder (the repository root for ``make run``)."""
    return Path.cwd() / "sessions" / ".autosave"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (Linux ``/proc``), None where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def marker_text() -> str:
    """What this process writes into its marker: ``"<pid> <start time>"``."""
    pid = os.getpid()
    return f"{pid} {_start_time(pid) or ''}".strip()


def marker_owner_alive(folder: Path) -> bool:
    """True when ``folder``'s marker belongs to another process that is still running.

    A missing or unreadable marker, one without a PID (older versions), this process's own PID
    (it was written by an earlier process that had the same PID) and a PID now used by a process
    that started later all count as not alive.
    """
    try:
        fields = (Path(folder) / MARKER).read_text(encoding="utf-8").split()
        pid = int(fields[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    except OSError:
        return False
    started = _start_time(pid)
    return len(fields) < 2 or started is None or fields[1] == started


def _candidates(folder: Path) -> list[Path]:
    """``folder`` and the per-instance folders beside it (``<name>-<pid>``)."""
    found = [folder]
    if folder.parent.is_dir():
        found += sorted(p for p in folder.parent.glob(f"{folder.name}-*") if p.is_dir())
    return found


def unclean_autosave(folder: Path | None) -> Path | None:
    """The autosave folder of an instance that ended uncleanly (its marker is there, its process is
    gone) and left a session, or None. Looks at ``folder`` and the per-instance folders beside
    it; the most recently marked one wins."""
    if folder is None:
        return None
    crashed = [
        p
        for p in _candidates(Path(folder))
        if (p / MARKER).exists() and (p / SESSION_FILE).exists() and not marker_owner_alive(p)
    ]
    if not crashed:
        return None
    return max(crashed, key=lambda p: (p / MARKER).stat().st_mtime)


def claim_autosave_dir(folder: Path) -> Path:
    """The folder this instance autosaves into, with its marker written: ``folder`` unless another
    running instance holds it, else ``<folder>-<pid>``."""
    folder = Path(folder)
    if marker_owner_alive(folder):
        folder = folder.with_name(f"{folder.name}-{os.getpid()}")
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{MARKER}.{os.getpid()}.tmp"
    temp.write_text(marker_text(), encoding="utf-8")
    os.replace(temp, folder / MARKER)
    return folder


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


class Autosaver(QObject):
    """Schedules autosaves of the worker's run into ``folder`` (captured between two steps,
    written by the writer thread).

    Parameters
    ----------
    worker : RunWorker
    folder : Path
        The wanted autosave folder; :attr:`folder` is where saves go (see
        :func:`claim_autosave_dir`).
    interval_s : float
        Period of saves while the run plays (and of retries after a failed save).
    debounce_s : float
        Delay between an edit and its save (edits in between restart the delay).
    warn : callable(str or None), optional
        Shows (a message) or clears (None) the one persistent warning about failing saves.
    """

    _written = Signal(str)  # from the writer thread
    _write_failed = Signal(str, str)

    def __init__(
        self,
        worker,
        folder: Path,
        interval_s: float = 5.0,
        debounce_s: float = 1.0,
        parent: QObject | None = None,
        warn: Callable[[str | None], None] | None = None,
    ):
        super().__init__(parent)
        self.worker = worker
        self.requested = Path(folder)
        self.warn = warn or (lambda message: None)
        self.failing: str | None = None  # message of the last failed save, None after a success
        self._hold = 0  # iterations the autosave holds until a replay catches up
        self._deferred = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(int(debounce_s * 1000))
        self._debounce.timeout.connect(self.save_now)
        self._periodic = QTimer(self)
        self._periodic.setInterval(int(interval_s * 1000))
        self._periodic.timeout.connect(self._tick)
        self._periodic.start()
        self._written.connect(self._on_saved)
        self._write_failed.connect(self._on_save_failed)
        self._capturer = Capturer()  # used in worker jobs only (under the run lock)
        self.writer = AutosaveWriter(self._written.emit, self._write_failed.emit)
        try:
            self.folder = claim_autosave_dir(self.requested)
        except OSError as exc:  # a read-only or full disk: saves retry (and warn)
            self.folder = self.requested
            self._on_save_failed(f"autosave to {self.folder} failed: {exc.strerror or exc}", "")

    def hold(self, iterations: int) -> None:
        """The autosave holds ``iterations`` iterations that are being replayed: no save until the
        run has caught up with them (or has stopped short of them)."""
        self._hold = int(iterations)

    def release(self) -> None:
        """A new run replaced the replayed one: its saves are no longer held back."""
        self._hold = 0
        if self._deferred:
            self.changed()

    def replay_pending(self) -> bool:
        """True while a save would hold less than the restored autosave."""
        if self._hold <= 0:
            return False
        snapshot = self.worker.latest()
        lanes = snapshot.lanes if snapshot is not None else []
        reached = max((lane.k for lane in lanes), default=0) >= self._hold
        stuck = bool(lanes) and all(lane.status not in ("ready", "running") for lane in lanes)
        if reached or stuck:
            self._hold = 0
            return False
        return True

    def changed(self) -> None:
        """Something was edited: save soon."""
        self._debounce.start()

    def _tick(self) -> None:
        writer = self.writer
        resting = time.perf_counter() - writer.last_write_end < writer.last_write_seconds / DUTY
        if writer.busy or resting:
            return  # the writer keeps to its share of the time
        if self.worker.is_playing or self.failing is not None or self._deferred:
            self.save_now()

    def save_now(self) -> None:
        """Capture what changed between two iterations and hand it to the writer thread
        (deferred while a replay catches up)."""
        if self.replay_pending():
            self._deferred = True
            return
        self._deferred = False
        folder = self.folder
        self.worker.submit(lambda run: self.writer.put(self._capturer.capture(run, folder)))

    @Slot(str)
    def _on_saved(self, folder: str) -> None:
        if self.failing is not None:
            self.failing = None
            self.warn(None)

    @Slot(str, str)
    def _on_save_failed(self, message: str, details: str) -> None:
        if self.failing is None:
            self.warn(f"⚠ {message}; retrying every {self._periodic.interval() // 1000} s")
        self.failing = message

    def close(self) -> None:
        """Clean exit: stop the timers and remove this instance's crash marker (never another
        instance's); a per-instance folder this instance created is removed whole."""
        self._debounce.stop()
        self._periodic.stop()
        self.writer.close()
        if marker_owner_alive(self.folder):
            return  # another instance took the folder over
        if self.folder != self.requested and self.folder.name == f"{self.requested.name}-{os.getpid()}":
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        discard_marker(self.folder)
