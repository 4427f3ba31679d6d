"""Helpers shared by the classical and plug-in solvers (step sizes, σ schedules, PG steps).

Nothing here syncs with the host inside a loop: step sizes and σ schedules are Python floats
computed once before the iterations start.
"""

from __future__ import annotations

import math

from torch import Tensor

from ..params import Param

#: Noise level used in place of σ_n = 0 where a formula divides by it or scales by it (1/255).
NOISE_SIGMA_FLOOR = 1.0 / 255.0


def step_from_lipschitz(problem, step_size: float | None, scale: float = 1.0, extra_curvature: float = 0.0) -> float:
    """Gradient step γ: ``step_size`` if given, else ``scale / (L_f + extra)`` with L_f = ‖A‖₂².

    Parameters
    ----------
    problem : Problem
    step_size : float or None
        Explicit step (absolute units); ``None`` means automatic.
    scale : float
        Fraction of 1/L_f used by the automatic choice (e.g. 0.99 for a strict γ < 1/L_f).
    extra_curvature : float
        Added to L_f when the step is also taken on f + (μ/2)‖x − anchor‖² (μ here).

    Returns
    -------
    float
    """
    if step_size is not None:
        return float(step_size)
    lipschitz = float(problem.lipschitz())
    if not lipschitz > 0.0:
        raise ValueError("step_size: the operator has Lipschitz constant 0; give step_size explicitly")
    return scale / (lipschitz + extra_curvature)


def sigma_schedule(sigma_max: float, sigma_min: float, n_iters: int):
    """IRCNN-style noise-level schedule: log-spaced σ_max → σ_min over ``n_iters``, then held.

    Parameters
    ----------
    sigma_max, sigma_min : float
        Noise levels on the [0, 1] intensity scale (σ_min is clamped to ≤ σ_max).
    n_iters : int
        Number of iterations over which σ decreases (≥ 1).

    Returns
    -------
    callable
        ``sigma(k)`` for k = 1, 2, ... (a Python float).
    """
    sigma_min = min(sigma_min, sigma_max)
    n_iters = max(int(n_iters), 1)
    log_hi, log_lo = math.log(sigma_max), math.log(sigma_min)

    def sigma(k: int) -> float:
        if n_iters == 1 or k >= n_iters:
            return sigma_min
        t = (k - 1) / (n_iters - 1)
        return math.exp(log_hi + t * (log_lo - log_hi))

    return sigma


def denoise_unknown(problem, denoiser, x: Tensor, sigma) -> Tensor:
    """Apply an image denoiser to the unknown: from_image(D(to_image(x), σ)).

    The unknown is an image for every degradation except sparse-coding SR (Haar coefficients).
    """
    return problem.from_image(denoiser(problem.to_image(x), sigma))


def proximal_gradient_step(problem, prior, x: Tensor, gamma: float) -> Tensor:
    """One forward-backward step prox_{γg}(x − γ∇f(x)) with f = ½‖Ax − y‖²."""
    return prior.prox(x - gamma * problem.grad_fidelity(x), gamma)


def schedule_params(sigma_min_default: float = 5.0) -> list[Param]:
    """Param declarations of a decreasing denoiser noise-level schedule (values in /255)."""
    return [
        Param(
            "sigma_max",
            49.0,
            low=0.01,
            high=255.0,
            unit="/255",
            log=True,
            help="denoiser noise level at the first iteration",
            math="σ_1 = sigma_max/255",
        ),
        Param(
            "sigma_min",
            sigma_min_default,
            low=0.01,
            high=255.0,
            unit="/255",
            log=True,
            help="denoiser noise level reached after schedule_iters iterations, then held",
            math="σ_k log-spaced from σ_max to σ_min",
        ),
        Param(
            "schedule_iters",
            30,
            kind="int",
            low=1,
            high=100000,
            help="iterations over which the noise level decreases",
            math="σ_k = σ_max (σ_min/σ_max)^((k−1)/(K−1)), k ≤ K",
        ),
    ]
