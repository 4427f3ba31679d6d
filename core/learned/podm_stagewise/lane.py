"""Lane ``podm_stagewise``: PODM (core/solvers/podm.py) with the stage-wise trained propagation A^l.

When the problem is the class the weights were trained for (sparse-coding SR ×2/×3/×4 with the
ℓ0.8 prior of the Fig. 2 preset, μ = μ_opt = 1e-2, noise-free; see ``problem_class.mismatch``) and
weights for its scale exist, x_A = A^l(x^{l−1}) is the trained unrolled proximal-point solver
(core/learned/podm_stagewise/net.py).
Otherwise the lane falls back to the plug-in denoiser (x_A = D(x^{l−1}, σ_l), as ``podm``) and
says so: a ``UserWarning`` naming the reason, and ``info["trained_propagation"]`` = 0 at every
stage (1 with the trained A). ``info["accept_rate"]`` is the running acceptance rate of (5).
The default c = 4.5e-3 is below Proposition 1's bound μ_opt/2 = 5e-3.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers._common import schedule_params, step_from_lipschitz
from ...solvers.podm import PODM_PARAMS, denoiser_propagation, podm_stages
from ..weights import WeightsError, cached_network, meta_int, network_on, read_manifest
from . import problem_class as pc
from .net import StagewisePropagation


def _architecture(meta: dict, name: str = "podm_stagewise") -> StagewisePropagation:
    return StagewisePropagation(
        stages=meta_int(meta, "stages", None, 1, 200, name),
        inner=meta_int(meta, "inner", None, 1, 200, name),
        levels=meta_int(meta, "levels", None, 1, 6, name),
    )


def load_stagewise(name: str, directory=None) -> StagewisePropagation:
    """The trained :class:`StagewisePropagation` ``name`` (SHA-256 checked, cached, frozen)."""
    return cached_network(lambda meta: _architecture(meta, name), name, directory)


def trained_propagation(problem, prior, *, mu, mu_opt, step_size, weights: str = "auto"):
    """(propagate callable or None, reason). None with the reason when the weights do not apply."""
    reason = pc.mismatch(problem, prior, mu, mu_opt, step_size)
    if reason is not None:
        return None, reason
    name = pc.weights_name(problem.operator.downsample.scale) if weights == "auto" else weights
    if name not in read_manifest():
        return None, f"no weights '{name}' in resources/weights (train them: python -m core train {name})"
    try:
        net = network_on(load_stagewise(name), problem.x0)
    except WeightsError as exc:
        return None, str(exc)
    gamma = step_from_lipschitz(problem, step_size, scale=0.99, extra_curvature=mu if mu_opt is None else mu_opt)
    return propagation_from(net, problem, prior, gamma, mu, mu_opt), None


def propagation_from(net: StagewisePropagation, problem, prior, gamma: float, mu: float = pc.MU, mu_opt=None):
    """The callable (l, x^{l−1}) ↦ x_A = A^l(x^{l−1}) of ``net`` for core.solvers.podm.podm_stages
    (γ, μ and μ_opt those of the PODM stages; ``mu_opt`` None means μ)."""
    mu_opt = mu if mu_opt is None else mu_opt

    def propagate(stage: int, x_prev: torch.Tensor) -> torch.Tensor:
        return net(stage, x_prev, problem, prior, gamma, mu, mu_opt)

    return propagate


_PARAMS = [
    *(p for p in PODM_PARAMS if p.name not in ("c", "sigma_max", "sigma_min", "schedule_iters")),
    Param(
        "c",
        pc.C_DEFAULT,
        low=0.0,
        high=1e8,
        help="tolerance c^l of the check (5); default below Prop. 1's μ_opt/2 = 5e-3",
        math="‖ψ‖ ≤ c‖x_G − x^{l−1}‖",
    ),
    Param("podm_weights", "auto", "str", help="stage-wise weights name ('auto': podm_stagewise_x<scale>)"),
    # the fallback denoiser's σ schedule of the Fig. 2 preset: 15 → 2 (/255)
    *(replace(p, default=15.0) if p.name == "sigma_max" else p for p in schedule_params(sigma_min_default=2.0)),
]


@SOLVERS.register(
    "podm_stagewise",
    title="PODM, stage-wise trained",
    params=_PARAMS,
    doc="PODM with the propagation A^l trained stage by stage (§4.1); denoiser fallback off its problem class",
    needs_prior=True,
    needs_denoiser=True,
    learned=True,
)
def podm_stagewise(
    problem, *, prior, denoiser, mu, mu_opt, c, step_size, monotone, podm_weights, sigma_max, sigma_min, schedule_iters
):
    """PODM whose A^l is the stage-wise trained propagation (or the denoiser fallback).

    Parameters
    ----------
    problem, prior, mu, mu_opt, c, step_size, monotone
        As :func:`core.solvers.podm.podm`.
    denoiser : Denoiser
        Fallback A when the trained weights do not apply.
    podm_weights : str
        Weights name, or ``"auto"``.
    sigma_max, sigma_min, schedule_iters
        The fallback denoiser's σ schedule.

    Returns
    -------
    Iterator[Step]
        As :func:`core.solvers.podm.podm_stages`, plus ``trained_propagation`` (1 or 0) in info.
    """
    propagate, reason = trained_propagation(
        problem, prior, mu=mu, mu_opt=mu_opt, step_size=step_size, weights=podm_weights
    )
    flag = 1.0 if propagate is not None else 0.0
    if propagate is None:
        warnings.warn(
            f"podm_stagewise: trained propagation not used ({reason}); falling back to the denoiser", stacklevel=2
        )
        propagate, _ = denoiser_propagation(problem, denoiser, sigma_max, sigma_min, schedule_iters)

    return podm_stages(
        problem,
        prior,
        propagate,
        mu=mu,
        mu_opt=mu_opt,
        c=c,
        step_size=step_size,
        monotone=monotone,
        stage_info=lambda stage: {"trained_propagation": flag},
    )
