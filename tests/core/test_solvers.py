"""Classical solvers (ISTA, FISTA, ADMM, PnP-HQS) against independent numpy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import torch
from _solver_problems import (
    Identity,
    lasso_objective,
    lasso_reference,
    make_problem,
    random_matrix,
    run_solver,
    soft,
)

from core.priors.base import L1Pixel, Zero
from core.registry import SOLVERS

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def lasso():
    """Random 30×64 lasso, its λ and the reference minimiser (numpy, checked against scipy)."""
    matrix = random_matrix(30, 64, seed=1)
    x_true = np.zeros(64)
    x_true[np.random.default_rng(2).choice(64, 6, replace=False)] = 1.0
    problem = make_problem(matrix, SHAPE, x_true=x_true, noise_sigma=0.01, seed=3)
    y = problem.y.numpy()
    lam = 0.1 * np.abs(matrix.T @ y).max()
    x_star = lasso_reference(matrix, y, lam)

    # independent check: smooth reformulation x = p − q, p, q ≥ 0, solved by L-BFGS-B
    def smooth(pq):
        p, q = pq[:64], pq[64:]
        r = matrix @ (p - q) - y
        grad_x = matrix.T @ r
        return 0.5 * r @ r + lam * pq.sum(), np.concatenate([grad_x + lam, -grad_x + lam])

    res = scipy.optimize.minimize(
        smooth,
        np.zeros(128),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * 128,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000},
    )
    phi_star = lasso_objective(matrix, y, lam, x_star)
    assert abs(res.fun - phi_star) < 1e-9
    assert np.linalg.norm(res.x[:64] - res.x[64:] - x_star) < 1e-4
    assert 0 < np.count_nonzero(x_star) < 64
    return problem, matrix, y, lam, x_star, phi_star


def test_registry_entries_and_flags():
    expected = {
        "ista": (True, False),
        "fista": (True, False),
        "admm": (True, False),
        "pnp_hqs": (False, True),
        "podm": (True, True),
        "flexible_pg": (True, True),
    }
    for name, (needs_prior, needs_denoiser) in expected.items():
        entry = SOLVERS.get_entry(name)
        assert entry.extra["needs_prior"] is needs_prior, name
        assert entry.extra["needs_denoiser"] is needs_denoiser, name
        assert entry.extra["learned"] is False
        defaults = entry.resolve({})
        assert set(defaults) == {p.name for p in entry.params}
        for p in entry.params:
            assert p.help, (name, p.name)
    with pytest.raises(ValueError, match="step_size"):
        SOLVERS.get_entry("ista").resolve({"step_size": -1.0})


@pytest.mark.parametrize("name, iterations", [("ista", 20000), ("fista", 3000)])
def test_ista_fista_reach_reference_minimum(lasso, name, iterations):
    problem, matrix, y, lam, x_star, phi_star = lasso
    steps = run_solver(name, problem, iterations, prior=L1Pixel(lam))
    x = steps[-1].x.numpy().ravel()
    assert np.linalg.norm(x - x_star) < 1e-6
    assert abs(float(problem.objective(steps[-1].x, L1Pixel(lam))) - phi_star) < 1e-10
    assert all(s.k == i + 1 for i, s in enumerate(steps))


def test_ista_objective_monotone_and_fista_rate_bound(lasso):
    problem, matrix, y, lam, x_star, phi_star = lasso
    prior = L1Pixel(lam)
    L = problem.lipschitz()
    x0 = problem.x0.numpy().ravel()
    bound_const = 2.0 * L * np.sum((x0 - x_star) ** 2)
    fista_gaps = [
        lasso_objective(matrix, y, lam, s.x.numpy()) - phi_star for s in run_solver("fista", problem, 300, prior=prior)
    ]
    for k, gap in enumerate(fista_gaps, start=1):
        assert -1e-12 <= gap <= bound_const / (k + 1) ** 2 + 1e-12, k
    ista_values = [lasso_objective(matrix, y, lam, s.x.numpy()) for s in run_solver("ista", problem, 300, prior=prior)]
    assert all(b <= a + 1e-12 for a, b in zip(ista_values, ista_values[1:]))
    # FISTA is faster than ISTA here (the point of the method)
    assert fista_gaps[299] < ista_values[299] - phi_star


def test_fista_momentum_sequence(lasso):
    problem, *_ = lasso
    steps = run_solver("fista", problem, 5, prior=L1Pixel(0.1))
    t, expected = 1.0, []
    for _ in range(5):
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        expected.append((t - 1) / t_next)
        t = t_next
    assert [s.info["momentum"] for s in steps] == pytest.approx(expected, rel=1e-15)


def test_admm_reaches_reference_minimiser(lasso):
    problem, matrix, y, lam, x_star, phi_star = lasso
    steps = run_solver("admm", problem, 4000, prior=L1Pixel(lam), rho=1.0)
    z = steps[-1].x.numpy().ravel()
    assert np.linalg.norm(z - x_star) < 1e-6
    assert float(steps[-1].info["primal_residual"]) < 1e-6
    assert steps[-1].extras["x"].shape == SHAPE
    # the first three iterations of the scaled ADMM (3.5)–(3.7), by numpy
    rho = 1.0
    x0 = problem.x0.numpy().ravel()
    z, u = x0, np.zeros_like(x0)
    for step in steps[:3]:
        x = np.linalg.solve(matrix.T @ matrix + rho * np.eye(64), matrix.T @ y + rho * (z - u))
        z = soft(x + u, lam / rho)
        u = u + x - z
        assert np.allclose(step.x.numpy().ravel(), z, atol=1e-12)
        assert np.allclose(step.extras["x"].numpy().ravel(), x, atol=1e-12)


def test_least_squares_with_zero_prior_reaches_normal_equations():
    matrix = random_matrix(50, 30, seed=4)  # overdetermined: unique LS solution
    problem = make_problem(matrix, (1, 5, 6), noise_sigma=0.05, seed=5)
    y = problem.y.numpy()
    x_ls = np.linalg.solve(matrix.T @ matrix, matrix.T @ y)
    assert np.linalg.norm(matrix @ x_ls - y) > 0.01  # noisy: LS ≠ ground truth
    for name, iterations, kwargs in [("ista", 3000, {}), ("fista", 1000, {}), ("admm", 500, {"rho": 0.5})]:
        steps = run_solver(name, problem, iterations, prior=Zero(), **kwargs)
        assert np.linalg.norm(steps[-1].x.numpy().ravel() - x_ls) < 1e-8, name


def test_ista_with_too_large_step_diverges(lasso):
    problem, matrix, y, lam, *_ = lasso
    L = problem.lipschitz()
    norms = [float(s.x.norm()) for s in run_solver("ista", problem, 80, prior=L1Pixel(lam), step_size=3.0 / L)]
    assert not math.isfinite(norms[-1]) or norms[-1] > 1e8 * norms[0]
    # and the same problem converges at 1/L
    norms_ok = [float(s.x.norm()) for s in run_solver("ista", problem, 80, prior=L1Pixel(lam))]
    assert max(norms_ok) < 10 * norms_ok[0]


def test_pnp_hqs_identity_denoiser_tends_to_least_squares():
    """With D = identity, HQS is the proximal-point method on f: its fixed point is x_LS."""
    matrix = random_matrix(50, 30, seed=6)
    problem = make_problem(matrix, (1, 5, 6), noise_sigma=0.01, seed=7)
    y = problem.y.numpy()
    x_ls = np.linalg.solve(matrix.T @ matrix, matrix.T @ y)
    # ρ_k = hqs_lambda σ_n²/σ_k² grows from 0.05 to 0.33 along the schedule
    steps = run_solver(
        "pnp_hqs", problem, 300, denoiser=Identity(), sigma_max=25.0, sigma_min=10.0, schedule_iters=5, hqs_lambda=5.0
    )
    assert np.linalg.norm(steps[-1].x.numpy().ravel() - x_ls) < 1e-8
    assert np.linalg.norm(steps[2].x.numpy().ravel() - x_ls) > 1e-3  # not there at once
    # the schedule: log-spaced 25/255 → max(10/255, σ_n) over 5 iterations, then held
    sigma_end = max(10.0 / 255.0, 0.01)
    expected = [25.0 / 255.0 * (sigma_end / (25.0 / 255.0)) ** (i / 4) for i in range(5)]
    assert [s.info["sigma"] for s in steps[:5]] == pytest.approx(expected, rel=1e-12)
    assert steps[5].info["sigma"] == pytest.approx(sigma_end, rel=1e-12)
    assert steps[0].info["rho"] == pytest.approx(5.0 * 0.01**2 / expected[0] ** 2, rel=1e-12)
    # one step of the data step by hand: z = (AᵀA + ρ I)⁻¹(Aᵀy + ρ x⁰); D = identity ⇒ x¹ = z
    rho = steps[0].info["rho"]
    x0 = problem.x0.numpy().ravel()
    z1 = np.linalg.solve(matrix.T @ matrix + rho * np.eye(30), matrix.T @ y + rho * x0)
    assert np.allclose(steps[0].x.numpy().ravel(), z1, atol=1e-12)


def test_pnp_hqs_denoises_images_not_unknowns():
    """With a non-identity to_image (sparse-coding SR), the denoiser must receive images."""
    rng = np.random.default_rng(8)
    basis, _ = np.linalg.qr(rng.standard_normal((16, 16)))  # orthonormal W: α = W x
    matrix = random_matrix(10, 16, seed=9)
    problem = make_problem(matrix, (1, 4, 4), noise_sigma=0.01, seed=10)
    w = torch.tensor(basis)
    op = problem.operator
    op.to_image = lambda a: (a.reshape(-1) @ w).reshape(1, 4, 4)  # x = Wᵀα
    op.from_image = lambda x: (w @ x.reshape(-1)).reshape(1, 4, 4)  # α = W x
    seen = []

    class Recorder(Identity):
        def __call__(self, x, sigma):
            seen.append(x.clone())
            return x.clone()

    steps = run_solver("pnp_hqs", problem, 2, denoiser=Recorder())
    z_image = steps[1].extras["z"]
    assert torch.allclose(seen[1], z_image, atol=1e-12)
    assert torch.allclose(op.to_image(steps[1].x), z_image, atol=1e-12)


@pytest.mark.parametrize("name", ["ista", "fista", "admm", "pnp_hqs", "podm", "flexible_pg"])
def test_steps_do_not_synchronise_with_the_host(name, monkeypatch):
    """After the first step (Lipschitz constant, schedules), stepping calls no .item()/.cpu()/
    bool()/float() on tensors: selections such as PODM's acceptance use torch.where."""
    from _solver_problems import GaussianSmoother

    problem = make_problem(random_matrix(30, 64, seed=20), SHAPE, noise_sigma=0.01, seed=21)
    entry = SOLVERS.get_entry(name)
    kwargs = {}
    if entry.extra["needs_prior"]:
        kwargs["prior"] = L1Pixel(0.01)
    if entry.extra["needs_denoiser"]:
        kwargs["denoiser"] = GaussianSmoother()
    gen = entry.factory(problem, **kwargs)
    next(gen)
    calls = []
    for method in ("item", "cpu", "numpy", "tolist", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, method)

        def spy(self, *args, _name=method, _original=original, **kw):
            calls.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(torch.Tensor, method, spy)
    steps = [next(gen) for _ in range(4)]
    monkeypatch.undo()
    assert calls == []
    assert [s.k for s in steps] == [2, 3, 4, 5]
    for s in steps:
        for key, value in s.info.items():
            assert isinstance(value, (float, bool, int)) or value.dim() == 0, key
