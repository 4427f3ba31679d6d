"""Contract of every registered solver on every degradation it declares (``degradations=`` in
its registration; none declared = every registered degradation), on a small float32 problem:

* its Steps obey docs/architecture.md: ``k`` = 1, 2, 3, …; ``x`` finite, of x⁰'s shape, dtype and
  device; ``info`` scalars are 0-d real tensors (or Python numbers); ``ended`` only on the last
  step, after which the generator stops; ``extras`` are finite image-sized tensors;
* after its first step the loop makes no host sync (no ``.item()``, ``.cpu()``, ``.numpy()``,
  ``.tolist()``, ``bool()``, ``float()``, ``int()`` on tensors);
* the engine runs it as a lane (config check, parameter split, metrics) without error.

Parametrised over ``SOLVERS`` × degradations (ids = ``solver-degradation``): a newly registered
solver or degradation is checked the day it is added, with no edit here. Learned solvers use
their shipped weights (resources/weights), on the CPU. Numerical references for the classical
solvers are in tests/core/test_solvers.py and test_podm.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from core.config import Config, ProblemSpec
from core.engine import Run
from core.lane import build_solver
from core.lane_spec import LaneSpec, applicability, complete_lane, resolve_lane
from core.problem import build_problem
from core.registry import DEGRADATIONS, SOLVERS, load_all
from core.solvers.base import Step

load_all()

SIZE = 40  # 40×40 camera: above one 33-pixel CS block, a multiple of 8
STEPS = 5  # steps taken (fewer when a fixed-stage solver ends first)
HOST_SYNCS = ("item", "cpu", "numpy", "tolist", "__bool__", "__float__", "__int__")


def solver_cases() -> list[tuple[str, str]]:
    """Every (solver, degradation) pair the lane rules accept."""
    cases = []
    for solver in sorted(SOLVERS):
        declared = SOLVERS[solver].extra.get("degradations")
        for degradation in sorted(DEGRADATIONS if declared is None else declared):
            assert degradation in DEGRADATIONS, f"solver '{solver}' declares unknown degradation '{degradation}'"
            assert applicability(solver, degradation) is None
            cases.append((solver, degradation))
    return cases


#: (solver, degradation) cases that fail because of a known bug in core (strict: fixing the bug
#: turns the xfail into a failure, so the entry is removed with the fix)
KNOWN_BUGS: dict = {}


def case_params() -> list:
    return [
        pytest.param(
            solver,
            degradation,
            id=f"{solver}-{degradation}",
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[solver, degradation])]
            if (solver, degradation) in KNOWN_BUGS
            else [],
        )
        for solver, degradation in solver_cases()
    ]


CASES = case_params()


def lane_table(solver: str) -> dict:
    """The lane the GUI's editor makes for ``solver`` (default prior/denoiser where it takes one)."""
    return complete_lane({"solver": solver, "label": solver, "params": {}})


def small_problem(degradation: str):
    params = DEGRADATIONS.get_entry(degradation).resolve({})
    spec = ProblemSpec(image="camera", size=SIZE, degradation=degradation, noise_sigma=0.01, seed=0, params=params)
    return build_problem(spec, "cpu", "float32")


def start_solver(solver: str, problem):
    """The solver's Step generator, built as the engine's lanes build it (core.lane.build_solver)."""
    table = lane_table(solver)
    lane = resolve_lane(
        LaneSpec(
            solver=solver,
            label=solver,
            prior=table.get("prior"),
            denoiser=table.get("denoiser"),
            params=table["params"],
        )
    )
    torch.manual_seed(0)
    steps, _, _ = build_solver(lane, problem)
    return steps


def take(generator, count: int) -> tuple[list[Step], bool]:
    """Up to ``count`` steps; also whether the generator stopped by itself."""
    steps = []
    with torch.no_grad():
        for _ in range(count):
            try:
                steps.append(next(generator))
            except StopIteration:
                return steps, True
    return steps, False


def is_ended(step: Step) -> bool:
    ended = step.info.get("ended", False)
    return bool(ended.item()) if isinstance(ended, torch.Tensor) else bool(ended)


@pytest.mark.parametrize("solver,degradation", CASES)
def test_steps_obey_the_step_contract(solver, degradation):
    problem = small_problem(degradation)
    steps, stopped = take(start_solver(solver, problem), STEPS)
    assert steps, "the solver yielded no step"
    image_size = tuple(problem.x_true.shape[-2:])
    for index, step in enumerate(steps, start=1):
        assert isinstance(step, Step)
        assert step.k == index, [s.k for s in steps]
        assert isinstance(step.x, torch.Tensor)
        assert step.x.shape == problem.x0.shape and step.x.dtype == problem.x0.dtype
        assert step.x.device == problem.x0.device and bool(torch.isfinite(step.x).all()), index
        for key, value in step.info.items():
            if isinstance(value, torch.Tensor):
                assert value.dim() == 0 and not value.is_complex(), (key, tuple(value.shape))
                assert value.device == problem.x0.device, key
            else:
                assert isinstance(value, (bool, int, float)), (key, type(value))
        for name, image in step.extras.items():
            assert isinstance(image, torch.Tensor) and tuple(image.shape[-2:]) == image_size, name
            assert image.dim() in (2, 3) and bool(torch.isfinite(image).all()), name
    ended = [is_ended(step) for step in steps]
    assert not any(ended[:-1]), ended  # 'ended' only on the last step …
    if ended[-1]:
        assert stopped or take_one_more_stops(solver, problem, len(steps))
    if stopped:  # … and a generator stops only after it
        assert ended[-1], "the generator stopped without flagging its last step 'ended'"


def take_one_more_stops(solver: str, problem, count: int) -> bool:
    """Whether the generator stops right after its ``count``-th step (the one flagged 'ended')."""
    generator = start_solver(solver, problem)
    take(generator, count)
    extra, stopped = take(generator, 1)
    return stopped and not extra


@pytest.mark.parametrize("solver,degradation", CASES)
def test_step_loop_makes_no_host_sync(solver, degradation, monkeypatch):
    """After the first step (Lipschitz constant, factorisations, weights), stepping calls no
    host-synchronising tensor method: data-dependent choices use torch.where."""
    problem = small_problem(degradation)
    generator = start_solver(solver, problem)
    first, stopped = take(generator, 1)
    assert first and not stopped
    calls = []
    for method in HOST_SYNCS:
        original = getattr(torch.Tensor, method)

        def spy(self, *args, _name=method, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, spy)
    steps, _ = take(generator, STEPS - 1)
    monkeypatch.undo()
    assert calls == []
    assert [s.k for s in steps] == list(range(2, 2 + len(steps)))


@pytest.mark.parametrize("solver,degradation", CASES)
def test_engine_runs_the_solver_as_a_lane(solver, degradation):
    config = Config.from_dict(
        {
            "problem": {"image": "camera", "size": SIZE, "degradation": degradation, "noise_sigma": 0.01},
            "lanes": [lane_table(solver)],
            "run": {"iterations": 3, "keep_iterates": 3},
        }
    )
    run = Run(config)
    run.step(3)
    lane = run.lanes[0]
    assert lane.status == "running" or lane.status.startswith("ended at"), lane.status
    snapshot = run.snapshot().lanes[0]
    assert 1 <= snapshot.k <= 3 and len(snapshot.metrics["psnr"]) == snapshot.k
    assert all(math.isfinite(value) for value in snapshot.metrics["psnr"])
    assert all(math.isfinite(value) for value in snapshot.metrics["rel_change"])
    assert snapshot.image.shape == run.snapshot().ground_truth.shape
