"""Learned-FISTA lane: K unfolded FISTA stages with learned step, threshold and momentum.

Stage k is stage k of :class:`core.learned.learned_fista.net.LearnedFISTA` on the problem's own
A and y (so the lane applies to every degradation):

    z^k = x^{k−1} + β_k (x^{k−1} − x^{k−2}),   r^k = z^k − (s_k/L) Aᵀ(A z^k − y),
    x^k = Wᵀ S_θk(W r^k),                        x^{−1} = x⁰ (the problem's initial estimate).

The stages are untied, so the lane ends after stage K (``info["ended"]``). ``weights = "auto"``
picks ``learned_fista_<degradation>`` (one set per built-in degradation, trained at the example
preset's parameters and noise level); ``"none"`` runs the untrained network, i.e. exactly K FISTA
iterations with the auto weights' initial λ (``lam`` in their manifest meta).
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import WeightsError, cached_network, network_on, read_manifest, weights_meta
from .net import LearnedFISTA, wavelet_shrink

WEIGHTS_PREFIX = "learned_fista_"


def auto_weights(operator) -> str:
    """The shipped weights trained for the operator's degradation (``learned_fista_<name>``)."""
    name = f"{WEIGHTS_PREFIX}{operator.name}"
    if name not in read_manifest():
        shipped = sorted(n for n in read_manifest() if n.startswith(WEIGHTS_PREFIX))
        raise WeightsError(
            f"solver 'learned_fista': no weights '{name}' for degradation '{operator.name}'; "
            f"shipped: {shipped} (train with `python -m core train {name}` or give weights explicitly)"
        )
    return name


def untrained_like(name: str, lipschitz: float) -> LearnedFISTA:
    """FISTA-initialised network with the sizes, wavelet and initial λ of the weights ``name``."""
    trained = cached_network(LearnedFISTA, name)
    lam = float(weights_meta(name).get("lam", 0.01))
    return LearnedFISTA.from_fista(trained.stages, lam, lipschitz, trained.wavelet, int(trained.levels))


@SOLVERS.register(
    "learned_fista",
    params=[
        Param(
            "weights",
            "auto",
            "str",
            help="weights name (learned_fista_<degradation>); 'auto' = the problem's degradation; "
            "'none' = untrained (= K FISTA iterations)",
        )
    ],
    doc="Learned FISTA: K unfolded FISTA stages on A, y with learned step, threshold, momentum (wavelet ℓ1)",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
)
def learned_fista(problem, *, weights, net=None):
    """Run the learned-FISTA stages as a lane.

    Parameters
    ----------
    problem : Problem
    weights : str
        Weights name, ``"auto"`` or ``"none"``.
    net : LearnedFISTA, optional
        Use this network (tests).

    Yields
    ------
    Step
        info: ``step`` (γ_k = s_k/L), ``threshold`` (θ_k), ``momentum`` (β_k), ``ended`` on
        stage K; extras: ``input`` (r^k, the gradient step), ``output`` (x^k), ``residual``
        (x^k − r^k, what the shrinkage removed).
    """
    lipschitz = float(problem.lipschitz())
    if not lipschitz > 0.0:
        raise ValueError("solver 'learned_fista': the operator has Lipschitz constant 0")
    if net is None:
        name = auto_weights(problem.operator) if weights in ("auto", "none") else weights
        net = untrained_like(name, lipschitz) if weights == "none" else cached_network(LearnedFISTA, name)
    net = network_on(net, problem.x0)
    shrink = wavelet_shrink(net.wavelet, int(net.levels), problem.operator)
    to_image = problem.to_image
    x_prev = x = problem.x0
    for k in range(net.stages):
        with torch.no_grad():
            out = net.stage(k, x, x_prev, problem.grad_fidelity, shrink, lipschitz)
        x_prev, x = x, out["x"]
        info = {"step": out["step"], "threshold": out["threshold"], "momentum": out["momentum"]}
        if k == net.stages - 1:
            info["ended"] = True
        yield Step(
            k + 1,
            x,
            info=info,
            extras={"input": to_image(out["r"]), "output": to_image(x), "residual": to_image(x - out["r"])},
        )
