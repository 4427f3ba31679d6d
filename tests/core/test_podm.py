"""PODM (NeurIPS 2018) and flexible_pg (Algorithm 1): descent, both branches, ψ / d_Ψ by numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _solver_problems import (
    FlexibleOracle,
    GaussianSmoother,
    L0Box,
    NoiseDenoiser,
    PodmOracle,
    TowardsTarget,
    blur_matrix,
    inpaint_matrix,
    make_problem,
    random_matrix,
    run_solver,
    soft,
)

from core.priors.base import L1Pixel


def problems():
    """(name, Problem) on 8×8 images: dense random, blur, inpainting; x⁰ = clip(Aᵀy, 0, 1)."""
    rng = np.random.default_rng(11)
    x_true = np.clip(
        np.add.outer(np.linspace(0, 1, 8), np.linspace(0, 0.5, 8)) + 0.1 * rng.standard_normal((8, 8)), 0, 1
    )
    x_true[2:5, 3:6] = 0.0
    out = []
    for name, matrix in [
        ("dense", random_matrix(40, 64, seed=12)),
        ("blur", blur_matrix(8, sigma=1.0)),
        ("inpaint", inpaint_matrix(8, keep_rate=0.5, seed=13)),
    ]:
        y = matrix @ x_true.ravel()
        x0 = np.clip(matrix.T @ y, 0.0, 1.0)
        out.append((name, make_problem(matrix, (1, 8, 8), x_true=x_true, noise_sigma=0.02, seed=14, x0=x0)))
    return out


def priors():
    return [("l1", lambda: L1Pixel(0.02)), ("l0_box", lambda: L0Box(0.002))]


SOLVER_SETTINGS = {
    "podm": dict(mu=1.0, c=0.4),  # Prop. 1: c < μ_opt/2 = μ/2
    "flexible_pg": dict(mu=0.5, c=0.2),
}  # Algorithm 1: 2C < μ


def denoisers(solver, problem, prior):
    """A weak classical smoother, a 'perfectly trained' network (module docstring of the oracle)
    and a deliberately bad one that returns noise."""
    mu = SOLVER_SETTINGS[solver]["mu"]
    if solver == "podm":
        oracle = PodmOracle(problem, prior, mu)
    else:
        oracle = FlexibleOracle(problem, prior, mu, 0.99 / (problem.lipschitz() + mu))
    return [("gaussian", GaussianSmoother()), ("oracle", oracle), ("noise", NoiseDenoiser(seed=15))]


def objective_trace(problem, prior, steps):
    return [float(problem.objective(problem.x0, prior))] + [float(problem.objective(s.x, prior)) for s in steps]


def non_increasing(values, rtol=1e-12):
    return all(b <= a + rtol * max(1.0, abs(a)) for a, b in zip(values, values[1:]))


def pg_step_numpy(problem, prior, x, gamma):
    """prox_{γg}(x − γAᵀ(Ax − y)) computed with numpy (and the prior's elementwise formula)."""
    matrix = problem.operator.matrix.numpy()
    y = problem.y.numpy()
    v = x.ravel() - gamma * matrix.T @ (matrix @ x.ravel() - y)
    if isinstance(prior, L1Pixel):
        return soft(v, gamma * prior.lam).reshape(x.shape)
    clipped = np.clip(v, prior.low, prior.high)
    keep = prior.lam * (clipped != 0) + (clipped - v) ** 2 / (2 * gamma) < v**2 / (2 * gamma)
    return np.where(keep, clipped, 0.0).reshape(x.shape)


@pytest.mark.parametrize("solver", ["podm", "flexible_pg"])
def test_objective_non_increasing_and_both_branches(solver):
    """Φ(x^l) ≤ Φ(x^{l−1}) at every stage for every problem × prior × denoiser; the check
    accepts good modules and the bad (noise) module always falls back to the PG feedback."""
    accepted_total, fallback_total = 0, 0
    for problem_name, problem in problems():
        gamma = 0.99 / (problem.lipschitz() + SOLVER_SETTINGS[solver]["mu"])
        for prior_name, make_prior in priors():
            for denoiser_name, denoiser in denoisers(solver, problem, make_prior()):
                prior = make_prior()
                steps = run_solver(solver, problem, 20, prior=prior, denoiser=denoiser, **SOLVER_SETTINGS[solver])
                label = (problem_name, prior_name, denoiser_name)
                assert non_increasing(objective_trace(problem, prior, steps)), label
                accepted = [bool(s.info["accepted"]) for s in steps]
                accepted_total += sum(accepted)
                fallback_total += len(accepted) - sum(accepted)
                if denoiser_name == "noise":
                    assert not any(accepted), label
                if denoiser_name == "oracle":
                    assert accepted[0], label
                previous = problem.x0.numpy()
                for s in steps:
                    x = s.x.numpy()
                    assert bool(s.info["opt_bound"] >= 0)
                    if bool(s.info["accepted"]):
                        assert float(s.info["opt_error"]) <= float(s.info["opt_bound"])
                        if solver == "podm":  # accepted: x^l = x_G
                            assert np.array_equal(x, s.extras["x_G"].numpy()), label
                        else:  # accepted: x^{k+1} = PG(ũ) (or ũ if PG ascends)
                            u_tilde = s.extras["u_tilde"].numpy()
                            assert np.allclose(
                                x, pg_step_numpy(problem, prior, u_tilde, gamma), atol=1e-10
                            ) or np.array_equal(x, u_tilde), label
                    else:  # rejected: one PG step from x^{l−1}, eq. (6)
                        assert np.allclose(x, pg_step_numpy(problem, prior, previous, gamma), atol=1e-10), label
                    previous = x
    assert accepted_total > 0 and fallback_total > 0, (accepted_total, fallback_total)


def test_podm_psi_matches_numpy_and_definition():
    """One PODM stage recomputed with numpy: x_A, x̃ by (3), x_G by (7), ψ by its computable
    form, and ψ = ε + μ(x_G − x^{l−1})/2 − H(x^{l−1} + x_G − 2x_A) from its definition (5)."""
    _, problem = problems()[0]
    matrix, y = problem.operator.matrix.numpy(), problem.y.numpy()
    lam, mu, mu_opt, c = 0.02, 0.05, 0.5, 0.2
    gamma = 0.99 / (np.linalg.norm(matrix, 2) ** 2 + mu_opt)  # automatic γ
    denoiser = GaussianSmoother()
    step = run_solver(
        "podm", problem, 1, prior=L1Pixel(lam), denoiser=denoiser, mu=mu, mu_opt=mu_opt, c=c, sigma_max=30.0
    )[0]
    grad = lambda x: matrix.T @ (matrix @ x - y)  # noqa: E731
    x_prev = problem.x0.numpy().ravel()
    x_a = denoiser(problem.x0, 30.0 / 255.0).numpy().ravel()
    x_tilde = np.linalg.solve(matrix.T @ matrix + mu * np.eye(64), matrix.T @ y + mu * x_a)
    x_g = soft(x_tilde - gamma * (grad(x_tilde) + mu_opt * (x_tilde - x_prev)), gamma * lam)
    h = mu / 2.0  # H = (μ/2) I
    psi = (
        (x_tilde - x_g) / gamma
        - mu_opt / 2 * (2 * x_tilde - x_g - x_prev)
        + h * (x_g - x_prev)
        + grad(x_g)
        - grad(x_tilde)
    )
    # definition: u ∈ ∂g(x_G) from (7), ε = ∇f(x_G) + ∇d(x_G, x_A) + u
    u = (x_tilde - x_g) / gamma - grad(x_tilde) - mu_opt * (x_tilde - x_prev)
    nonzero = x_g != 0
    assert np.allclose(u[nonzero], lam * np.sign(x_g[nonzero]), atol=1e-10)
    assert np.all(np.abs(u[~nonzero]) <= lam + 1e-10)
    eps = grad(x_g) + 2 * h * (x_g - x_a) + u
    psi_def = eps + mu_opt * (x_g - x_prev) / 2 - h * (x_prev + x_g - 2 * x_a)
    assert np.allclose(psi, psi_def, atol=1e-10)
    for key, ref in [("x_A", x_a), ("x_tilde", x_tilde), ("x_G", x_g)]:
        assert np.allclose(step.extras[key].numpy().ravel(), ref, atol=1e-10), key
    assert float(step.info["opt_error"]) == pytest.approx(np.linalg.norm(psi), rel=1e-9)
    assert float(step.info["opt_bound"]) == pytest.approx(c * np.linalg.norm(x_g - x_prev), rel=1e-9)
    check = np.linalg.norm(psi) <= c * np.linalg.norm(x_g - x_prev)
    assert bool(step.info["error_check"]) == check


def test_podm_without_safeguard_is_eqs_5_6_and_descends_for_convex_g():
    """monotone = false: x^l = x_G if (5) else the feedback (6). For convex g the check implies
    Φ(x_G) ≤ Φ(x^{l−1}) − ((μ_opt + μ)/2 − c)‖x_G − x^{l−1}‖² (our reading, module docstring)."""
    mu, mu_opt, c = 1.0, 1.0, 0.4
    n_accepted = 0
    for _, problem in problems():
        prior = L1Pixel(0.02)
        gamma = 0.99 / (problem.lipschitz() + mu_opt)
        for denoiser in (GaussianSmoother(), PodmOracle(problem, prior, mu)):
            steps = run_solver(
                "podm", problem, 30, prior=prior, denoiser=denoiser, mu=mu, mu_opt=mu_opt, c=c, monotone=False
            )
            phis = objective_trace(problem, prior, steps)
            assert non_increasing(phis)
            previous = problem.x0
            for s, phi_prev, phi in zip(steps, phis, phis[1:]):
                check = bool(s.info["opt_error"] <= s.info["opt_bound"])
                assert bool(s.info["accepted"]) == check
                if check:
                    n_accepted += 1
                    assert torch.equal(s.x, s.extras["x_G"])
                    gap = ((mu_opt + mu) / 2 - c) * float((s.x - previous).norm()) ** 2
                    assert phi <= phi_prev - gap + 1e-12
                else:
                    ref = pg_step_numpy(problem, prior, previous.numpy(), gamma)
                    assert np.allclose(s.x.numpy(), ref, atol=1e-12)
                previous = s.x
    assert n_accepted > 0


def test_podm_safeguard_prevents_ascent_that_eqs_5_6_allow():
    """With a tolerance c far beyond Proposition 1 every x_G passes (5); without the safeguard a
    bad network then drives Φ up, with the safeguard Φ never increases."""
    _, problem = problems()[1]
    prior = L1Pixel(0.02)
    settings = dict(mu=10.0, c=1e6)
    plain = run_solver(
        "podm", problem, 20, prior=prior, monotone=False, denoiser=NoiseDenoiser(seed=16, scale=1.0), **settings
    )
    assert all(bool(s.info["accepted"]) for s in plain)
    assert not non_increasing(objective_trace(problem, prior, plain))
    guarded = run_solver("podm", problem, 20, prior=prior, denoiser=NoiseDenoiser(seed=16, scale=1.0), **settings)
    assert non_increasing(objective_trace(problem, prior, guarded))
    assert any(bool(s.info["error_check"]) and not bool(s.info["accepted"]) for s in guarded)


class BiasedProxL1(L1Pixel):
    """λ‖x‖₁ with a wrong (biased) prox: the proximal-gradient feedback can then increase Φ."""

    def prox(self, v, step):
        return super().prox(v, step) + 0.05


@pytest.mark.parametrize("solver", ["podm", "flexible_pg"])
def test_safeguard_keeps_previous_iterate_when_the_feedback_ascends(solver):
    _, problem = problems()[0]
    prior = BiasedProxL1(0.02)
    steps = run_solver(solver, problem, 10, prior=prior, denoiser=NoiseDenoiser(seed=17), **SOLVER_SETTINGS[solver])
    assert non_increasing(objective_trace(problem, prior, steps))
    previous = [problem.x0] + [s.x for s in steps[:-1]]
    kept = [torch.equal(s.x, p) for s, p in zip(steps, previous)]
    assert any(kept)
    plain = run_solver(
        solver, problem, 10, prior=prior, denoiser=NoiseDenoiser(seed=17), monotone=False, **SOLVER_SETTINGS[solver]
    )
    assert not non_increasing(objective_trace(problem, prior, plain))


def test_flexible_pg_error_matches_numpy():
    """One stage of Algorithm 1 by numpy: u = D(x − γ∇f(x)), ũ (step 3), d_Ψ from (3), step 9."""
    _, problem = problems()[1]
    matrix, y = problem.operator.matrix.numpy(), problem.y.numpy()
    lam, mu, c = 0.02, 0.5, 0.2
    gamma = 0.99 / (np.linalg.norm(matrix, 2) ** 2 + mu)  # automatic γ
    denoiser = TowardsTarget(problem.x_true)
    step = run_solver("flexible_pg", problem, 1, prior=L1Pixel(lam), denoiser=denoiser, mu=mu, c=c, monotone=False)[0]
    grad = lambda x: matrix.T @ (matrix @ x - y)  # noqa: E731
    x0 = problem.x0.numpy().ravel()
    u = 0.5 * (x0 - gamma * grad(x0) + problem.x_true.numpy().ravel())
    u_tilde = soft(u - gamma * (grad(u) + mu * (u - x0)), gamma * lam)
    d_g = (u - u_tilde) / gamma - grad(u) - mu * (u - x0)  # ∈ ∂g(ũ)
    nonzero = u_tilde != 0
    assert np.allclose(d_g[nonzero], lam * np.sign(u_tilde[nonzero]), atol=1e-10)
    assert np.all(np.abs(d_g[~nonzero]) <= lam + 1e-10)
    d_psi = d_g + grad(u_tilde) + mu * (u_tilde - x0)  # (3)
    assert float(step.info["opt_error"]) == pytest.approx(np.linalg.norm(d_psi), rel=1e-9)
    bound = c * np.linalg.norm(u_tilde - x0)
    assert float(step.info["opt_bound"]) == pytest.approx(bound, rel=1e-9)
    accepted = np.linalg.norm(d_psi) <= bound
    assert bool(step.info["accepted"]) == accepted
    v = u_tilde if accepted else x0
    x1 = soft(v - gamma * grad(v), gamma * lam)
    assert np.allclose(step.x.numpy().ravel(), x1, atol=1e-10)


def test_flexible_pg_requirements_raise():
    _, problem = problems()[0]
    args = dict(prior=L1Pixel(0.01), denoiser=GaussianSmoother())
    from core.registry import SOLVERS

    factory = SOLVERS.get_entry("flexible_pg").factory
    with pytest.raises(ValueError, match="'c'"):
        factory(problem, mu=0.4, c=0.2, **args)
    with pytest.raises(ValueError, match="step_size"):
        factory(problem, step_size=1.0 / problem.lipschitz(), **args)
