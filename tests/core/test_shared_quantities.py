"""Quantities computed once and shared (issue 11), checked against recomputing them:

* the objective ISTA/FISTA report from the residual and the prior's prox equals Φ(x^k) evaluated
  from scratch, and FISTA's A y^{k+1} by linearity gives the textbook iterates; ADMM's g(z^k)
  from the prox, completed by the engine with the data term, equals Φ(z^k);
* ``Prior.prox_with_value`` equals ``(prox, value(prox))`` for every registered prior;
* ``MetricContext.errors`` (one difference for rec_error and PSNR) equals the plain formulas,
  also for iterates outside [0, 1];
* the lane's cached previous image is not used once stale: after ``replace_lane``, after the
  lane's iterate is replaced or changed in place, and after a history truncation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _solver_problems import make_problem

from core.config import Config
from core.engine import Run
from core.lane import ScalarHistory, build_solver
from core.lane_spec import LaneSpec
from core.metrics import MetricContext, applicable_metrics, psnr, rel_change
from core.priors.base import L1Pixel
from core.registry import PRIORS, SOLVERS, load_all

load_all()


def _dense_problem(seed=0):
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((30, 36)) / 6.0
    return make_problem(matrix, (1, 6, 6), noise_sigma=0.01, seed=seed)


PRIOR_CASES = [
    ("l1", {"lam": 0.05}),
    ("l1_wavelet", {"lam": 0.05, "wavelet": "haar", "levels": 1}),
    ("lp", {"lam": 0.05, "p": 0.7, "transform": "haar"}),
    ("tv", {"lam": 0.05, "tv_iters": 15}),
    ("box", {}),
    ("none", {}),
]


@pytest.mark.parametrize("solver", ["ista", "fista"])
@pytest.mark.parametrize("prior_name, prior_params", PRIOR_CASES)
def test_reported_objective_is_the_objective_of_the_returned_iterate(solver, prior_name, prior_params):
    problem = _dense_problem()
    prior = PRIORS.get_entry(prior_name).factory(PRIORS.get_entry(prior_name).resolve(prior_params))
    steps = SOLVERS.get_entry(solver).factory(problem, prior=prior, step_size=None)
    checker = PRIORS.get_entry(prior_name).factory(PRIORS.get_entry(prior_name).resolve(prior_params))
    for _ in range(12):
        step = next(steps)
        expected = float(problem.objective(step.x, checker))
        # 1e-10: recomputing W x gives rounding-level coefficients (≈ 1e-17) where the prox has
        # exact zeros, and |t|^p with p = 0.7 lifts them to ≈ 1e-12
        assert float(step.info["objective"]) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("prior_name, prior_params", PRIOR_CASES)
def test_admm_reports_the_prior_value_of_z_and_the_engine_completes_the_objective(prior_name, prior_params):
    problem = _dense_problem(2)
    entry = PRIORS.get_entry(prior_name)
    prior = entry.factory(entry.resolve(prior_params))
    steps = SOLVERS.get_entry("admm").factory(problem, prior=prior, rho=0.5)
    checker = entry.factory(entry.resolve(prior_params))
    x_old = problem.x0
    for _ in range(12):
        step = next(steps)
        expected_g = float(checker.value(step.x))
        assert float(step.info["prior_value"]) == pytest.approx(expected_g, rel=1e-10, abs=1e-12)
        recorded = applicable_metrics(problem, prior, step.x, x_old, step.info)["objective"]
        assert float(recorded) == pytest.approx(float(problem.objective(step.x, checker)), rel=1e-10, abs=1e-12)
        x_old = step.x
    # the engine records Φ(z^k), not prior_value as a series of its own
    run = Run(_config([{"label": "A", "solver": "admm", "prior": "l1_wavelet", "params": {"lam": 0.01}}]))
    run.step(3)
    lane = run.lanes[0]
    assert "prior_value" not in lane.history.names
    z = lane.x
    expected = float(
        run.problem.objective(
            z, PRIORS.get_entry("l1_wavelet").factory(PRIORS.get_entry("l1_wavelet").resolve({"lam": 0.01}))
        )
    )
    assert float(lane.history.row("objective")[-1]) == pytest.approx(expected, rel=1e-12)


def test_fista_with_the_linear_combination_of_a_x_gives_the_textbook_iterates():
    problem = _dense_problem(3)
    lam = 0.02
    steps = SOLVERS.get_entry("fista").factory(problem, prior=L1Pixel(lam), step_size=None)
    # Beck & Teboulle (4.1)–(4.3), with ∇f evaluated at y^k directly
    matrix = problem.operator.matrix.numpy()
    y_obs = problem.y.numpy()
    gamma = 1.0 / problem.lipschitz()
    x_prev = problem.x0.numpy().ravel().copy()
    v, t = x_prev.copy(), 1.0
    for _ in range(25):
        z = v - gamma * matrix.T @ (matrix @ v - y_obs)
        x = np.sign(z) * np.maximum(np.abs(z) - lam * gamma, 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        v = x + ((t - 1) / t_next) * (x - x_prev)
        x_prev, t = x, t_next
        np.testing.assert_allclose(next(steps).x.numpy().ravel(), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_prox_with_value_equals_prox_then_value(name):
    entry = PRIORS.get_entry(name)
    params = {"lam": 0.1} if any(p.name == "lam" for p in entry.params) else {}
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-5)):
        prior = entry.factory(entry.resolve(params))
        v = (0.5 + 0.4 * torch.randn(1, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).to(
            dtype
        )
        x, value = prior.prox_with_value(v, 0.3)
        prior.reset()
        x_plain = prior.prox(v, 0.3)
        torch.testing.assert_close(x, x_plain, rtol=0, atol=tol)
        expected = prior.value(x_plain)
        assert value.shape == () and value.dtype == dtype
        assert float(value) == pytest.approx(float(expected), rel=tol, abs=tol) or (
            math.isinf(float(value)) and math.isinf(float(expected))
        )


@pytest.mark.parametrize("shape", [(1, 12, 10), (3, 9, 8), (12, 10)])
def test_errors_share_one_difference_and_equal_the_plain_formulas(shape):
    gen = torch.Generator().manual_seed(len(shape))
    ref = torch.rand(shape, generator=gen, dtype=torch.float64)
    x = ref + 0.4 * torch.randn(shape, generator=gen, dtype=torch.float64)  # many pixels outside [0, 1]
    assert bool((x < 0).any()) and bool((x > 1).any())
    rec, value = MetricContext(ref).errors(x)
    assert float(rec) == pytest.approx(float(torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref)), 1e-13)
    mse = float(((x.clamp(0, 1) - ref) ** 2).mean())
    assert float(value) == pytest.approx(10 * math.log10(1 / mse), rel=1e-13)
    assert float(value) == pytest.approx(float(psnr(x, ref)), rel=1e-13)
    assert math.isinf(float(MetricContext(ref).errors(ref.clone())[1]))


def _config(lanes):
    return Config.from_dict(
        {
            "problem": {"image": "camera", "size": 32, "degradation": "blur", "noise_sigma": 0.01, "seed": 1},
            "lanes": lanes,
            "run": {"iterations": 5, "keep_iterates": 3, "dtype": "float64"},
        }
    )


def _replayed_rel_change(run, spec, n):
    steps, _, _ = build_solver(spec, run.problem)
    x_old, out = run.problem.x0, []
    with torch.no_grad():
        for _ in range(n):
            x = next(steps).x.clone()
            out.append(float(rel_change(run.problem.to_image(x), run.problem.to_image(x_old))))
            x_old = x
    return np.array(out)


def test_rel_change_after_replace_lane_starts_from_x0_not_the_old_lanes_image():
    run = Run(_config([{"label": "A", "solver": "ista", "prior": "l1", "params": {"lam": 0.01}}]))
    run.step(4)
    new = run.replace_lane(0, LaneSpec(solver="fista", prior="l1", label="B", params={"lam": 0.002}))
    run.step(3)
    np.testing.assert_allclose(new.history.row("rel_change").numpy(), _replayed_rel_change(run, new.spec, 3), 1e-12)


def test_rel_change_is_recomputed_when_the_iterate_is_replaced_or_changed_in_place():
    run = Run(_config([{"label": "A", "solver": "ista", "prior": "l1", "params": {"lam": 0.01}}]))
    lane = run.lanes[0]
    run.step(2)
    lane.x.mul_(0.5)  # in place: the kept image of x (the same tensor here) must not be trusted
    run.step(1)
    x2_changed = lane.kept_step(2).x  # the kept iterate is the changed tensor
    x3 = lane.kept_step(3).x
    expected = float(rel_change(x3, x2_changed))
    assert lane.history.row("rel_change")[-1].item() == pytest.approx(expected, rel=1e-12)
    lane.x = lane.x + 1.0  # replaced by another tensor
    run.step(1)
    expected = float(rel_change(lane.kept_step(4).x, lane.kept_step(3).x + 1.0))
    assert lane.history.row("rel_change")[-1].item() == pytest.approx(expected, rel=1e-12)


def test_history_columns_reused_after_truncation_hold_only_new_values():
    history = ScalarHistory(torch.device("cpu"), capacity=4)
    for k in range(3):
        history.append({"a": torch.tensor(float(k)), "b": torch.tensor(10.0 + k), "n": 0.5 + k})
    history.truncate(1)
    history.append({"a": torch.tensor(7.0)})  # b and n absent: NaN, not the old column's values
    data = history.to_numpy()
    np.testing.assert_array_equal(data["a"], [0.0, 7.0])
    np.testing.assert_array_equal(data["b"], [10.0, np.nan])
    np.testing.assert_array_equal(data["n"], [0.5, np.nan])
    for k in range(5):  # growth past the capacity keeps NaN where nothing was written
        history.append({"b": torch.tensor(float(k), dtype=torch.float32)})
    data = history.to_numpy()
    assert data["a"].shape == (7,) and np.isnan(data["a"][2:]).all()
    np.testing.assert_array_equal(data["b"][2:], np.arange(5.0))


def test_a_lane_accepts_inference_tensors_from_its_solver():
    """Inference tensors have no version counter: the image cache must not need one."""
    from core import lane as lane_module

    run = Run(_config([{"label": "A", "solver": "ista", "prior": "l1", "params": {"lam": 0.01}}]))
    run.config.run.keep_iterates = 0
    lane = run.replace_lane(0, LaneSpec(solver="ista", prior="l1", label="A", params={"lam": 0.01}))
    plain = lane._steps

    def inference_steps():
        for step in plain:
            with torch.inference_mode():
                step.x = step.x.clone()
            yield step

    lane._steps = inference_steps()
    run.step(3)
    assert lane.k == 3 and lane.status == "running"
    assert lane.x.is_inference()
    with torch.inference_mode():
        raw = torch.zeros(2)
    assert lane_module._version_of(raw) is None  # no version counter on the tensor itself
    assert np.isfinite(lane.history.row("rel_change").numpy()).all()
