"""A Run: one problem, N solver lanes stepped in lockstep, with bounded history.

The engine (not the solvers) computes metrics, keeps history, detects divergence and
convergence, and hands detached numpy snapshots to consumers (GUI, CLI, CSV, sessions).
Metrics stay on the run's device as 0-d tensors written into preallocated buffers; the host
synchronises at most once per step (every ``sync_every`` steps) to check all lanes at once.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .device import resolve_device, resolve_dtype
from .display import display_image
from .lane import FINITE_ROW, Lane, ScalarHistory  # noqa: F401  (re-exported)
from .lane_spec import LaneSpec, check_applicable, check_unique_labels, resolve_lane
from .metrics import METRIC_NAMES, context_for
from .problem import BuildCancelled, build_problem, check_stop  # noqa: F401  (re-exported)

CSV_COLUMNS = ("lane", "iteration", *METRIC_NAMES, "status")
#: ``Run.finished(NO_LIMIT)``: only stopped lanes count (stepping past the iteration limit)
NO_LIMIT = math.inf


@dataclass
class LaneSnapshot:
    """Detached numpy copy of one lane's state (see the architecture contract)."""

    label: str
    color: str | None
    status: str
    k: int
    image: np.ndarray | None
    error_map: np.ndarray | None
    metrics: dict[str, np.ndarray]
    iterations: np.ndarray
    seconds: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class RunSnapshot:
    """Detached numpy copy of a run: display images and every lane's snapshot."""

    ground_truth: np.ndarray | None
    observation: np.ndarray
    lanes: list[LaneSnapshot]
    target_iterations: int = 0


#: a lane whose objective exceeds this many times its scale is flagged as diverging
DIVERGENCE_FACTOR = 1e4
DIVERGING_REASON = f"objective above {DIVERGENCE_FACTOR:.0e}× its start"


class Run:
    """One problem and its lanes, stepped in lockstep.

    Parameters
    ----------
    config : Config
        Resolved config; ``config.lanes`` follows :meth:`add_lane` / :meth:`remove_lane` /
        :meth:`replace_lane`.
    problem : Problem, optional
        Reuse an already built problem (must match ``config.problem``).
    should_stop : callable, optional
        Asked between the build's stages (those of :func:`core.problem.build_problem`, then before
        each lane's setup); when it returns True the constructor raises
        :class:`core.problem.BuildCancelled`.
    """

    def __init__(self, config: Config, problem=None, should_stop=None):
        self.config = config
        self.device = resolve_device(config.run.device)
        self.dtype = resolve_dtype(config.run.dtype)
        if problem is None:
            problem = build_problem(config.problem, self.device, self.dtype, should_stop=should_stop)
        self.problem = problem
        self.sync_every = config.run.sync_every or (10 if self.device.type == "cuda" else 1)
        self._since_check = 0
        self._static_images = None
        self.metric_context = None if self.problem.x_true is None else context_for(self.problem.x_true)
        y = self.problem.y
        #: Φ(0) = ½‖y‖² (g(0) = 0 for the priors here): the scale a sane objective stays within
        self.objective_scale = float(0.5 * (y.abs() ** 2 if y.is_complex() else y * y).sum())
        check_unique_labels(config.lanes)
        self.lanes: list[Lane] = []
        for spec in config.lanes:
            check_stop(should_stop)
            self.lanes.append(self._make_lane(spec))

    # --- settings ------------------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """Target iterations per lane for :meth:`run`."""
        return self.config.run.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.config.run.iterations = int(value)

    def unfinished_lanes(self, limit: float | None = None) -> list[Lane]:
        """Lanes still running and below iteration ``limit`` (see :meth:`finished`)."""
        limit = self.iterations if limit is None else limit
        return [lane for lane in self.lanes if lane.active and lane.k < limit]

    def finished(self, limit: float | None = None) -> bool:
        """True when every lane is stopped or has reached iteration ``limit``.

        Parameters
        ----------
        limit : int or float, optional
            Iteration count; None: :attr:`iterations`; :data:`NO_LIMIT`: only stopped lanes
            count.
        """
        return not self.unfinished_lanes(limit)

    @property
    def done(self) -> bool:
        """``finished()``: every lane is stopped or has reached :attr:`iterations`."""
        return self.finished()

    # --- lanes ---------------------------------------------------------------------------
    def _make_lane(self, spec: LaneSpec) -> Lane:
        return Lane(spec, self.problem, self.config.problem.seed, self.config.run.keep_iterates, self.metric_context)

    def add_lane(self, spec: LaneSpec) -> Lane:
        """Validate ``spec`` and append a new lane (starting at iteration 0)."""
        spec = resolve_lane(spec)
        check_applicable(spec, self.config.problem.degradation)
        check_unique_labels([*self.config.lanes, spec])
        lane = self._make_lane(spec)
        self.lanes.append(lane)
        self.config.lanes.append(spec)
        return lane

    def remove_lane(self, index: int) -> None:
        """Drop lane ``index`` and its history."""
        del self.lanes[index]
        del self.config.lanes[index]

    def replace_lane(self, index: int, spec: LaneSpec) -> Lane:
        """Replace lane ``index`` by ``spec`` and restart that lane only (from x⁰)."""
        spec = resolve_lane(spec)
        check_applicable(spec, self.config.problem.degradation)
        others = [s for i, s in enumerate(self.config.lanes) if i != index]
        check_unique_labels([*others, spec])
        lane = self._make_lane(spec)
        self.lanes[index] = lane
        self.config.lanes[index] = spec
        return lane

    # --- stepping ------------------------------------------------------------------------
    def step(self, n: int = 1, between=None, limit: float | None = NO_LIMIT) -> None:
        """Advance every active lane below ``limit`` by ``n`` iterations in lockstep.

        Divergence/convergence are checked every ``sync_every`` steps (and by :meth:`snapshot`),
        so on CUDA a lane may be found diverged a few steps late; its history is then cut back
        to the first non-finite iterate.

        Parameters
        ----------
        n : int
        between : callable, optional
            Called between two lanes of a lockstep, where no lane is mid-step (the GUI's worker
            applies edits there). It may add, remove or replace lanes: a lane no longer in
            :attr:`lanes` is skipped, a new one waits for the next lockstep. Returning False
            ends the lockstep there (the run was swapped).
        limit : int or float, optional
            Only lanes below this iteration move (:meth:`unfinished_lanes`; None:
            :attr:`iterations`; the default :data:`NO_LIMIT`: every running lane). A lane
            restarted later lags behind; under a limit the others wait for it there.
        """
        for _ in range(int(n)):
            active = self.unfinished_lanes(limit)
            if not active:
                break
            self._advance(active, between)

    def run(self, iterations: int | None = None, progress=None) -> None:
        """Step until every lane has ``iterations`` (default :attr:`iterations`) or stopped.

        Parameters
        ----------
        iterations : int, optional
        progress : callable, optional
            Called as ``progress(k)`` after each lockstep, k = the largest lane iteration.
        """
        target = self.iterations if iterations is None else int(iterations)
        while True:
            active = self.unfinished_lanes(target)
            if not active:
                break
            self._advance(active)
            if progress is not None:
                progress(max(lane.k for lane in self.lanes))
        self.check()

    def _advance(self, lanes, between=None) -> None:
        for i, lane in enumerate(lanes):
            if i and between is not None:
                if between() is False:
                    return
                if not (lane.active and any(kept is lane for kept in self.lanes)):
                    continue  # removed or replaced by what ran between the lanes
            lane.advance()
        self._since_check += 1
        if self._since_check >= self.sync_every:
            self.check()

    def check(self) -> None:
        """Stop diverged and converged (rel_change < tolerance) lanes.

        A lane is stopped as diverged when its iterate stops being finite (its history is cut back
        to the last finite iterate); before that, :meth:`display_status` flags a growing objective.
        One host synchronisation for all lanes together.
        """
        self._since_check = 0
        lanes = [lane for lane in self.lanes if lane.history.count > lane.checked]
        if not lanes:
            return
        pending = [lane.pending_flags() for lane in lanes]
        flags = torch.cat(pending, dim=1).cpu().numpy()
        tolerance = self.config.run.tolerance
        offset = 0
        for lane, part in zip(lanes, pending):
            finite, rel_change = flags[:, offset : offset + part.shape[1]]
            offset += part.shape[1]
            bad = np.flatnonzero(finite < 0.5)
            small = np.flatnonzero(rel_change < tolerance) if tolerance > 0 else np.array([], dtype=int)
            first_bad = bad[0] if bad.size else None
            first_small = small[0] if small.size else None
            if first_bad is not None and (first_small is None or first_bad <= first_small):
                lane.stop_at(lane.checked + int(first_bad) + 1, f"diverged at {lane.checked + int(first_bad) + 1}")
            elif first_small is not None:
                lane.stop_at(lane.checked + int(first_small) + 1, f"converged at {lane.checked + int(first_small) + 1}")
            else:
                lane.checked = lane.history.count

    def display_status(self, lane, objective: np.ndarray) -> str:
        """The lane's status as shown: a running lane whose objective grew past
        :data:`DIVERGENCE_FACTOR` times the larger of Φ(x¹) and Φ(0) = ½‖y‖² reads
        "running (diverging since k: ...)" (it goes on, its history kept)."""
        if lane.status != "running" or not objective.size:
            return lane.status
        with np.errstate(invalid="ignore"):
            limit = DIVERGENCE_FACTOR * max(abs(float(objective[0])), self.objective_scale)
            grown = np.flatnonzero(objective > limit)
        return f"running (diverging since {int(grown[0]) + 1}: {DIVERGING_REASON})" if grown.size else lane.status

    # --- consumers -----------------------------------------------------------------------
    def snapshot(self, history: bool = True) -> RunSnapshot:
        """Detached numpy copies of everything a consumer shows (runs :meth:`check` first).

        ``history=False`` leaves the per-iteration arrays (metrics, iterations, seconds, series)
        empty and ``status`` undecorated: incremental consumers (the GUI, autosave) take the
        history from :meth:`lane_history` and the status from :meth:`display_status`.
        """
        self.check()
        truth, observation = self._display_static()
        lanes = []
        for index, lane in enumerate(self.lanes):
            recorded, steps = self.lane_history(index, 0 if history else lane.k)
            n = len(steps)
            metrics = {name: recorded.get(name, np.full(n, np.nan)) for name in METRIC_NAMES}
            series = {
                name: values for name, values in recorded.items() if name not in METRIC_NAMES and name != FINITE_ROW
            }
            image = self.problem.to_image(lane.x)
            error = None
            if self.problem.x_true is not None:
                error = display_image(self.problem, image - self.problem.x_true, chroma="")
            lanes.append(
                LaneSnapshot(
                    label=lane.label,
                    color=lane.spec.color,
                    status=self.display_status(lane, metrics["objective"]),
                    k=lane.k,
                    image=display_image(self.problem, image),
                    error_map=error,
                    metrics=metrics,
                    iterations=np.arange(lane.k - n + 1, lane.k + 1),
                    seconds=np.cumsum(steps),
                    extras=self._display_extras(lane.extras),
                    series=series,
                )
            )
        return RunSnapshot(truth, observation, lanes, self.iterations)

    def lane_history(self, index: int, start: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """History of lane ``index`` after its first ``start`` iterations (one host copy of those only).

        Returns
        -------
        recorded : dict[str, np.ndarray]
            Every recorded row (metrics, extra series, :data:`FINITE_ROW`), one value per iteration.
        seconds : np.ndarray
            Solve time of each of those iterations (not cumulative).
        """
        lane = self.lanes[index]
        start = min(max(int(start), 0), lane.k)
        return lane.history.to_numpy(start), np.asarray(lane.step_seconds[start:], dtype=np.float64)

    def _display_static(self):
        if self._static_images is None:
            problem = self.problem
            truth = None if problem.x_true is None else display_image(problem, problem.x_true, chroma="cbcr_true")
            observation = display_image(problem, problem.operator.observation_image(problem.y).real)
            self._static_images = (truth, observation)
        return self._static_images

    def iterate(self, lane_index: int, k: int) -> np.ndarray | None:
        """Kept iterate ``k`` of lane ``lane_index`` as a display image, or None if not kept."""
        x = self.lanes[lane_index].iterate_tensor(k)
        return None if x is None else display_image(self.problem, self.problem.to_image(x))

    def kept_iterations(self, lane_index: int) -> list[int]:
        """Iterations whose iterate is kept for lane ``lane_index`` (0 first)."""
        return [0] + [kept.k for kept in self.lanes[lane_index].kept]

    def extras(self, lane_index: int, k: int) -> dict[str, np.ndarray]:
        """Kept intermediate images (``Step.extras``) of iteration ``k`` of lane ``lane_index``.

        Parameters
        ----------
        lane_index : int
        k : int
            Iteration (1-based); extras are kept for the same last ``keep_iterates``
            iterations as the iterates.

        Returns
        -------
        dict[str, np.ndarray]
            Name -> display image (float32, H×W or H×W×3, as ``LaneSnapshot.extras``);
            empty when iteration ``k`` is not kept or its step yielded no extras.
        """
        return self._display_extras(self.lanes[lane_index].extras_tensors(k))

    def _display_extras(self, images: dict) -> dict[str, np.ndarray]:
        """Image-space extras tensors as display images (no chroma added)."""
        return {name: display_image(self.problem, image, chroma="") for name, image in images.items()}

    def memory_bytes(self) -> int:
        """Bytes of kept history (metric buffers, iterates and their extras) over all lanes."""
        return sum(lane.memory_bytes() for lane in self.lanes)


def write_metrics_csv(run: Run | RunSnapshot, path: str | Path) -> None:
    """Write one row per lane per iteration with :data:`CSV_COLUMNS` (NaN where not applicable).

    Floats are written with ``repr`` so they read back exactly. Written atomically.
    """
    from .atomic import atomic_open

    snapshot = run.snapshot() if isinstance(run, Run) else run
    with atomic_open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for lane in snapshot.lanes:
            for i, k in enumerate(lane.iterations):
                writer.writerow(
                    [lane.label, int(k), *(repr(float(lane.metrics[name][i])) for name in METRIC_NAMES), lane.status]
                )
