"""PODM: Propagation and Optimization based Deep Model (Liu et al., NeurIPS 2018, §3–§4.1).

Stage l (x^{l−1} → x^l), with f(x) = ½‖Ax − y‖², Φ = f + g, and H = (μ/2)I as in §5.1, so that
d(x, x_A) = (x − x_A)ᵀH(x − x_A) = (μ/2)‖x − x_A‖²:

  Propagation module P = F ∘ A:
    x_A^l = A(x^{l−1}) = D(x^{l−1}, σ_l)                    denoiser as the network A, σ_l ↓
    x̃^l  = F(x_A^l) = argmin_x f(x) + d(x, x_A^l)           (3)
         ⇔ (AᵀA + μI) x̃^l = Aᵀy + μ x_A^l                   closed form (normal_solve)
  Optimality module O:
    x_G^l = prox_{γg}(x̃^l − γ(∇f(x̃^l) + μ_opt(x̃^l − x^{l−1})))                       (7)
    ψ^l   = (1/γ)(x̃ − x_G) − (μ_opt/2)(2x̃ − x_G − x^{l−1}) + H(x_G − x^{l−1})
            + ∇f(x_G) − ∇f(x̃)                        (computable form right after (7))
    accept x^l = x_G^l  if ‖ψ^l‖ ≤ c ‖x_G^l − x^{l−1}‖                                 (5)
    else   x^l = prox_{γg}(x^{l−1} − γ∇f(x^{l−1}))    (feedback)                        (6)

Reading of the two μ's: μ^l in (7) and in ψ is the trade-off of the momentum proximal step
(our ``mu_opt``); the μ of §5.1 defines H = μI/2 in d (our ``mu``). §5.1 uses one μ = 1e-2 "to
establish the propagation and optimality modules", so ``mu_opt`` defaults to ``mu``; then ψ
reduces to (1/γ − μ)(x̃ − x_G) + ∇f(x_G) − ∇f(x̃), the error the authors' demo code checks.
Substituting (7)'s optimality condition shows that x_A cancels:
ψ = ∇f(x_G) + u + κ(x_G − x^{l−1}), u ∈ ∂g(x_G), κ = (μ_opt + μ)/2. So (5) accepts x_G when it
behaves like a proximal-point step argmin Φ + (κ/2)‖x − x^{l−1}‖² up to the tolerance c (a
stationary point of Φ, ∇f(x_G) + u = 0, gives ‖ψ‖ = κ‖Δ‖ and is rejected when c < κ). Proposition 1 needs c < μ_opt/2
(descent μ_opt/4 − c²/μ_opt); for convex g, (5) with c < κ gives Φ(x_G) ≤ Φ(x^{l−1}) − (κ − c)‖Δ‖².
Default c = 0.08 is the authors' demo value (it exceeds μ/2 for μ = 1e-2): with the monotone
safeguard below Φ still never increases.

Monotone safeguard (``monotone = true``, our addition, documented): Proposition 1 needs the
paper's assumptions, which a nonconvex prior or an inexact prox (GISA for ℓ_p) can break.
We then accept x_G only if (5) holds AND Φ(x_G) ≤ Φ(x^{l−1}); otherwise we take the feedback
step (6), unless it would increase Φ (impossible for an exact prox and γ < 1/L_f, Prop. 1),
in which case x^l = x^{l−1}. Selection uses torch.where (no host sync). With ``monotone =
false`` the update is exactly (5)–(6).

Propagation: the registered ``podm`` uses a plug-in denoiser as A (x_A = D(x^{l−1}, σ_l)).
:func:`podm_stages` takes any callable ``propagate(l, x^{l−1}) -> x_A`` instead, e.g. the
stage-wise trained networks θ_A^l of §4.1 (core/learned/podm_stagewise, passed in from there).

Work per stage (no host sync, so both branches of (6) are evaluated and selected by torch.where):
the residual r = Ax − y of x_G and of the feedback step is computed once and gives both f and
∇f; ∇f(x^{l−1}) for (6) is carried over from the previous stage (the selected residual), and
Φ(x^l) is handed to the engine as ``info["objective"]`` so that it is not evaluated again.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..params import Param
from ..registry import SOLVERS
from ._common import (
    denoise_unknown,
    schedule_params,
    sigma_schedule,
    step_from_lipschitz,
)
from .base import Step

PODM_PARAMS = [
    Param(
        "mu",
        0.01,
        low=1e-8,
        high=1e8,
        log=True,
        help="weight of the learned prior d(x, x_A) = (μ/2)‖x − x_A‖² (H = μI/2, §5.1)",
        math="(AᵀA + μI) x̃ = Aᵀy + μ x_A",
    ),
    Param(
        "mu_opt",
        None,
        low=0.0,
        high=1e8,
        help="trade-off μ^l of the momentum proximal step (7) (automatic: = mu, as in §5.1)",
        math="x_G = prox_{γg}(x̃ − γ(∇f(x̃) + μ_opt(x̃ − x^{l−1})))",
    ),
    Param(
        "c",
        0.08,
        low=0.0,
        high=1e8,
        help="tolerance c^l of the optimality-error check (5) (Prop. 1: c < mu_opt/2)",
        math="‖ψ‖ ≤ c‖x_G − x^{l−1}‖",
    ),
    Param(
        "step_size",
        None,
        low=1e-12,
        high=1e12,
        log=True,
        help="proximal step γ (automatic: 0.99/(L_f + μ_opt): (6) decreases Φ, (7) is stable)",
        math="γ < 1/L_f; (7) is a gradient step on f + (μ_opt/2)‖x − x^{l−1}‖²",
    ),
    *schedule_params(sigma_min_default=5.0),
    Param(
        "monotone",
        True,
        kind="bool",
        help="also require Φ(x_G) ≤ Φ(x^{l−1}) to accept (safeguard for nonconvex g)",
        math="accept ⇔ (5) ∧ Φ(x_G) ≤ Φ(x^{l−1})",
    ),
]


@SOLVERS.register(
    "podm",
    params=PODM_PARAMS,
    doc="PODM: denoiser propagation + fidelity + error-checked proximal feedback",
    needs_prior=True,
    needs_denoiser=True,
    learned=False,
)
def podm(problem, *, prior, denoiser, mu, mu_opt, c, step_size, sigma_max, sigma_min, schedule_iters, monotone):
    """Propagation and optimization based deep model with a plug-in denoiser as A.

    Parameters
    ----------
    problem : Problem
    prior : Prior
        The designed prior g (possibly nonconvex).
    denoiser : Denoiser
        The network A (any registered denoiser), applied to images.
    mu : float
        H = μI/2 in the distance d.
    mu_opt : float or None
        μ^l in (7) and ψ; ``None`` uses ``mu``.
    c : float
        c^l in (5).
    step_size : float or None
        γ^l; ``None`` gives 0.99/(L_f + μ_opt), below 1/L_f as Prop. 1 needs for (6) and below
        the 1/(L_f + μ_opt) that keeps (7) — a gradient step on f + (μ_opt/2)‖x − x^{l−1}‖² —
        from overshooting when μ_opt is large.
    sigma_max, sigma_min : float
        Denoiser noise-level schedule end points (units of 1/255).
    schedule_iters : int
        Stages over which σ_l decreases (then held).
    monotone : bool
        Enable the Φ-descent safeguard described in the module docstring.

    Returns
    -------
    Iterator[Step]
        As :func:`podm_stages`, with ``sigma`` (σ_l) in info.
    """
    propagate, sigma = denoiser_propagation(problem, denoiser, sigma_max, sigma_min, schedule_iters)
    return podm_stages(
        problem,
        prior,
        propagate,
        mu=mu,
        mu_opt=mu_opt,
        c=c,
        step_size=step_size,
        monotone=monotone,
        stage_info=lambda stage: {"sigma": sigma(stage)},
    )


def denoiser_propagation(problem, denoiser, sigma_max: float, sigma_min: float, schedule_iters: int):
    """The plug-in propagation x_A = D(x^{l−1}, σ_l) with σ_l decreasing from ``sigma_max`` to
    ``sigma_min`` (units of 1/255) over ``schedule_iters`` stages; returns (propagate, σ schedule)."""
    sigma = sigma_schedule(sigma_max / 255.0, sigma_min / 255.0, schedule_iters)

    def propagate(stage: int, x_prev: Tensor) -> Tensor:
        return denoise_unknown(problem, denoiser, x_prev, sigma(stage))

    return propagate, sigma


def podm_stages(
    problem,
    prior,
    propagate: Callable[[int, Tensor], Tensor],
    *,
    mu: float,
    mu_opt: float | None,
    c: float,
    step_size: float | None,
    monotone: bool,
    stage_info: Callable[[int], dict] | None = None,
):
    """The PODM stages (3)–(7) with any propagation x_A = ``propagate(l, x^{l−1})``.

    Parameters
    ----------
    problem : Problem
    prior : Prior
    propagate : callable
        ``propagate(l, x_prev) -> x_A`` in the unknown's space (l = 1, 2, ...), without host sync.
    mu, mu_opt, c, step_size, monotone
        As :func:`podm`.
    stage_info : callable, optional
        ``stage_info(l) -> dict`` of extra info entries (e.g. the denoiser's σ_l).

    Returns
    -------
    Iterator[Step]
        info: ``opt_error`` = ‖ψ‖, ``opt_bound`` = c‖x_G − x^{l−1}‖, ``accepted`` (x^l = x_G),
        ``error_check`` (eq. (5) alone), ``accept_rate`` (running mean of ``accepted``),
        ``objective`` (Φ(x^l)); extras: ``x_A``, ``x_tilde``, ``x_G`` images.
    """
    mu_opt = mu if mu_opt is None else mu_opt
    gamma = step_from_lipschitz(problem, step_size, scale=0.99, extra_curvature=mu_opt)
    return _stages(problem, prior, propagate, mu, mu_opt, c, gamma, monotone, stage_info)


def fidelity_and_optimality(problem, prior, x_prev, x_a, aty, *, mu, mu_opt, gamma):
    """x̃ = F(x_A) by (3), x_G by (7) and ψ (formula after (7)) for one stage.

    Works on any leading batch shape the operator accepts (differentiable; the stage-wise
    trainer of core/learned/podm_stagewise calls it on batches).

    Returns
    -------
    tuple of Tensor
        ``(x_tilde, x_g, residual_g, grad_g, psi)`` with residual_g = A x_G − y, grad_g = ∇f(x_G).
    """
    x_tilde = problem.operator.normal_solve(aty + mu * x_a, mu, x_a)  # (3)
    grad_tilde = problem.grad_fidelity(x_tilde)
    x_g = prior.prox(x_tilde - gamma * (grad_tilde + mu_opt * (x_tilde - x_prev)), gamma)  # (7)
    residual_g = problem.residual(x_g)
    grad_g = problem.operator.adjoint(residual_g)
    psi = (
        (x_tilde - x_g) / gamma
        - (0.5 * mu_opt) * (2.0 * x_tilde - x_g - x_prev)
        + (0.5 * mu) * (x_g - x_prev)  # H = (μ/2) I
        + grad_g
        - grad_tilde
    )
    return x_tilde, x_g, residual_g, grad_g, psi


def _stages(problem, prior, propagate, mu, mu_opt, c, gamma, monotone, stage_info):
    """Generator of the stages (parameters resolved)."""
    adjoint = problem.operator.adjoint
    prior.reset()
    aty = adjoint(problem.y)
    x = problem.x0.clone()
    residual = problem.residual(x)
    grad = adjoint(residual)  # ∇f(x^{l−1}), carried from stage to stage
    phi = problem.fidelity_of_residual(residual) + prior.value(x)
    n_accepted = torch.zeros((), dtype=torch.int64, device=x.device)
    stage = 0  # l in the paper
    while True:
        stage += 1
        x_prev, residual_prev, grad_prev, phi_prev = x, residual, grad, phi
        x_a = propagate(stage, x_prev)  # propagation module: x_A = A(x^{l−1})
        x_tilde, x_g, residual_g, grad_g, psi = fidelity_and_optimality(
            problem, prior, x_prev, x_a, aty, mu=mu, mu_opt=mu_opt, gamma=gamma
        )
        opt_error = psi.norm()
        opt_bound = c * (x_g - x_prev).norm()
        error_check = opt_error <= opt_bound
        # feedback (6), with ∇f(x^{l−1}) from the previous stage
        x_fb = prior.prox(x_prev - gamma * grad_prev, gamma)
        residual_fb = problem.residual(x_fb)
        phi_g = problem.fidelity_of_residual(residual_g) + prior.value(x_g)
        phi_fb = problem.fidelity_of_residual(residual_fb) + prior.value(x_fb)
        if monotone:
            accepted = error_check & (phi_g <= phi_prev)
            feedback_descends = phi_fb <= phi_prev
            x = torch.where(accepted, x_g, torch.where(feedback_descends, x_fb, x_prev))
            residual = torch.where(accepted, residual_g, torch.where(feedback_descends, residual_fb, residual_prev))
            phi = torch.where(accepted, phi_g, torch.where(feedback_descends, phi_fb, phi_prev))
        else:
            accepted = error_check
            x = torch.where(accepted, x_g, x_fb)
            residual = torch.where(accepted, residual_g, residual_fb)
            phi = torch.where(accepted, phi_g, phi_fb)
        grad = adjoint(residual)
        n_accepted = n_accepted + accepted
        info = {
            "opt_error": opt_error,
            "opt_bound": opt_bound,
            "accepted": accepted,
            "error_check": error_check,
            "accept_rate": n_accepted / stage,
            "objective": phi,
        }
        if stage_info is not None:
            info.update(stage_info(stage))
        yield Step(
            stage,
            x,
            info=info,
            extras={"x_A": problem.to_image(x_a), "x_tilde": problem.to_image(x_tilde), "x_G": problem.to_image(x_g)},
        )
