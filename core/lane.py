"""One solver lane: its generator, prior/denoiser, iterate, metric history and status.

Metrics stay on the run's device: each iteration's 0-d tensors are written into a preallocated
(rows, capacity) buffer that doubles when full; nothing here synchronises with the host.
The last ``keep_iterates`` iterates are kept together with their intermediate images
(``Step.extras``) as :class:`KeptStep` entries, so consumers can show any kept iteration.
"""

from __future__ import annotations

import math
import time
from array import array
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch

from .lane_spec import LaneSpec, split_lane_params
from .metrics import applicable_metrics
from .registry import DENOISERS, PRIORS, SOLVERS

FINITE_ROW = "_finite"  # internal history row: 1 if the iterate is finite
_RESERVED_INFO = {"objective", "prior_value", "opt_error", "opt_bound", "accepted", "ended"}


class ScalarHistory:
    """Per-iteration scalars kept on the device in a (rows, capacity) float64 buffer.

    The capacity doubles when full; rows (names) are added on first use, NaN elsewhere.
    Tensor values are stacked on the device and copied into the column (no host sync); Python
    numbers go through a numpy view of the buffer on the CPU (a tensor made of them elsewhere).
    """

    def __init__(self, device: torch.device, capacity: int = 64):
        self.device = torch.device(device)
        self.names: list[str] = []
        self._rows: dict[str, int] = {}
        self._set_buffer(torch.full((0, capacity), math.nan, dtype=torch.float64, device=self.device))
        self.count = 0
        self._written = 0  # columns ever written (past ``count`` after a truncation: to be cleared)

    def _set_buffer(self, buffer: torch.Tensor) -> None:
        self.buffer = buffer
        self._host = buffer.numpy() if buffer.device.type == "cpu" else None  # shares its memory

    def append(self, values: dict) -> None:
        """Record one iteration: ``values`` maps names to 0-d tensors or Python numbers.

        Names absent from ``values`` read NaN for this iteration.
        """
        rows = self._rows
        for name in values:
            if name not in rows:
                rows[name] = len(self.names)
                self.names.append(name)
                row = torch.full((1, self.buffer.shape[1]), math.nan, dtype=torch.float64, device=self.device)
                self._set_buffer(torch.cat([self.buffer, row]))
        if self.count == self.buffer.shape[1]:
            grown = torch.full((len(self.names), 2 * self.count), math.nan, dtype=torch.float64, device=self.device)
            grown[:, : self.count] = self.buffer
            self._set_buffer(grown)
        column = self.buffer[:, self.count]
        if self.count < self._written:
            column.fill_(math.nan)  # a column left from before a truncation
        # one stack (in the tensors' common dtype) copied into the column for the tensors; the
        # numbers (host values) through the host view on the CPU, else one tensor
        tensor_rows, tensors, number_rows, numbers = [], [], [], []
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensor_rows.append(rows[name])
                tensors.append(value if value.dim() == 0 else value.reshape(()))
            else:
                number_rows.append(rows[name])
                numbers.append(float(value))
        if tensors:
            _stack_into(column, tensor_rows, tensors)
        if numbers:
            if self._host is not None:
                self._host[number_rows, self.count] = numbers
            else:
                _assign_rows(column, number_rows, torch.tensor(numbers, dtype=torch.float64, device=self.device))
        self.count += 1
        self._written = max(self._written, self.count)

    def row(self, name: str) -> torch.Tensor:
        """The recorded values of ``name`` (device tensor view)."""
        return self.buffer[self._rows[name], : self.count]

    def truncate(self, count: int) -> None:
        """Forget iterations past ``count``."""
        self.count = min(self.count, count)

    def to_numpy(self, start: int = 0) -> dict[str, np.ndarray]:
        """All rows as numpy arrays, from iteration index ``start`` on (one host copy)."""
        data = self.buffer[:, start : self.count].cpu().numpy()
        return {name: data[i].copy() for i, name in enumerate(self.names)}

    def nbytes(self) -> int:
        return self.buffer.numel() * self.buffer.element_size()


@dataclass
class KeptStep:
    """One kept iteration of a lane: detached device clones of the iterate and its extras.

    Attributes
    ----------
    k : int
        Iteration number (1-based).
    x : torch.Tensor
        Iterate x^k (unknown space).
    extras : dict[str, torch.Tensor]
        The step's intermediate images (image space), name -> tensor.
    """

    k: int
    x: torch.Tensor
    extras: dict = field(default_factory=dict)

    def nbytes(self) -> int:
        """Bytes held by the iterate and the extras."""
        return sum(t.numel() * t.element_size() for t in (self.x, *self.extras.values()))


def build_solver(spec: LaneSpec, problem):
    """The solver generator of a resolved lane, with its prior and denoiser.

    The one place a lane's components are built (the engine's lanes, benchmarks and
    reproductions all call it): prior and denoiser come from their registries with the lane's
    parameters and are moved to the problem's device and dtype.

    Parameters
    ----------
    spec : LaneSpec
        A lane resolved by :func:`core.lane_spec.resolve_lane`.
    problem : Problem

    Returns
    -------
    tuple
        ``(steps, prior, denoiser)``: the Step generator and the components (None where the
        solver takes none).
    """
    device, dtype = problem.x0.device, _real_dtype(problem.x0)
    solver_params, prior_params, denoiser_params = split_lane_params(spec)
    entry = SOLVERS.get_entry(spec.solver)
    prior = _to(PRIORS.get_entry(spec.prior).factory(prior_params), device, dtype) if spec.prior else None
    denoiser = (
        _to(DENOISERS.get_entry(spec.denoiser).factory(denoiser_params), device, dtype) if spec.denoiser else None
    )
    kwargs = dict(solver_params)
    if entry.extra.get("needs_prior", False):
        kwargs["prior"] = prior
    if entry.extra.get("needs_denoiser", False):
        kwargs["denoiser"] = denoiser
    return entry.factory(problem, **kwargs), prior, denoiser


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
        Number of latest iterates kept with their extras (x⁰ is always kept).
    context : MetricContext, optional
        Cached ground-truth quantities shared by the lanes of a run.
    """

    def __init__(self, spec: LaneSpec, problem, seed: int, keep_iterates: int, context=None):
        self.spec = spec
        self.context = context
        self.status = "ready"
        self.k = 0
        self.problem = problem
        device = problem.x0.device
        self._rng_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=self._rng_devices):
            torch.manual_seed(seed)  # the lane's own random stream, independent of the other lanes
            self._steps, self.prior, self.denoiser = build_solver(spec, problem)
            self._rng_state = _rng_state(self._rng_devices)
        self.x = problem.x0
        self.x0 = problem.x0
        self._image = None  # problem.to_image(self.x) once computed (the next step's image_old)
        self._image_of = None  # (tensor, version) the kept image belongs to
        self.history = ScalarHistory(device)
        self.kept: deque[KeptStep] = deque(maxlen=max(int(keep_iterates), 0))
        self.step_seconds = array("d")  # seconds per iteration (8 bytes each)
        self.extras: dict = {}  # the latest step's intermediate images
        self.checked = 0  # iterations already checked for divergence/convergence

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def active(self) -> bool:
        """Whether the lane can still be stepped."""
        return self.status == "ready" or self.status.startswith("running")

    def advance(self) -> None:
        """Run one solver iteration and record its metrics (no host sync)."""
        start = time.perf_counter()
        try:
            with torch.no_grad():
                step = self._next_step()
                image = self.problem.to_image(step.x)
                metrics = applicable_metrics(
                    self.problem,
                    self.prior,
                    step.x,
                    self.x,
                    step.info,
                    context=self.context,
                    image=image,
                    image_old=self._previous_image(),
                )
                finite = _all_finite(step.x)
        except StopIteration:
            self.status = f"ended at {self.k}"
            return
        except Exception as exc:  # a failing solver stops its own lane only
            self.status = f"error: {type(exc).__name__}: {exc}"
            return
        values = metrics  # the applicable metrics (the history reads NaN for the others)
        values[FINITE_ROW] = finite
        for key, value in step.info.items():
            if key not in _RESERVED_INFO and key not in values and _is_scalar(value):
                values[key] = value
        self.history.append(values)
        self.k += 1
        x = step.x.detach()
        extras = {name: image.detach() for name, image in step.extras.items()}
        if self.kept.maxlen:
            # kept copies, also safe against solvers that update in place
            x = x.clone()
            extras = {name: image.clone() for name, image in extras.items()}
            self.kept.append(KeptStep(self.k, x, extras))
        self.x = x
        # the image of x for the next step's rel_change: an image sharing memory with the solver's
        # tensor is taken again from the lane's own copy (cheap: to_image is then a view)
        self._remember_image(self.problem.to_image(x) if _shares_memory(image, step.x) else image)
        self.extras = extras
        self.status = "running"
        self.step_seconds.append(time.perf_counter() - start)
        ended = step.info.get("ended", False)
        if ended is True or (isinstance(ended, torch.Tensor) and bool(ended)):
            self.status = f"ended at {self.k}"

    def _next_step(self):
        """``next(steps)`` on the lane's own random stream (the global one restored after)."""
        devices = self._rng_devices
        outside = _rng_state(devices)
        _set_rng_state(self._rng_state, devices)
        try:
            step = next(self._steps)
            self._rng_state = _rng_state(devices)
        finally:
            _set_rng_state(outside, devices)
        return step

    def _remember_image(self, image) -> None:
        """Keep ``to_image(self.x)`` for the next step, tied to that tensor and its version."""
        self._image = image
        self._image_of = (self.x, _version_of(self.x))

    def _previous_image(self):
        """The kept image of ``self.x``, or None (recomputed) if x was replaced or changed in place."""
        if self._image is None or self._image_of[0] is not self.x or self._image_of[1] != _version_of(self.x):
            return None
        return self._image

    def stop_at(self, k: int, status: str) -> None:
        """Stop the lane with ``status``, forgetting iterations after ``k``."""
        self.k = k
        self.history.truncate(k)
        del self.step_seconds[k:]
        self.kept = deque((kept for kept in self.kept if kept.k <= k), maxlen=self.kept.maxlen)
        if self.kept:
            self.x, self.extras = self.kept[-1].x, self.kept[-1].extras
        self._image = None
        self.checked = k
        self.status = status

    def pending_flags(self) -> torch.Tensor:
        """(2, n) device tensor of [finite, rel_change] for iterations not yet checked."""
        if not self.history.count:
            return torch.zeros((2, 0), dtype=torch.float64, device=self.history.device)
        history, start = self.history, self.checked
        rel = history.row("rel_change") if "rel_change" in history.names else history.row(FINITE_ROW) * math.nan
        return torch.stack([history.row(FINITE_ROW)[start:], rel[start:]])

    def kept_step(self, k: int) -> KeptStep | None:
        """The kept entry of iteration ``k`` (k ≥ 1), or None if not kept."""
        for kept in self.kept:
            if kept.k == k:
                return kept
        return None

    def iterate_tensor(self, k: int):
        """Kept iterate k (unknown space, device) or None."""
        if k == 0:
            return self.x0
        kept = self.kept_step(k)
        return None if kept is None else kept.x

    def extras_tensors(self, k: int) -> dict:
        """Kept extras of iteration ``k`` (image space, device tensors); {} if not kept."""
        kept = self.kept_step(k) if k >= 1 else None
        return {} if kept is None else dict(kept.extras)

    def memory_bytes(self) -> int:
        """Bytes of the metric buffer, the step times, x⁰ and the kept iterates with their extras."""
        seconds = self.step_seconds.itemsize * len(self.step_seconds)
        kept = sum(entry.nbytes() for entry in self.kept)
        return self.history.nbytes() + seconds + self.x0.numel() * self.x0.element_size() + kept


def _stack_into(column: torch.Tensor, rows: list[int], tensors: list) -> None:
    """column[rows] = stack(tensors), converted to the column's dtype by one copy.

    The stack promotes to the tensors' common dtype (float32 for a float32 run): a stack that
    promotes into a float64 ``out`` is slower than a float32 stack followed by a copy."""
    device = tensors[0].device
    if all(t.device == device for t in tensors):
        values = torch.stack(tensors)
    else:
        values = torch.stack([t.to(column.device, column.dtype) for t in tensors])
    _assign_rows(column, rows, values)


def _assign_rows(column: torch.Tensor, rows: list[int], values: torch.Tensor) -> None:
    """column[rows] = values, as one slice copy when the rows are consecutive."""
    if rows == list(range(rows[0], rows[0] + len(rows))):
        column[rows[0] : rows[0] + len(rows)].copy_(values)
    else:
        column[torch.tensor(rows, device=column.device)] = values.to(column.device, column.dtype)


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


def _all_finite(x: torch.Tensor) -> torch.Tensor:
    """0-d bool tensor: no NaN or ±inf in ``x`` (no host sync).

    One ``aminmax`` pass: NaN propagates to both extremes and an infinity is one of them, so the
    result equals ``torch.isfinite(x).all()`` without materialising the elementwise mask.
    """
    if x.is_complex() or not x.is_floating_point() or x.numel() == 0:
        return torch.isfinite(x).all()
    low, high = torch.aminmax(x)
    return torch.isfinite(low) & torch.isfinite(high)


def _version_of(t: torch.Tensor):
    """The tensor's in-place version counter (None for inference tensors, which have none and
    cannot be changed in place outside inference mode)."""
    try:
        return t._version
    except RuntimeError:
        return None


def _shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors use the same storage (one is the other or a view of it)."""
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def _is_scalar(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.is_complex()
    return isinstance(value, (int, float, bool))
