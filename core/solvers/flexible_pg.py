"""Error-controlled flexible proximal gradient: Algorithm 1 ("General Optimization Learning
Paradigm") of Liu, "Optimization Learning: Perspective, Method, and Applications" (§2).

Stage k, with f(x) = ½‖Ax − y‖², Ψ = f + g and the auxiliary Ψ^k(x) = Ψ(x) + (μ/2)‖x − x^k‖² (3):
    u^k = A_g ∘ A_f(x^k)                                                   step 2, (2)
    ũ^k ∈ prox_{γg}(u^k − γ(∇f(u^k) + μ(u^k − x^k)))                      step 3
    v^k = ũ^k  if ‖d_{Ψ^k}(ũ^k)‖ ≤ C‖ũ^k − x^k‖,  else v^k = x^k          steps 4–8
    x^{k+1} ∈ prox_{γg}(v^k − γ∇f(v^k))                                    step 9
Requirements of Algorithm 1: 0 < 2C < μ and 0 < γ < 1/L (checked; ValueError otherwise).

Flexible module: A_f is one gradient step on f, A_f(x) = x − γ∇f(x), and A_g is the plug-in
denoiser D(·, σ_k) with the decreasing noise-level schedule (a learned denoiser later).

Computable subgradient (3): the optimality condition of step 3 gives
d_g = (1/γ)(u − ũ) − ∇f(u) − μ(u − x^k) ∈ ∂g(ũ), hence
    d_{Ψ^k}(ũ) = d_g + ∇f(ũ) + μ(ũ − x^k) = (1/γ − μ)(u − ũ) + ∇f(ũ) − ∇f(u).

Monotone safeguard (``monotone = true``, our addition): for convex g the check already implies
Ψ(ũ) ≤ Ψ(x^k) − (μ − C)‖ũ − x^k‖² (Prop. 1), but not for every nonconvex g or inexact prox.
With the safeguard, v^k = ũ^k also needs Ψ(ũ^k) ≤ Ψ(x^k), and step 9 is skipped (x^{k+1} = v^k)
if it would increase Ψ. With ``monotone = false`` the iteration is exactly Algorithm 1.
"""

from __future__ import annotations

import torch

from ..params import Param
from ..registry import SOLVERS
from ._common import (
    denoise_unknown,
    proximal_gradient_step,
    schedule_params,
    sigma_schedule,
    step_from_lipschitz,
)
from .base import Step

FLEXIBLE_PG_PARAMS = [
    Param(
        "mu",
        0.5,
        low=1e-12,
        high=1e8,
        log=True,
        help="penalty μ^k of the auxiliary Ψ^k = Ψ + (μ/2)‖x − x^k‖² (needs μ > 2C)",
        math="ũ = prox_{γg}(u − γ(∇f(u) + μ(u − x^k)))",
    ),
    Param(
        "c",
        0.2,
        low=0.0,
        high=1e8,
        help="tolerance C^k of the error check (needs 2C < μ)",
        math="‖d_{Ψ^k}(ũ)‖ ≤ C‖ũ − x^k‖",
    ),
    Param(
        "step_size",
        None,
        low=1e-12,
        high=1e12,
        log=True,
        help="proximal step γ < 1/L_f (automatic: 0.99/(L_f + μ), also stable for step 3)",
        math="x⁺ = prox_{γg}(v − γ∇f(v))",
    ),
    *schedule_params(sigma_min_default=5.0),
    Param(
        "monotone",
        True,
        kind="bool",
        help="also require Ψ to decrease when accepting ũ and in the final PG step",
        math="accept ⇔ check ∧ Ψ(ũ) ≤ Ψ(x^k)",
    ),
]


@SOLVERS.register(
    "flexible_pg",
    params=FLEXIBLE_PG_PARAMS,
    doc="Algorithm 1 (optimization learning): flexible module + error check + PG",
    needs_prior=True,
    needs_denoiser=True,
    learned=False,
)
def flexible_pg(problem, *, prior, denoiser, mu, c, step_size, sigma_max, sigma_min, schedule_iters, monotone):
    """Error-controlled flexible proximal gradient (Algorithm 1).

    Parameters
    ----------
    problem : Problem
    prior : Prior
    denoiser : Denoiser
        A_g, applied to images.
    mu, c : float
        μ^k and C^k, with 0 < 2C < μ.
    step_size : float or None
        γ with 0 < γ < 1/L_f; ``None`` gives 0.99/(L_f + μ) (step 3 is a gradient step on
        f + (μ/2)‖x − x^k‖², whose gradient is (L_f + μ)-Lipschitz).
    sigma_max, sigma_min, schedule_iters
        Denoiser noise-level schedule (units of 1/255).
    monotone : bool
        Ψ-descent safeguard (module docstring).

    Returns
    -------
    Iterator[Step]
        info: ``opt_error`` = ‖d_{Ψ^k}(ũ)‖, ``opt_bound`` = C‖ũ − x^k‖, ``accepted`` (v = ũ),
        ``sigma``; extras: ``u`` and ``u_tilde`` images.

    Raises
    ------
    ValueError
        When 2C ≥ μ or γ ≥ 1/L_f (checked when called, before the first step).
    """
    if not 2.0 * c < mu:
        raise ValueError(f"flexible_pg: parameters 'c' = {c} and 'mu' = {mu} violate 0 < 2C < μ (Algorithm 1)")
    gamma = step_from_lipschitz(problem, step_size, scale=0.99, extra_curvature=mu)
    lipschitz = float(problem.lipschitz())
    if gamma * lipschitz >= 1.0:
        raise ValueError(
            f"flexible_pg: parameter 'step_size' = {gamma:g} must be below 1/L = {1.0 / lipschitz:g} (Algorithm 1)"
        )
    sigma = sigma_schedule(sigma_max / 255.0, sigma_min / 255.0, schedule_iters)
    return _iterate(problem, prior, denoiser, mu, c, gamma, sigma, monotone)


def _iterate(problem, prior, denoiser, mu, c, gamma, sigma, monotone):
    """The stages of Algorithm 1 (parameters already validated)."""
    prior.reset()
    x = problem.x0.clone()
    psi = problem.objective(x, prior)
    k = 0
    while True:
        k += 1
        x_k, psi_k = x, psi
        sigma_k = sigma(k)
        # step 2: u = A_g ∘ A_f(x^k)
        u = denoise_unknown(problem, denoiser, x_k - gamma * problem.grad_fidelity(x_k), sigma_k)
        # step 3
        grad_u = problem.grad_fidelity(u)
        u_tilde = prior.prox(u - gamma * (grad_u + mu * (u - x_k)), gamma)
        # step 4: d_{Ψ^k}(ũ) from (3) with the computable d_g
        d_psi = (1.0 / gamma - mu) * (u - u_tilde) + problem.grad_fidelity(u_tilde) - grad_u
        opt_error = d_psi.norm()
        opt_bound = c * (u_tilde - x_k).norm()
        accepted = opt_error <= opt_bound
        if monotone:
            psi_u_tilde = problem.objective(u_tilde, prior)
            accepted = accepted & (psi_u_tilde <= psi_k)
            psi_v = torch.where(accepted, psi_u_tilde, psi_k)
        # steps 5–7
        v = torch.where(accepted, u_tilde, x_k)
        # step 9
        x = proximal_gradient_step(problem, prior, v, gamma)
        if monotone:
            psi_next = problem.objective(x, prior)
            descends = psi_next <= psi_v
            x = torch.where(descends, x, v)
            psi = torch.where(descends, psi_next, psi_v)
        yield Step(
            k,
            x,
            info={"opt_error": opt_error, "opt_bound": opt_bound, "accepted": accepted, "sigma": sigma_k},
            extras={"u": problem.to_image(u), "u_tilde": problem.to_image(u_tilde)},
        )
