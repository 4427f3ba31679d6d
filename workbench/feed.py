"""What the worker publishes to the window: only the history recorded since the last publish.

The worker side (:class:`HistoryFeed`, called with the run lock held) sends one
:class:`Update` per publish: the display images and statuses of every lane and, per lane, the
metric columns of the iterations it has not sent yet (one host copy of those only). The window
side (:class:`SnapshotMirror`, GUI thread only) appends them to growing buffers and hands out a
``RunSnapshot`` whose arrays are views of those buffers, so one refresh costs O(new data) and
the window holds one copy of the history. A lane whose history was replaced (a new lane, a
restart, a history cut back by a late divergence check) is sent whole under a new ``history_id``.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field

import numpy as np

from core.engine import FINITE_ROW, METRIC_NAMES, LaneSnapshot, RunSnapshot

_ids = itertools.count(1)


@dataclass
class LiveLaneSnapshot(LaneSnapshot):
    """A ``LaneSnapshot`` of the window's mirror; ``history_id`` changes when the lane's history
    is replaced (so views that append know when to start over)."""

    history_id: int = 0


@dataclass
class LaneUpdate:
    """One lane in an :class:`Update`: its latest state and the history it had not sent.

    ``start`` is the number of iterations the receiver already holds for ``history_id`` (0: start
    over); ``recorded`` and ``seconds`` (per-step solve times) cover iterations ``start + 1``…``k``.
    """

    history_id: int
    start: int
    label: str
    color: str | None
    status: str
    k: int
    image: np.ndarray | None
    error_map: np.ndarray | None
    extras: dict
    recorded: dict[str, np.ndarray]
    seconds: np.ndarray


@dataclass
class Update:
    """One publish of the worker: the run's identity, display images and every lane's update."""

    run_id: int
    ground_truth: np.ndarray | None
    observation: np.ndarray
    target_iterations: int
    lanes: list[LaneUpdate] = field(default_factory=list)


class GrowingArray:
    """A 1-D float64 (or int64) array that doubles its capacity when full (appends are amortised
    O(new); views handed out earlier keep the old buffer and stay valid)."""

    def __init__(self, dtype=np.float64, capacity: int = 256):
        self.data = np.empty(capacity, dtype=dtype)
        self.count = 0

    def extend(self, values: np.ndarray) -> None:
        n = len(values)
        if self.count + n > len(self.data):
            grown = np.empty(max(2 * len(self.data), self.count + n), dtype=self.data.dtype)
            grown[: self.count] = self.data[: self.count]
            self.data = grown  # earlier views keep the old buffer: they stay valid
        self.data[self.count : self.count + n] = values
        self.count += n

    def view(self) -> np.ndarray:
        return self.data[: self.count]

    def nbytes(self) -> int:
        return self.data.nbytes


class _Sent:
    """What the feed has sent of one lane."""

    def __init__(self):
        self.history_id = next(_ids)
        self.count = 0
        self.objective = GrowingArray()  # for Run.display_status (worker side)


class HistoryFeed:
    """Worker side: builds each :class:`Update` (call :meth:`collect` with the run lock held)."""

    def __init__(self):
        self._run_ref = None
        self._run_id = 0
        self._sent: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Lane -> _Sent

    def collect(self, run) -> Update:
        """The update of ``run`` since the last call (everything for a run not seen before)."""
        if self._run_ref is None or self._run_ref() is not run:
            self._run_ref = weakref.ref(run)
            self._run_id = next(_ids)
            self._sent = weakref.WeakKeyDictionary()
        state = run.snapshot(history=False)
        update = Update(self._run_id, state.ground_truth, state.observation, state.target_iterations)
        for index, (lane, shown) in enumerate(zip(run.lanes, state.lanes)):
            sent = self._sent.get(lane)
            if sent is None or lane.k < sent.count:  # new, or its history was cut back
                sent = self._sent[lane] = _Sent()
            start = sent.count
            recorded, seconds = run.lane_history(index, start)
            recorded.pop(FINITE_ROW, None)
            sent.objective.extend(recorded.get("objective", np.full(len(seconds), np.nan)))
            sent.count = start + len(seconds)
            update.lanes.append(
                LaneUpdate(
                    history_id=sent.history_id,
                    start=start,
                    label=shown.label,
                    color=shown.color,
                    status=run.display_status(lane, sent.objective.view()),
                    k=lane.k,
                    image=shown.image,
                    error_map=shown.error_map,
                    extras=shown.extras,
                    recorded=recorded,
                    seconds=seconds,
                )
            )
        return update


class _LaneBuffers:
    """The window's copy of one lane's history."""

    def __init__(self, history_id: int):
        self.history_id = history_id
        self.rows: dict[str, GrowingArray] = {name: GrowingArray() for name in METRIC_NAMES}
        self.iterations = GrowingArray(np.int64)
        self.seconds = GrowingArray()
        self.count = 0

    def append(self, update: LaneUpdate) -> None:
        n = len(update.seconds)
        if update.start != self.count:
            raise ValueError(f"lane '{update.label}': update starts at {update.start}, mirror holds {self.count}")
        for name, values in update.recorded.items():
            if name not in self.rows:
                row = self.rows[name] = GrowingArray()
                row.extend(np.full(self.count, np.nan))
            self.rows[name].extend(values)
        for name, row in self.rows.items():
            if name not in update.recorded:
                row.extend(np.full(n, np.nan))
        self.iterations.extend(np.arange(self.count + 1, self.count + n + 1))
        # sequential like np.cumsum over the whole history: the same floats as Run.snapshot()
        last = self.seconds.data[self.count - 1] if self.count else 0.0
        cumulative = (
            np.cumsum(np.concatenate([[last], update.seconds]))[1:] if self.count else np.cumsum(update.seconds)
        )
        self.seconds.extend(cumulative)
        self.count += n

    def nbytes(self) -> int:
        return sum(row.nbytes() for row in self.rows.values()) + self.iterations.nbytes() + self.seconds.nbytes()


class SnapshotMirror:
    """Window side (one thread): applies :class:`Update` values and hands out ``RunSnapshot``
    values whose arrays are views of its buffers (they stay valid while the history grows)."""

    def __init__(self):
        self._run_id = None
        self._lanes: dict[int, _LaneBuffers] = {}
        self.snapshot: RunSnapshot | None = None

    def apply(self, update: Update) -> RunSnapshot:
        """Append ``update`` and return the new snapshot."""
        if update.run_id != self._run_id:
            self._run_id = update.run_id
            self._lanes = {}
        lanes, kept = [], {}
        for lane in update.lanes:
            buffers = self._lanes.get(lane.history_id)
            if buffers is None or lane.start == 0 and buffers.count:
                buffers = _LaneBuffers(lane.history_id)
            buffers.append(lane)
            kept[lane.history_id] = buffers
            metrics = {name: buffers.rows[name].view() for name in METRIC_NAMES}
            series = {name: row.view() for name, row in buffers.rows.items() if name not in METRIC_NAMES}
            lanes.append(
                LiveLaneSnapshot(
                    label=lane.label,
                    color=lane.color,
                    status=lane.status,
                    k=lane.k,
                    image=lane.image,
                    error_map=lane.error_map,
                    metrics=metrics,
                    iterations=buffers.iterations.view(),
                    seconds=buffers.seconds.view(),
                    extras=lane.extras,
                    series=series,
                    history_id=lane.history_id,
                )
            )
        self._lanes = kept  # removed lanes are forgotten
        self.snapshot = RunSnapshot(update.ground_truth, update.observation, lanes, update.target_iterations)
        return self.snapshot

    def nbytes(self) -> int:
        """Bytes of the mirrored history (capacity included)."""
        return sum(buffers.nbytes() for buffers in self._lanes.values())


def scrubbed(run, k: int, diagnostics_lane: int) -> tuple[list, int, dict]:
    """What the window shows at scrubbed iteration ``k`` (a worker job, under the run lock): per
    lane ``lane_view.lane_images_at``, the diagnostics lane and its kept extras."""
    from . import lane_view

    shown = [lane_view.lane_images_at(run, i, k) for i in range(len(run.lanes))]
    inside = 0 <= diagnostics_lane < len(run.lanes)
    return shown, diagnostics_lane, lane_view.extras_at(run, diagnostics_lane, k) if inside else {}
