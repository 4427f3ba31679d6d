"""Differentiable unrolled ADMM: which shipped projector the lane picks (the problem's own one for
the four OneNet problems, else the one for all four, saying so), the shipped weights (checksum,
no pickle), and the shipped networks against bicubic and against their own plug-in use."""

from __future__ import annotations

import json

import pytest
import torch

from core.config import ProblemSpec
from core.learned.unrolled_admm.lane import weights_for
from core.learned.unrolled_admm.net import UnrolledADMM
from core.learned.unrolled_admm.problems import PROBLEMS, matching_problem
from core.learned.weights import load_state, sha256_file, weights_path
from core.paths import weights_dir
from core.problem import build_problem
from core.registry import DEGRADATIONS, SOLVERS

NAMES = ["unrolled_admm"] + [f"unrolled_admm_{p.key}" for p in PROBLEMS]


def make_problem(degradation, size=64, sigma=0.0, image="astronaut", **params):
    spec = ProblemSpec(
        image=image,
        size=size,
        degradation=degradation,
        noise_sigma=sigma,
        params=DEGRADATIONS.get_entry(degradation).resolve(params),
    )
    return build_problem(spec, dtype="float32")


def onenet_problem(entry, **kw):
    return make_problem(entry.degradation, sigma=entry.sigma, **entry.params, **kw)


def psnr(x, ref):
    return float(10 * torch.log10(1.0 / ((x.clamp(0, 1) - ref) ** 2).mean()))


def lane(problem, weights="auto", stages=0):
    """The lane run on past its trained iterations (stages = 0), unless told otherwise."""
    return SOLVERS.get_entry("unrolled_admm").factory(problem, weights=weights, admm_rho=None, stages=stages)


def test_the_lane_is_the_unrolled_network_by_default_and_runs_on_as_the_plug_in_when_asked():
    problem = make_problem("sr", scale=2, method="box")
    default = list(SOLVERS.get_entry("unrolled_admm").factory(problem))  # ends by itself
    trained = int(UnrolledADMM.from_state_dict(load_state("unrolled_admm_sr")).iterations)
    assert trained == 8 and [s.k for s in default] == list(range(1, trained + 1))
    assert [s.info["ended"] for s in default] == [False] * (trained - 1) + [True]
    three = list(lane(problem, stages=3))
    assert len(three) == 3 and torch.equal(three[-1].x, default[2].x)
    run_on = lane(problem)
    assert not any(next(run_on).info["ended"] for _ in range(trained + 5))


def test_each_onenet_problem_gets_its_own_projector():
    for entry in PROBLEMS:
        problem = onenet_problem(entry, size=32)
        assert matching_problem(problem) is entry
        assert weights_for(problem) == (f"unrolled_admm_{entry.key}", None)
        step = next(lane(problem))
        assert float(step.info["problem_weights"]) == 1.0
        assert abs(float(step.info["rho"]) - entry.rho) < 1e-6  # float32 problem


@pytest.mark.parametrize(
    "degradation, sigma, params",
    [
        ("inpaint", 0.0, {"mode": "random", "keep_rate": 0.5}),  # noise level differs
        ("inpaint", 0.1, {"mode": "random", "keep_rate": 0.3}),  # keep rate differs
        ("sr", 0.0, {"scale": 3, "method": "box"}),
        ("sr", 0.0, {"scale": 2, "method": "bicubic"}),
    ],
)
def test_other_problems_fall_back_to_the_one_network_and_say_so(degradation, sigma, params):
    problem = make_problem(degradation, size=48, sigma=sigma, **params)
    assert matching_problem(problem) is None
    name, reason = weights_for(problem)
    assert name == "unrolled_admm" and "OneNet problems" in reason
    with pytest.warns(UserWarning, match="per-problem projector not used"):
        step = next(lane(problem))
    assert float(step.info["problem_weights"]) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_shipped_weights_match_the_manifest_and_load_without_pickle(name):
    entry = json.loads((weights_dir() / "manifest.json").read_text())[name]
    assert sha256_file(weights_path(name)) == entry["sha256"]
    state = torch.load(weights_path(name), weights_only=True)
    net = UnrolledADMM.from_state_dict(load_state(name))
    assert set(state) == set(net.state_dict()) and int(net.iterations) == 8


def test_shipped_sr_projector_beats_bicubic_where_the_one_network_does_not():
    problem = make_problem("sr", scale=2, method="box")
    bicubic = psnr(problem.x0, problem.x_true)
    own, one = lane(problem), lane(problem, "unrolled_admm")
    for _ in range(8):
        own_step, one_step = next(own), next(one)
    own, one = own_step, one_step
    assert psnr(own.x, problem.x_true) > bicubic + 0.3
    assert psnr(one.x, problem.x_true) < bicubic  # the multi-task projector over-smooths SR


@pytest.mark.parametrize("entry", PROBLEMS, ids=[p.key for p in PROBLEMS])
def test_eight_unrolled_iterations_beat_x0_and_the_plug_in_run_on(entry):
    problem = onenet_problem(entry)
    it = lane(problem)
    steps = [next(it) for _ in range(100)]
    unrolled = psnr(steps[7].x, problem.x_true)
    assert unrolled > psnr(problem.x0, problem.x_true) + 0.3
    assert unrolled >= psnr(steps[-1].x, problem.x_true) - 0.05
