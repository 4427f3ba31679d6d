"""The autosave's two halves: a quick capture under the run lock and a writer thread.

:func:`Capturer.capture` runs as a worker job (between two steps, under the run lock) and takes
only what changed since the previous capture: the metric columns of the new iterations (through
its own :class:`workbench.feed.HistoryFeed`), each lane's status, x⁰ of a lane it has not seen and
the latest kept iterate where it moved. :class:`AutosaveWriter` (its own thread, neither the GUI's
nor the solver's) appends that to what it holds (the metrics rows already formatted as CSV text)
and writes the session folder with :func:`core.session.write_session` (atomic per folder).

An autosave is a session that restores by replaying its config to the saved iteration counts
(the run is seeded): its ``iterates.npz`` holds x⁰ and the latest kept iterate of each lane,
uncompressed, not every kept iterate.
"""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import session as core_session
from core.engine import CSV_COLUMNS, METRIC_NAMES

from .feed import HistoryFeed, Update

_ROW_END = "\x00"  # stands for ",<status>\r\n" in the cached rows (the status column can change)


def csv_line(fields) -> str:
    """One CSV line as ``csv.writer`` writes it (quoting where needed), without the line end."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


@dataclass
class Capture:
    """What one capture took from the run (detached numpy data)."""

    folder: Path
    config: dict
    seed: int
    update: Update
    first: dict[int, np.ndarray] = field(default_factory=dict)  # history id -> x⁰ (new lanes)
    latest: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)  # history id -> (k, kept iterate)


class Capturer:
    """Capture side: call :meth:`capture` with the run lock held (as a worker job)."""

    def __init__(self):
        self.feed = HistoryFeed()
        self._first: set[int] = set()
        self._latest: dict[int, int] = {}

    def capture(self, run, folder: Path) -> Capture:
        update = self.feed.collect(run)
        taken = Capture(Path(folder), run.config.to_dict(), run.config.problem.seed, update)
        for index, lane in enumerate(update.lanes):
            if lane.history_id not in self._first:
                self._first.add(lane.history_id)
                taken.first[lane.history_id] = run.iterate(index, 0)
            k = run.kept_iterations(index)[-1]
            if k > 0 and self._latest.get(lane.history_id) != k:
                self._latest[lane.history_id] = k
                taken.latest[lane.history_id] = (k, run.iterate(index, k))
        return taken


class _LaneRows:
    """The writer's copy of one lane: its CSV rows (status left out) and iterates."""

    def __init__(self, first: np.ndarray | None):
        self.batches: list[str] = []
        self.count = 0
        self.status_field = ""
        self.first = first
        self.latest: tuple[int, np.ndarray] | None = None

    def append(self, label: str, start: int, recorded: dict, n: int) -> None:
        if start != self.count:
            raise ValueError(f"autosave: lane '{label}' continues at {start}, holds {self.count}")
        if not n:
            return
        columns = np.stack([recorded.get(name, np.full(n, np.nan)) for name in METRIC_NAMES], axis=1)
        lead = csv_line([label])
        rows = [
            f"{lead},{start + i + 1}," + ",".join(map(repr, values)) + _ROW_END
            for i, values in enumerate(columns.tolist())
        ]
        self.batches.append("".join(rows))
        self.count += n


class AutosaveWriter:
    """Writes captures in its own thread; the newest state wins when several are waiting.

    Parameters
    ----------
    on_written : callable(str)
        Called (in the writer thread) with the folder after each successful write.
    on_failed : callable(str, str)
        Called (in the writer thread) with a summary and the traceback of a failed write.
    """

    def __init__(self, on_written: Callable[[str], None], on_failed: Callable[[str, str], None]):
        self.on_written = on_written
        self.on_failed = on_failed
        self.last_write_seconds = 0.0
        self.last_write_end = 0.0
        self.writes = 0
        self._queue: queue.Queue = queue.Queue()
        self._run_id = None
        self._lanes: dict[int, _LaneRows] = {}
        self._order: list[tuple[int, str]] = []  # (history id, label) in lane order
        self._document: tuple[dict, int] | None = None
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="autosave-writer", daemon=True)
        self._thread.start()

    @property
    def thread_ident(self) -> int | None:
        return self._thread.ident

    @property
    def busy(self) -> bool:
        """True while captures are waiting or being written."""
        return self._busy.is_set() or not self._queue.empty()

    def put(self, capture: Capture) -> None:
        """Queue a capture (any thread)."""
        self._queue.put(capture)

    def close(self, timeout: float = 5.0) -> None:
        """Finish the write in progress (at most ``timeout`` seconds) and end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    # writer thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            self._busy.set()
            items = [item]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            captures = [c for c in items[: items.index(None)] if c] if None in items else items
            try:
                for capture in captures:
                    self._apply(capture)
                if captures:
                    self._write(captures[-1].folder)
            except Exception as exc:  # a full disk, a read-only folder: reported, retried later
                message = f"autosave to {captures[-1].folder} failed: {_reason(exc)}"
                _notify(self.on_failed, message, traceback.format_exc())
            finally:
                self._busy.clear()
            if None in items:
                return

    def _apply(self, capture: Capture) -> None:
        update = capture.update
        if update.run_id != self._run_id:
            self._run_id, self._lanes = update.run_id, {}
        lanes = {}
        for lane in update.lanes:
            rows = self._lanes.get(lane.history_id) or _LaneRows(capture.first.get(lane.history_id))
            rows.append(lane.label, lane.start, lane.recorded, len(lane.seconds))
            rows.status_field = csv_line([lane.status])
            if lane.history_id in capture.latest:
                rows.latest = capture.latest[lane.history_id]
            lanes[lane.history_id] = rows
        self._lanes = lanes
        self._order = [(lane.history_id, lane.label) for lane in update.lanes]
        self._document = (capture.config, capture.seed)

    def _write(self, folder: Path) -> None:
        started = time.perf_counter()
        arrays = {"lane_labels": np.array([label for _, label in self._order], dtype=str)}
        for index, (history_id, _) in enumerate(self._order):
            rows = self._lanes[history_id]
            if rows.first is not None:
                arrays[f"lane{index}_k0"] = rows.first
            if rows.latest is not None:
                arrays[f"lane{index}_k{rows.latest[0]}"] = rows.latest[1]

        def write_metrics(path: Path) -> None:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(csv_line(CSV_COLUMNS) + "\r\n")
                for history_id, _ in self._order:
                    rows = self._lanes[history_id]
                    end = f",{rows.status_field}\r\n"
                    for batch in rows.batches:
                        handle.write(batch.replace(_ROW_END, end))

        config, seed = self._document
        core_session.write_session(folder, config, seed, write_metrics, arrays, compress=False)
        self.writes += 1
        self.last_write_end = time.perf_counter()
        self.last_write_seconds = self.last_write_end - started
        _notify(self.on_written, str(folder))

    def nbytes(self) -> int:
        """Approximate bytes held (cached CSV text and iterates)."""
        total = 0
        for rows in self._lanes.values():
            total += sum(len(batch) for batch in rows.batches)
            total += sum(a.nbytes for a in (rows.first, rows.latest[1] if rows.latest else None) if a is not None)
        return total


def _notify(callback, *args) -> None:
    try:
        callback(*args)
    except RuntimeError:  # the autosaver (its signals) is gone: the window closed
        pass


def _reason(exc: Exception) -> str:
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
