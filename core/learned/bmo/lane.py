"""BMO lane (ICML 2022, Algorithm 1) for image restoration, trained for deconvolution.

Stage k (see :mod:`core.learned.bmo.net`):
    v_l = prox_{g/L}(u − Aᵀ(Au − y)/L),  g = λ‖W·‖₁ (orthonormal wavelets)   (5) training map 𝒯
    v_u = u − s (u − N_ω(u))                                                 (6) hyper-training step
    u^k = μ_k v_u + (1 − μ_k) v_l,  μ_k = μ/(1 + k/K)² (k ≤ K), halved per step past K   (7)
from u⁰ = Aᵀy (as in training), with the trained μ, s, N_ω. The same update runs past the
trained K (μ_k fades, so the iteration becomes 𝒯 itself): the lane never ends and converges to Fix(𝒯) — the minimiser of
½‖Au − y‖² + λ‖Wu‖₁, FISTA's limit for the ``l1_wavelet`` prior with the weights' λ, wavelet and
levels. ``weights = "none"``: untrained N_ω (identity), μ = s = 0.5, λ = 0.002, db4, 3 levels.
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import WeightsError, cached_network, meta_int, network_on
from .net import BMODeconv, bmo_update


def _architecture(meta: dict) -> BMODeconv:
    name = "bmo_deconv"
    lam, wavelet = meta.get("lam"), meta.get("wavelet")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0 <= lam < 1e6:
        raise WeightsError(f"weights '{name}': manifest meta 'lam' = {lam!r} must be a number in [0, 1e6)")
    if not isinstance(wavelet, str):
        raise WeightsError(f"weights '{name}': manifest meta 'wavelet' = {wavelet!r} must be a wavelet name")
    return BMODeconv(
        layers=meta_int(meta, "layers", None, 1, 1000, name),
        lam=float(lam),
        features=meta_int(meta, "features", None, 1, 512, name),
        conv_layers=meta_int(meta, "conv_layers", None, 2, 64, name),
        wavelet=wavelet,
        levels=meta_int(meta, "levels", None, 1, 8, name),
    )


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
        info: ``aggregation`` (μ_k), ``step`` (s), ``fixed_point_residual`` (‖u^k − 𝒯(u^{k−1})‖ / √n);
        extras: ``input`` (u^{k−1}), ``output`` (N_ω(u^{k−1})), ``residual`` (N_ω(u^{k−1}) − u^{k−1}).
    """
    if net is None:
        net = BMODeconv() if weights == "none" else cached_network(_architecture, weights)
    net = network_on(net, problem.x0)
    lipschitz = problem.lipschitz()
    t_map = net.training_map(problem.operator, problem.y, lipschitz)
    u = problem.operator.adjoint(problem.y)[:, None]  # u⁰ = Aᵀy, the training's start
    k = 0
    while True:
        k += 1
        mu_k = net.aggregation(k)
        with torch.no_grad():
            out = bmo_update(u, t_map, net.projector, mu_k, net.step)
        yield Step(
            k,
            out["u"][:, 0],
            info={
                "aggregation": mu_k,
                "step": net.step,
                "fixed_point_residual": (out["u"] - out["v_l"]).pow(2).mean().sqrt(),
            },
            extras={"input": u[:, 0], "output": out["correction"][:, 0], "residual": (out["correction"] - u)[:, 0]},
        )
        u = out["u"]
