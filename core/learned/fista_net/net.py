"""FISTA-Net (Xiang, Dong, Yang, IEEE TMI 2021): unrolled FISTA with one shared learned block.

Per-phase scalars are affine in the phase index k and softplus-constrained (k = 0 … K−1):

    θ_k = sp(w_θ k + b_θ),   μ_k = sp(w_μ k + b_μ),
    ρ_k = (sp(w_ρ k + b_ρ) − sp(b_ρ)) / sp(w_ρ k + b_ρ)                         (eq. 10–12)

initialised w_θ = −0.5, b_θ = −2, w_μ = −0.2, b_μ = 0.1, w_ρ = 0.5, b_ρ = 0. Phase k from y⁰ = x⁰:

    r^k     = y^k − μ_k Aᵀ(A y^k − b)                                            (gradient step)
    x^{k+1} = ReLU(r^k + G(H̃(S_θk(H(D r^k)))))                                  (proximal step)
    y^{k+1} = x^{k+1} + ρ_k (x^{k+1} − x^k)                                      (momentum)

D: conv 1→F, H and H̃: 4 convs F→F with ReLU between the first three, G: conv F→1 (3×3, bias,
Xavier init). The block (D, H, H̃, G) is shared by all phases.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.xavier_normal_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def _four_convs(features: int) -> nn.Sequential:
    return nn.Sequential(
        _conv(features, features),
        nn.ReLU(),
        _conv(features, features),
        nn.ReLU(),
        _conv(features, features),
        nn.ReLU(),
        _conv(features, features),
    )


class FISTANet(nn.Module):
    """FISTA-Net with ``phases`` phases sharing one block of ``features`` channels."""

    def __init__(self, phases: int = 6, features: int = 32):
        super().__init__()
        self.n_phases = int(phases)
        self.threshold_affine = nn.Parameter(torch.tensor([-0.5, -2.0]))  # (w_θ, b_θ)
        self.step_affine = nn.Parameter(torch.tensor([-0.2, 0.1]))  # (w_μ, b_μ)
        self.momentum_affine = nn.Parameter(torch.tensor([0.5, 0.0]))  # (w_ρ, b_ρ)
        self.register_buffer("phase_count", torch.tensor(int(phases)))
        self.head = _conv(1, features)  # D
        self.forward_transform = _four_convs(features)  # H
        self.backward_transform = _four_convs(features)  # H̃
        self.tail = _conv(features, 1)  # G

    @classmethod
    def from_state_dict(cls, state: dict) -> FISTANet:
        """Build a network whose sizes match ``state`` and load it."""
        net = cls(int(state["phase_count"]), state["head.weight"].shape[0])
        net.load_state_dict(state)
        return net

    def scalars(self, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """(μ_k, θ_k, ρ_k) of phase k (0-based; beyond K − 1 the last phase's values)."""
        k = min(k, self.n_phases - 1)
        step = F.softplus(self.step_affine[0] * k + self.step_affine[1])
        threshold = F.softplus(self.threshold_affine[0] * k + self.threshold_affine[1])
        sp = F.softplus(self.momentum_affine[0] * k + self.momentum_affine[1])
        momentum = (sp - F.softplus(self.momentum_affine[1])) / sp
        return step, threshold, momentum

    def phase(self, k: int, y: Tensor, x_prev: Tensor, gradient: Callable[[Tensor], Tensor]) -> dict:
        """Phase k from (y^k, x^k); returns x^{k+1}, y^{k+1}, r^k and the symmetry residual."""
        step, threshold, momentum = self.scalars(k)
        r = y - step * gradient(y)
        features = self.head(r)
        coded = self.forward_transform(features)
        shrunk = torch.sign(coded) * F.relu(coded.abs() - threshold)
        x = F.relu(r + self.tail(self.backward_transform(shrunk)))
        return {
            "x": x,
            "y": x + momentum * (x - x_prev),
            "r": r,
            "symmetry": self.backward_transform(coded) - features,
            "step": step,
            "threshold": threshold,
            "momentum": momentum,
        }

    def forward(self, x0: Tensor, gradient: Callable[[Tensor], Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Run the K phases from x⁰ (N, 1, H, W); return x^K and the symmetry residuals."""
        x, y, residuals = x0, x0, []
        for k in range(self.n_phases):
            out = self.phase(k, y, x, gradient)
            x, y = out["x"], out["y"]
            residuals.append(out["symmetry"])
        return x, residuals
