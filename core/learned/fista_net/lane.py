"""FISTA-Net lane (Xiang, Dong, Yang, TMI 2021), trained for 33×33 block CS at 25 %.

Stage k is phase k of :class:`core.learned.fista_net.net.FISTANet`:

    r^k = y^k − μ_k Aᵀ(A y^k − b),  x^{k+1} = ReLU(r^k + G(H̃(S_θk(H(D r^k))))),
    y^{k+1} = x^{k+1} + ρ_k (x^{k+1} − x^k),        y⁰ = x⁰ = Φᵀb.

The network is K phases deep (as trained): the lane ends after phase K (the shared block could
repeat the last phase, but beyond its depth the network was never trained and the iterates
degrade). ``weights = "none"``: freshly initialised block (seed 0) with the paper's initial scalars.
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..ista_net_plus.net import data_gradient
from ..weights import cached_network, check_trained_ratio, network_on
from .net import FISTANet


@SOLVERS.register(
    "fista_net",
    params=[Param("weights", "fista_net", "str", help="weights name in resources/weights, or 'none'")],
    doc="FISTA-Net: unrolled FISTA, shared learned proximal block, softplus step/threshold/momentum",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("cs",),
)
def fista_net(problem, *, weights, net=None):
    """Run FISTA-Net phases as a lane (channels processed as a batch).

    Yields
    ------
    Step
        info: ``step`` (μ_k), ``threshold`` (θ_k), ``momentum`` (ρ_k), ``ended`` (after phase K);
        extras: ``input`` (r^k), ``output`` (x^{k+1}), ``residual`` (x^{k+1} − r^k).
    """
    if net is None:
        if weights == "none":
            with torch.random.fork_rng():
                torch.manual_seed(0)
                net = FISTANet()
        else:
            check_trained_ratio(weights, problem.operator, "fista_net")
            net = cached_network(FISTANet, weights)
    net = network_on(net, problem.x0)
    operator, b = problem.operator, problem.y

    gradient = data_gradient(operator, b)

    x = y = problem.x0[:, None]
    for k in range(1, net.n_phases + 1):
        with torch.no_grad():
            out = net.phase(k - 1, y, x, gradient)
        yield Step(
            k,
            out["x"][:, 0],
            info={
                "step": out["step"],
                "threshold": out["threshold"],
                "momentum": out["momentum"],
                "ended": k == net.n_phases,
            },
            extras={"input": out["r"][:, 0], "output": out["x"][:, 0], "residual": (out["x"] - out["r"])[:, 0]},
        )
        x, y = out["x"], out["y"]
