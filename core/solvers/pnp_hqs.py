"""Plug-and-play half-quadratic splitting with a denoiser prior (IRCNN, Zhang et al. CVPR 2017).

HQS on min_x ½‖Ax − y‖² + λΦ(x) with the auxiliary split z = x (IRCNN eqs. (6a)–(6b)):
    z^k = argmin_z ½‖Az − y‖² + (ρ_k/2)‖z − x^{k−1}‖²
        = (AᵀA + ρ_k I)⁻¹ (Aᵀy + ρ_k x^{k−1})                        (6a) data step
    x^k = D(z^k, σ_k)                                                (6b) prior step (denoiser)
Noise-level schedule (methods.md §10): σ_k log-spaced from σ_max to max(σ_min, σ_n) over K
iterations, then held; ρ_k = λ_hqs σ_n² / σ_k² (IRCNN: λ_hqs = 1/3). σ_n = 0 (noise-free data)
is replaced by the floor 1/255 so that ρ_k stays positive.
The denoiser acts on images: for sparse-coding SR it is applied to to_image(z) and mapped back.
"""

from __future__ import annotations

from ..params import Param
from ..registry import SOLVERS
from ._common import NOISE_SIGMA_FLOOR, denoise_unknown, schedule_params, sigma_schedule
from .base import Step


@SOLVERS.register(
    "pnp_hqs",
    params=[
        *schedule_params(sigma_min_default=5.0),
        Param(
            "hqs_lambda",
            1.0 / 3.0,
            low=1e-8,
            high=1e8,
            log=True,
            help="weight of the denoiser prior; sets the coupling ρ_k (IRCNN: 1/3)",
            math="ρ_k = hqs_lambda · σ_n² / σ_k²",
        ),
    ],
    doc="PnP-HQS (IRCNN): z = (AᵀA+ρ_kI)⁻¹(Aᵀy+ρ_k x), x = D(z, σ_k), σ_k decreasing",
    needs_prior=False,
    needs_denoiser=True,
    learned=False,
)
def pnp_hqs(problem, *, denoiser, sigma_max, sigma_min, schedule_iters, hqs_lambda):
    """Half-quadratic splitting with a plug-in denoiser.

    Parameters
    ----------
    problem : Problem
    denoiser : Denoiser
        D(image, σ) with σ on the [0, 1] scale.
    sigma_max, sigma_min : float
        Schedule end points in units of 1/255; the end point is max(σ_min, σ_n).
    schedule_iters : int
        K, the number of iterations over which σ_k decreases.
    hqs_lambda : float
        λ_hqs in ρ_k = λ_hqs σ_n² / σ_k².

    Yields
    ------
    Step
        ``Step(k, x^k, info={"sigma": σ_k, "rho": ρ_k}, extras={"z": z^k image})``.
    """
    noise_sigma = max(float(problem.noise_sigma), NOISE_SIGMA_FLOOR)
    sigma_end = max(sigma_min / 255.0, float(problem.noise_sigma))
    sigma = sigma_schedule(sigma_max / 255.0, sigma_end, schedule_iters)
    aty = problem.operator.adjoint(problem.y)
    x = problem.x0.clone()
    z = x
    k = 0
    while True:
        k += 1
        sigma_k = sigma(k)
        rho_k = hqs_lambda * noise_sigma**2 / sigma_k**2
        z = problem.operator.normal_solve(aty + rho_k * x, rho_k, z)  # (6a)
        x = denoise_unknown(problem, denoiser, z, sigma_k)  # (6b)
        yield Step(k, x, info={"sigma": sigma_k, "rho": rho_k}, extras={"z": problem.to_image(z)})
