"""ISTA-Net⁺ lane for block compressive sensing (Zhang & Ghanem, CVPR 2018).

Stage k is phase k of the trained network (see :mod:`core.learned.ista_net_plus.net`):

    r^k = x^{k−1} − ρ_k Aᵀ(A x^{k−1} − y)                                     (4)
    x^k = r^k + G_k(H̃_k(S_θk(H_k(D_k r^k))))                                 (12)

from x⁰ = Q_init y when the problem samples with the network's own Φ (saved with the weights: the Φ
a ``cs`` problem with seed 0 draws), else from the problem's x⁰ = Φᵀy (with a ``UserWarning``;
the network is trained for its Φ and is weaker on another). The phases are untied, so the lane ends
after the last trained phase (``info["ended"]``). ``weights = "auto"`` picks the shipped network
whose sampling ratio (10, 25, 50 %) is nearest to the problem's; ``"none"`` runs freshly initialised
phases (ρ = 0.5, θ = 0.01, Xavier transforms, seed 0) from Φᵀy.
"""

from __future__ import annotations

import warnings

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, check_trained_ratio, network_on
from .net import ISTANetPlus, data_gradient

SHIPPED_RATIOS = (10, 25, 50)


def auto_weights(operator) -> str:
    """Shipped ISTA-Net⁺ weights for the operator's sampling ratio (25 % when it has none)."""
    ratio = 25.0 if operator.sampling_ratio is None else 100.0 * operator.sampling_ratio
    return f"ista_net_plus_r{min(SHIPPED_RATIOS, key=lambda r: abs(r - ratio))}"


@SOLVERS.register(
    "ista_net_plus",
    params=[
        Param(
            "weights",
            "auto",
            "str",
            help="weights name (ista_net_plus_r{10,25,50}); 'auto' = nearest ratio; 'none' = untrained",
        )
    ],
    doc="ISTA-Net⁺: 9 learned ISTA phases with learned transforms (block compressive sensing)",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("cs",),
)
def ista_net_plus(problem, *, weights, net=None):
    """Run the ISTA-Net⁺ phases as a lane.

    Parameters
    ----------
    problem : Problem
        Any linear problem (the network is trained for ``cs``); channels are processed as a batch.
    weights : str
    net : ISTANetPlus, optional
        Use this network (tests).

    Yields
    ------
    Step
        info: ``step`` (ρ_k), ``threshold`` (θ_k), ``x0`` (which initialisation), ``ended``;
        extras: ``input`` (r^k, the gradient step), ``output`` (x^k), ``residual`` (x^k − r^k, the
        learned correction).
    """
    if net is None:
        if weights == "none":
            with torch.random.fork_rng():
                torch.manual_seed(0)
                net = ISTANetPlus()
        else:
            name = auto_weights(problem.operator) if weights == "auto" else weights
            check_trained_ratio(name, problem.operator, "ista_net_plus")
            net = cached_network(ISTANetPlus, name)
    net = network_on(net, problem.x0)
    operator, y = problem.operator, problem.y

    gradient = data_gradient(operator, y)

    learned_start = net.samples_like(operator)
    if learned_start:
        x = net.initial(operator, y)[:, None]
    else:
        x = problem.x0[:, None]
        warnings.warn(
            "ista_net_plus: x0 = Phi^T y (the problem's Phi is not the network's: seed 0 has it); "
            "the network is trained for its own Phi",
            stacklevel=2,
        )
    for k, phase in enumerate(net.phases, start=1):
        with torch.no_grad():
            x_next, r, _ = phase(x, gradient)
        ended = k == net.n_phases
        yield Step(
            k,
            x_next[:, 0],
            info={"step": phase.step, "threshold": phase.threshold, "ended": ended},
            extras={"input": r[:, 0], "output": x_next[:, 0], "residual": (x_next - r)[:, 0]},
        )
        x = x_next
