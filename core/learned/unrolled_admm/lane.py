"""Differentiable unrolled ADMM lane (OneNet-style learned projector, BMVC 2019).

Iteration t (see :mod:`core.learned.unrolled_admm.net`):
    x^{t+1} = P_ω(z^t + u^t),  z^{t+1} = (AᵀA + ρI)⁻¹(Aᵀy + ρ(x^{t+1} − u^t)),  u^{t+1} = u^t + z^{t+1} − x^{t+1}
with z⁰ = x⁰ (the problem's initial estimate) and u⁰ = 0; the lane reports z. By default the lane
is the unrolled network and ends after its trained T iterations (``stages = -1``); the
projector is tied over iterations, so ``stages = 0`` runs on past T as the plain plug-in (OneNet)
use of the same network, and any other number ends there. ``admm_rho`` auto: 0.5 for ``sr``, 0.2
for centre-box inpainting, else 0.3 (the OneNet settings).

``weights = "auto"``: the projector trained for the problem when the problem is one of the four
OneNet problems (:data:`core.learned.unrolled_admm.problems.PROBLEMS`: degradation, parameters
and noise level) and its weights ``unrolled_admm_<key>`` are shipped; otherwise the one projector
trained on all four (``unrolled_admm``, the paper's setup), with a ``UserWarning`` naming the
reason. ``info["problem_weights"]`` is 1 with a per-problem projector, else 0. A weights name
uses those weights; ``"none"``: untrained projector = identity, i.e. P(v) = v.
"""

from __future__ import annotations

import warnings

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, network_on, read_manifest
from .net import UnrolledADMM, admm_iteration
from .problems import ONE_NETWORK, default_rho, matching_problem


def weights_for(problem) -> tuple[str, str | None]:
    """("unrolled_admm_<key>", None) for one of the four OneNet problems whose weights are shipped,
    else (the one network's name, the reason)."""
    entry = matching_problem(problem)
    if entry is None:
        return ONE_NETWORK, "not one of the four OneNet problems (degradation, parameters, noise)"
    name = f"{ONE_NETWORK}_{entry.key}"
    if name not in read_manifest():
        return ONE_NETWORK, f"no weights '{name}' in resources/weights (train them: python -m core train {name})"
    return name, None


@SOLVERS.register(
    "unrolled_admm",
    params=[
        Param(
            "weights",
            "auto",
            "str",
            help="'auto' (the problem's own projector, else the one for all four), a weights name, or 'none'",
        ),
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
        Param(
            "stages",
            -1,
            "int",
            -1,
            100000,
            help="iterations before the lane ends: -1 = the network's trained T, 0 = never (plug-in use)",
        ),
    ],
    doc="Differentiable unrolled ADMM: learned projector (per OneNet problem, or one for all) for inpainting and SR",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("inpaint", "sr", "denoise"),
)
def unrolled_admm(problem, *, weights, admm_rho, stages, net=None):
    """Run unrolled-ADMM iterations as a lane (channels as a batch).

    Yields
    ------
    Step
        info: ``rho``, ``primal_residual`` (RMS of x − z), ``problem_weights`` (1: the projector
        trained for this problem), ``ended`` (after ``stages`` iterations); extras: ``input``
        (z + u, the projector's input), ``output`` (x = P(z + u)), ``residual`` (x − (z + u)).
    """
    name = weights
    if net is None and weights == "auto":
        name, reason = weights_for(problem)
        if reason is not None:
            warnings.warn(f"unrolled_admm: per-problem projector not used ({reason}); using '{name}'", stacklevel=2)
    if net is None:
        net = UnrolledADMM() if name == "none" else cached_network(UnrolledADMM, name)
    own = torch.tensor(1.0 if name.startswith(f"{ONE_NETWORK}_") else 0.0)
    net = network_on(net, problem.x0)
    rho = default_rho(problem) if admm_rho is None else float(admm_rho)
    aty = problem.operator.adjoint(problem.y)[:, None]
    z = problem.x0[:, None]
    u = torch.zeros_like(z)
    rho_t = torch.tensor(rho, dtype=z.dtype, device=z.device)
    last = int(net.iterations) if int(stages) < 0 else int(stages)  # 0: never ends
    k = 0
    while True:
        v = z + u
        with torch.no_grad():
            x, z, u = admm_iteration(net.projector, z, u, aty, problem.operator, rho)
        k += 1
        yield Step(
            k,
            z[:, 0],
            info={
                "rho": rho_t,
                "primal_residual": (x - z).pow(2).mean().sqrt(),
                "problem_weights": own,
                "ended": k == last,
            },
            extras={"input": v[:, 0], "output": x[:, 0], "residual": (x - v)[:, 0]},
        )
        if k == last:
            return
