"""Differentiable unrolled ADMM lane (OneNet-style learned projector, BMVC 2019).

Iteration t (see :mod:`core.learned.unrolled_admm.net`):
    x^{t+1} = P_ω(z^t + u^t),  z^{t+1} = (AᵀA + ρI)⁻¹(Aᵀy + ρ(x^{t+1} − u^t)),  u^{t+1} = u^t + z^{t+1} − x^{t+1}
with z⁰ = x⁰ (the problem's initial estimate) and u⁰ = 0; the lane reports z. The projector is
tied over iterations, so the lane goes on past the trained T = 8 (the plain plug-in / OneNet use
of the same network). ``admm_rho`` auto: 0.5 for ``sr``, 0.2 for centre-box inpainting, else 0.3
(the OneNet settings). ``weights = "none"``: untrained projector = identity, i.e. P(v) = v.
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, network_on
from .net import UnrolledADMM, admm_iteration


def default_rho(problem) -> float:
    """OneNet's penalty for the problem type."""
    operator = problem.operator
    if operator.name == "sr":
        return 0.5
    if operator.name == "inpaint" and operator.pattern == "center":
        return 0.2
    return 0.3


@SOLVERS.register(
    "unrolled_admm",
    params=[
        Param("weights", "unrolled_admm", "str", help="weights name in resources/weights, or 'none'"),
        Param(
            "admm_rho",
            None,
            "float",
            1e-3,
            10.0,
            log=True,
            help="ADMM penalty ρ (auto: OneNet's)",
            math="z = (AᵀA + ρI)⁻¹(Aᵀy + ρ(x − u))",
        ),
    ],
    doc="Differentiable unrolled ADMM: one learned projector for inpainting, denoising and SR",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("inpaint", "sr", "denoise"),
)
def unrolled_admm(problem, *, weights, admm_rho, net=None):
    """Run unrolled-ADMM iterations as a lane (channels as a batch).

    Yields
    ------
    Step
        info: ``rho``, ``primal_residual`` (RMS of x − z); extras: ``input`` (z + u, the projector's
        input), ``output`` (x = P(z + u)), ``residual`` (x − (z + u)).
    """
    if net is None:
        net = UnrolledADMM() if weights == "none" else cached_network(UnrolledADMM, weights)
    net = network_on(net, problem.x0)
    rho = default_rho(problem) if admm_rho is None else float(admm_rho)
    aty = problem.operator.adjoint(problem.y)[:, None]
    z = problem.x0[:, None]
    u = torch.zeros_like(z)
    rho_t = torch.tensor(rho, dtype=z.dtype, device=z.device)
    k = 0
    while True:
        v = z + u
        with torch.no_grad():
            x, z, u = admm_iteration(net.projector, z, u, aty, problem.operator, rho)
        k += 1
        yield Step(
            k,
            z[:, 0],
            info={"rho": rho_t, "primal_residual": (x - z).pow(2).mean().sqrt()},
            extras={"input": v[:, 0], "output": x[:, 0], "residual": (x - v)[:, 0]},
        )
