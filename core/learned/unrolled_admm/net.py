"""Differentiable unrolled ADMM with one learned projector for several problems
(Milacski, Póczos, Lőrincz, BMVC 2019, building on OneNet, Chang et al. 2017).

ADMM for min_z ½‖Az − y‖² + g(x) s.t. x = z, with the proximal step of g replaced by a learned
projector P_ω (scaled dual u):

    x^{t+1} = P_ω(z^t + u^t)                                                        (12)
    z^{t+1} = (AᵀA + ρI)⁻¹ (Aᵀy + ρ(x^{t+1} − u^t))                                 (13)
    u^{t+1} = u^t + z^{t+1} − x^{t+1}                                               (14)

from u⁰ = 0 and z⁰ = the operator's initial estimate. T = 8 iterations are unrolled with tied ω
and P_ω is trained end-to-end on ‖z^T − x*‖² over a mix of problems (pixelwise inpainting +
denoising, centre box, scattered blocks, ×2 super-resolution). P_ω works on [−1, 1]: it maps
v ↦ (1 + s + N_ω(s))/2 with s = 2v − 1 (a residual CNN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Projector(nn.Module):
    """Residual CNN P_ω: ``layers`` 3×3 convs of ``features`` channels with smooth ELU-like
    activations softplus(2s + 2)/2 − 1 (the OneNet activation)."""

    def __init__(self, features: int = 16, layers: int = 5):
        super().__init__()
        sizes = [1] + [features] * (layers - 1) + [1]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(sizes[:-1], sizes[1:]))
        nn.init.zeros_(self.convs[-1].weight)
        nn.init.zeros_(self.convs[-1].bias)

    def forward(self, v: Tensor) -> Tensor:
        """P_ω(v) for images v (N, 1, H, W) in [0, 1] intensity units."""
        s = 2.0 * v - 1.0
        h = s
        for conv in self.convs[:-1]:
            h = F.softplus(2.0 * conv(h) + 2.0) / 2.0 - 1.0
        return (1.0 + s + self.convs[-1](h)) / 2.0


def admm_iteration(projector, z: Tensor, u: Tensor, aty: Tensor, operator, rho: float) -> tuple[Tensor, Tensor, Tensor]:
    """One ADMM iteration (12)–(14); images (N, 1, H, W), operator acting on (N, H, W).

    Returns
    -------
    x, z, u : Tensor
        x^{t+1} = P(z^t + u^t), z^{t+1}, u^{t+1}.
    """
    x = projector(z + u)  # (12)
    z = operator.normal_solve((aty + rho * (x - u))[:, 0], rho)[:, None]  # (13)
    u = u + z - x  # (14)
    return x, z, u


class UnrolledADMM(nn.Module):
    """T unrolled ADMM iterations sharing one projector."""

    def __init__(self, iterations: int = 8, features: int = 16, layers: int = 5):
        super().__init__()
        self.projector = Projector(features, layers)
        self.register_buffer("iterations", torch.tensor(int(iterations)))

    @classmethod
    def from_state_dict(cls, state: dict) -> UnrolledADMM:
        """Build a network whose sizes match ``state`` and load it."""
        convs = sorted({int(k.split(".")[2]) for k in state if k.startswith("projector.convs.")})
        net = cls(int(state["iterations"]), state["projector.convs.0.weight"].shape[0], len(convs))
        net.load_state_dict(state)
        return net

    def forward(self, z0: Tensor, aty: Tensor, operator, rho: float, iterations: int | None = None) -> Tensor:
        """z^T from z⁰ (N, 1, H, W) with u⁰ = 0."""
        z, u = z0, torch.zeros_like(z0)
        for _ in range(int(self.iterations) if iterations is None else iterations):
            _, z, u = admm_iteration(self.projector, z, u, aty, operator, rho)
        return z
