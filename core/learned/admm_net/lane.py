"""ADMM-Net lane for compressed-sensing MRI (Yang et al., NIPS 2016); see :mod:`core.learned.admm_net.net`.

Stage 1 is the first reconstruction layer x¹ = Re F⁻¹[F Aᵀy ⊘ (M_s + Σ_l ρ_l |F H_l|²)]; stage
n + 1 runs the convolution, learned piecewise-linear shrinkage and multiplier layers of stage n
and then the next reconstruction layer (eq. 6–9). The stages are untied: the lane ends after the
last trained one. Needs a Fourier-diagonal operator (degradation ``mri``).
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, network_on
from .net import ADMMNet


@SOLVERS.register(
    "admm_net",
    params=[Param("weights", "admm_net", "str", help="weights name in resources/weights, or 'none' (initial ADMM)")],
    doc="Deep ADMM-Net: learned filters, piecewise-linear shrinkage and penalties (CS-MRI)",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("mri",),
)
def admm_net(problem, *, weights, net=None):
    """Run the ADMM-Net stages as a lane.

    Yields
    ------
    Step
        info: ``rho`` (mean ρ_l), ``eta`` (mean η_l), ``ended``; extras: ``input`` (x^{k−1}),
        ``output`` (x^k), ``residual`` (x^k − x^{k−1}).
    """
    if problem.operator.name != "mri":
        raise ValueError(
            "solver 'admm_net' needs the 'mri' degradation (a Fourier-sampling operator), "
            f"not '{problem.operator.name}'"
        )
    mask_sym = problem.operator.symmetric_mask
    if net is None:
        net = ADMMNet() if weights == "none" else cached_network(ADMMNet, weights)
    net = network_on(net, problem.x0)
    aty = problem.operator.adjoint(problem.y)[:, None]
    previous = problem.x0
    x = z = beta = None  # stage 1 reconstructs from z = β = None (no multiplier yet)
    for k in range(1, net.n_stages + 2):
        with torch.no_grad():
            if k > 1:
                z, beta = net.stage(k - 2, x, beta)
            x = net.reconstruct(k - 1, aty, mask_sym, z, beta)
        ended = k == net.n_stages + 1
        yield Step(
            k,
            x[:, 0],
            info={"rho": net.rho[k - 1].mean(), "eta": net.eta[min(k - 1, net.n_stages - 1)].mean(), "ended": ended},
            extras={"input": previous, "output": x[:, 0], "residual": x[:, 0] - previous},
        )
        previous = x[:, 0]
