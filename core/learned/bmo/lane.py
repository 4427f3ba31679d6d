"""BMO lane (ICML 2022, Algorithm 1) for image restoration, trained for deconvolution.

Stage k (see :mod:`core.learned.bmo.net`):
    v_l = prox_{g/L}(u − Aᵀ(Au − y)/L),  g = λ‖W·‖₁ (Haar)           (5) training map 𝒯
    v_u = u − s_k (u − N_ω(u))                                        (6) hyper-training step
    u^k = clip_[0,1](μ v_u + (1 − μ) v_l)                              (7)
with the trained μ, s₀, N_ω and s_k = s₀/(1 + k/K)². The same update runs past the trained K
(s_k fades), so the lane never ends and converges to Fix(𝒯) — the wavelet-ℓ1 solution.
``weights = "none"``: untrained N_ω (identity), μ = s₀ = 0.5.
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, network_on
from .net import BMODeconv, bmo_update


@SOLVERS.register(
    "bmo",
    params=[Param("weights", "bmo_deconv", "str", help="weights name in resources/weights, or 'none'")],
    doc="BMO: learned correction aggregated with a wavelet-ℓ1 proximal-gradient step (Algorithm 1)",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("blur",),
)
def bmo(problem, *, weights, net=None):
    """Run BMO inner steps as a lane (channels as a batch).

    Yields
    ------
    Step
        info: ``step`` (s_k), ``aggregation`` (μ), ``fixed_point_residual`` (‖u^k − 𝒯(u^{k−1})‖ / √n);
        extras: ``input`` (u^{k−1}), ``output`` (N_ω(u^{k−1})), ``residual`` (N_ω(u^{k−1}) − u^{k−1}).
    """
    if net is None:
        net = BMODeconv() if weights == "none" else cached_network(BMODeconv, weights)
    net = network_on(net, problem.x0)
    lipschitz = problem.lipschitz()
    t_map = net.training_map(problem.operator, problem.y, lipschitz)
    u = problem.x0[:, None].clamp(0, 1)
    k = 0
    while True:
        k += 1
        s_k = net.step(k)
        with torch.no_grad():
            out = bmo_update(u, k, t_map, net.projector, net.mu, s_k, lambda v: v.clamp(0, 1))
        yield Step(
            k,
            out["u"][:, 0],
            info={
                "step": s_k,
                "aggregation": net.mu,
                "fixed_point_residual": (out["u"] - out["v_l"]).pow(2).mean().sqrt(),
            },
            extras={"input": u[:, 0], "output": out["correction"][:, 0], "residual": (out["correction"] - u)[:, 0]},
        )
        u = out["u"]
