"""A Run: one problem, N solver lanes stepped in lockstep, with bounded history.

The engine (not the solvers) computes metrics, keeps history, detects divergence and
convergence, and hands detached numpy snapshots to consumers (GUI, CLI, CSV, sessions).
Metrics stay on the run's device as 0-d tensors written into preallocated buffers; the host
synchronises at most once per step (every ``sync_every`` steps) to check all lanes at once.
"""
from __future__ import annotations

import csv
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .metrics import METRIC_NAMES, compute_metrics, context_for
from .config import Config, LaneSpec, check_unique_labels, resolve_lane, split_lane_params
from .problems import build_problem, display_image, resolve_device, resolve_dtype
from .registry import DENOISERS, PRIORS, SOLVERS

CSV_COLUMNS = ("lane", "iteration", *METRIC_NAMES, "status")
_FINITE = "_finite"  # internal history row: 1 if the iterate is finite
_RESERVED_INFO = {"objective", "opt_error", "opt_bound", "accepted", "ended"}


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


class ScalarHistory:
    """Per-iteration scalars kept on the device in a (rows, capacity) float64 buffer.

    The capacity doubles when full; rows (names) are added on first use, NaN elsewhere.
    """

    def __init__(self, device: torch.device, capacity: int = 64):
        self.device = device
        self.names: list[str] = []
        self.buffer = torch.full((0, capacity), math.nan, dtype=torch.float64, device=device)
        self.count = 0

    def append(self, values: dict) -> None:
        """Record one iteration: ``values`` maps names to 0-d tensors or Python numbers."""
        for name in values:
            if name not in self.names:
                self.names.append(name)
                row = torch.full((1, self.buffer.shape[1]), math.nan, dtype=torch.float64, device=self.device)
                self.buffer = torch.cat([self.buffer, row])
        if self.count == self.buffer.shape[1]:
            grown = torch.full((len(self.names), 2 * self.count), math.nan, dtype=torch.float64, device=self.device)
            grown[:, : self.count] = self.buffer
            self.buffer = grown
        column = [torch.as_tensor(values[n], device=self.device).to(torch.float64).reshape(())
                  if n in values else torch.tensor(math.nan, dtype=torch.float64, device=self.device)
                  for n in self.names]
        self.buffer[:, self.count] = torch.stack(column)
        self.count += 1

    def row(self, name: str) -> torch.Tensor:
        """The recorded values of ``name`` (device tensor view)."""
        return self.buffer[self.names.index(name), : self.count]

    def truncate(self, count: int) -> None:
        """Forget iterations past ``count``."""
        self.count = min(self.count, count)

    def to_numpy(self) -> dict[str, np.ndarray]:
        """All rows as numpy arrays (one host copy)."""
        data = self.buffer[:, : self.count].cpu().numpy()
        return {name: data[i].copy() for i, name in enumerate(self.names)}

    def nbytes(self) -> int:
        return self.buffer.numel() * self.buffer.element_size()


class Lane:
    """One solver with its prior/denoiser, iterate, history and status.

    Parameters
    ----------
    spec : LaneSpec
        Resolved lane spec.
    problem : Problem
    seed : int
        ``torch.manual_seed(seed)`` is called before building the lane.
    keep_iterates : int
        Number of latest iterates kept (x⁰ is always kept).
    context : MetricContext, optional
        Cached ground-truth quantities shared by the lanes of a run.
    """

    def __init__(self, spec: LaneSpec, problem, seed: int, keep_iterates: int, context=None):
        self.spec = spec
        self.context = context
        self.status = "ready"
        self.k = 0
        self.problem = problem
        device, dtype = problem.x0.device, _real_dtype(problem.x0)
        self._rng_devices = [device.index or 0] if device.type == "cuda" else []
        solver_params, prior_params, denoiser_params = split_lane_params(spec)
        entry = SOLVERS.get_entry(spec.solver)
        with torch.random.fork_rng(devices=self._rng_devices):
            torch.manual_seed(seed)  # the lane's own random stream, independent of the other lanes
            self.prior = _to(PRIORS.get_entry(spec.prior).factory(prior_params), device, dtype) if spec.prior else None
            self.denoiser = (_to(DENOISERS.get_entry(spec.denoiser).factory(denoiser_params), device, dtype)
                             if spec.denoiser else None)
            kwargs = dict(solver_params)
            if entry.extra.get("needs_prior", False):
                kwargs["prior"] = self.prior
            if entry.extra.get("needs_denoiser", False):
                kwargs["denoiser"] = self.denoiser
            self._steps = entry.factory(problem, **kwargs)
            self._rng_state = _rng_state(self._rng_devices)
        self.x = problem.x0
        self.x0 = problem.x0
        self.history = ScalarHistory(device)
        self.kept: deque = deque(maxlen=max(int(keep_iterates), 0))
        self.step_seconds: list[float] = []
        self.extras: dict = {}
        self.checked = 0  # iterations already checked for divergence/convergence

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def active(self) -> bool:
        """Whether the lane can still be stepped."""
        return self.status in ("ready", "running")

    def advance(self) -> None:
        """Run one solver iteration and record its metrics (no host sync)."""
        start = time.perf_counter()
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=self._rng_devices):
                _set_rng_state(self._rng_state, self._rng_devices)  # the lane's own random stream
                step = next(self._steps)
                self._rng_state = _rng_state(self._rng_devices)
                metrics = compute_metrics(self.problem, self.prior, step.x, self.x, step.info,
                                          context=self.context)
                finite = torch.isfinite(step.x).all()
        except StopIteration:
            self.status = f"ended at {self.k}"
            return
        except Exception as exc:  # a failing solver stops its own lane only
            self.status = f"error: {type(exc).__name__}: {exc}"
            return
        values = {name: metrics[name] for name in METRIC_NAMES if name in metrics}
        values[_FINITE] = finite
        for key, value in step.info.items():
            if key not in _RESERVED_INFO and key not in values and _is_scalar(value):
                values[key] = value
        self.history.append(values)
        self.k += 1
        x = step.x.detach()
        if self.kept.maxlen:
            x = x.clone()  # kept copy, also safe against solvers that update in place
            self.kept.append((self.k, x))
        self.x = x
        self.extras = {name: image.detach() for name, image in step.extras.items()}
        self.status = "running"
        self.step_seconds.append(time.perf_counter() - start)
        ended = step.info.get("ended", False)
        if ended is True or (isinstance(ended, torch.Tensor) and bool(ended)):
            self.status = f"ended at {self.k}"

    def stop_at(self, k: int, status: str) -> None:
        """Stop the lane with ``status``, forgetting iterations after ``k``."""
        self.k = k
        self.history.truncate(k)
        del self.step_seconds[k:]
        self.kept = deque(((i, x) for i, x in self.kept if i <= k), maxlen=self.kept.maxlen)
        for i, x in reversed(self.kept):
            self.x = x
            break
        self.checked = k
        self.status = status

    def pending_flags(self) -> torch.Tensor:
        """(2, n) device tensor of [finite, rel_change] for iterations not yet checked."""
        rows = [self.history.row(_FINITE), self.history.row("rel_change")] if self.history.count else []
        if not rows:
            return torch.zeros((2, 0), dtype=torch.float64, device=self.history.device)
        return torch.stack(rows)[:, self.checked:]

    def iterate_tensor(self, k: int):
        """Kept iterate k (unknown space, device) or None."""
        if k == 0:
            return self.x0
        for i, x in self.kept:
            if i == k:
                return x
        return None

    def memory_bytes(self) -> int:
        tensors = [self.x0] + [x for _, x in self.kept]
        return self.history.nbytes() + sum(t.numel() * t.element_size() for t in tensors)


class Run:
    """One problem and its lanes, stepped in lockstep.

    Parameters
    ----------
    config : Config
        Resolved config; ``config.lanes`` follows :meth:`add_lane` / :meth:`remove_lane` /
        :meth:`replace_lane`.
    problem : Problem, optional
        Reuse an already built problem (must match ``config.problem``).
    """

    def __init__(self, config: Config, problem=None):
        self.config = config
        self.device = resolve_device(config.run.device)
        self.dtype = resolve_dtype(config.run.dtype)
        self.problem = problem if problem is not None else build_problem(config.problem, self.device, self.dtype)
        self.sync_every = config.run.sync_every or (10 if self.device.type == "cuda" else 1)
        self._since_check = 0
        self._static_images = None
        self.metric_context = None if self.problem.x_true is None else context_for(self.problem.x_true)
        check_unique_labels(config.lanes)
        self.lanes: list[Lane] = [self._make_lane(spec) for spec in config.lanes]

    # --- settings ------------------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """Target iterations per lane for :meth:`run`."""
        return self.config.run.iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        self.config.run.iterations = int(value)

    @property
    def done(self) -> bool:
        """True when every lane is stopped or has reached :attr:`iterations`."""
        return all(not lane.active or lane.k >= self.iterations for lane in self.lanes)

    # --- lanes ---------------------------------------------------------------------------
    def _make_lane(self, spec: LaneSpec) -> Lane:
        return Lane(spec, self.problem, self.config.problem.seed, self.config.run.keep_iterates,
                    self.metric_context)

    def add_lane(self, spec: LaneSpec) -> Lane:
        """Validate ``spec`` and append a new lane (starting at iteration 0)."""
        spec = resolve_lane(spec)
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
        others = [s for i, s in enumerate(self.config.lanes) if i != index]
        check_unique_labels([*others, spec])
        lane = self._make_lane(spec)
        self.lanes[index] = lane
        self.config.lanes[index] = spec
        return lane

    # --- stepping ------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Advance every active lane by ``n`` iterations in lockstep (ignores :attr:`iterations`).

        Divergence/convergence are checked every ``sync_every`` steps (and by :meth:`snapshot`),
        so on CUDA a lane may be found diverged a few steps late; its history is then cut back
        to the first non-finite iterate.
        """
        for _ in range(int(n)):
            active = [lane for lane in self.lanes if lane.active]
            if not active:
                break
            self._advance(active)

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
            active = [lane for lane in self.lanes if lane.active and lane.k < target]
            if not active:
                break
            self._advance(active)
            if progress is not None:
                progress(max(lane.k for lane in self.lanes))
        self.check()

    def _advance(self, lanes) -> None:
        for lane in lanes:
            lane.advance()
        self._since_check += 1
        if self._since_check >= self.sync_every:
            self.check()

    def check(self) -> None:
        """Stop diverged (non-finite iterate) and converged (rel_change < tolerance) lanes.

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
            finite, rel_change = flags[:, offset: offset + part.shape[1]]
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

    # --- consumers -----------------------------------------------------------------------
    def snapshot(self) -> RunSnapshot:
        """Detached numpy copies of everything a consumer shows (runs :meth:`check` first)."""
        self.check()
        truth, observation = self._display_static()
        lanes = []
        for lane in self.lanes:
            history = lane.history.to_numpy()
            metrics = {name: history.get(name, np.full(lane.k, np.nan)) for name in METRIC_NAMES}
            series = {name: values for name, values in history.items()
                      if name not in METRIC_NAMES and name != _FINITE}
            image = self.problem.to_image(lane.x)
            error = None
            if self.problem.x_true is not None:
                error = display_image(self.problem, image - self.problem.x_true, chroma="")
            lanes.append(LaneSnapshot(
                label=lane.label, color=lane.spec.color, status=lane.status, k=lane.k,
                image=display_image(self.problem, image), error_map=error, metrics=metrics,
                iterations=np.arange(1, lane.k + 1), seconds=np.cumsum(lane.step_seconds),
                extras={name: display_image(self.problem, x, chroma="") for name, x in lane.extras.items()},
                series=series))
        return RunSnapshot(truth, observation, lanes, self.iterations)

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
        return [0] + [k for k, _ in self.lanes[lane_index].kept]

    def memory_bytes(self) -> int:
        """Bytes of kept history (metric buffers and iterates) over all lanes."""
        return sum(lane.memory_bytes() for lane in self.lanes)


def write_metrics_csv(run: Run | RunSnapshot, path: str | Path) -> None:
    """Write one row per lane per iteration with :data:`CSV_COLUMNS` (NaN where not applicable).

    Floats are written with ``repr`` so they read back exactly. Written atomically.
    """
    import os

    snapshot = run.snapshot() if isinstance(run, Run) else run
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for lane in snapshot.lanes:
            for i, k in enumerate(lane.iterations):
                writer.writerow([lane.label, int(k), *(repr(float(lane.metrics[name][i])) for name in METRIC_NAMES),
                                 lane.status])
    os.replace(tmp, path)


def _rng_state(devices: list) -> list:
    """CPU (and CUDA) random generator states."""
    return [torch.get_rng_state()] + [torch.cuda.get_rng_state(d) for d in devices]


def _set_rng_state(states: list, devices: list) -> None:
    torch.set_rng_state(states[0])
    for device, state in zip(devices, states[1:]):
        torch.cuda.set_rng_state(state, device)


def _real_dtype(t: torch.Tensor) -> torch.dtype:
    return t.real.dtype if t.is_complex() else t.dtype


def _to(component, device, dtype):
    """Move a prior/denoiser that has ``.to`` (e.g. a torch module) to the run's device/dtype."""
    mover = getattr(component, "to", None)
    if callable(mover):
        moved = mover(device=device, dtype=dtype)
        return component if moved is None else moved
    return component


def _is_scalar(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.is_complex()
    return isinstance(value, (int, float, bool))
