"""ISTA-Net⁺ (Zhang & Ghanem, CVPR 2018) for block compressive sensing.

Phase k (k = 1 … N_p, each with its own parameters):

    r^k = x^{k−1} − ρ_k Φᵀ(Φ x^{k−1} − y)                                   (ISTA-Net eq. 4)
    x^k = r^k + G(H̃(S_θk(H(D r^k))))                                        (ISTA-Net⁺ eq. 12)

D: 3×3 conv 1→F; H, H̃: conv–ReLU–conv (F→F); G: 3×3 conv F→1; all bias-free, Xavier-normal
initialised; ρ_k = 0.5 and θ_k = 0.01 initially. The symmetry constraint H̃∘H ≈ I is enforced
by the loss term ‖H̃(H(D r^k)) − D r^k‖² (eq. 13).

The gradient step is given as a callable ``gradient(x) = Aᵀ(Ax − y)``, so the same network runs on
33×33 training blocks and on whole block-sampled images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...priors.base import soft_threshold


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    nn.init.xavier_normal_(conv.weight)
    return conv


class ISTANetPlusPhase(nn.Module):
    """One phase: learned step ρ, threshold θ and transforms D, H, H̃, G."""

    def __init__(self, features: int = 32):
        super().__init__()
        self.step = nn.Parameter(torch.tensor(0.5))  # ρ_k
        self.threshold = nn.Parameter(torch.tensor(0.01))  # θ_k
        self.head = _conv(1, features)  # D
        self.forward_transform = nn.Sequential(_conv(features, features), nn.ReLU(), _conv(features, features))  # H
        self.backward_transform = nn.Sequential(_conv(features, features), nn.ReLU(), _conv(features, features))  # H̃
        self.tail = _conv(features, 1)  # G

    def forward(self, x: Tensor, gradient: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Return (x^k, r^k, symmetry residual H̃(H(D r)) − D r) for x^{k−1} of shape (N, 1, H, W)."""
        r = x - self.step * gradient(x)  # (4)
        features = self.head(r)
        coded = self.forward_transform(features)
        out = r + self.tail(self.backward_transform(soft_threshold(coded, self.threshold)))  # (12)
        symmetry = self.backward_transform(coded) - features  # (13)
        return out, r, symmetry


class ISTANetPlus(nn.Module):
    """ISTA-Net⁺ with ``phases`` untied phases of ``features`` channels."""

    def __init__(self, phases: int = 9, features: int = 32):
        super().__init__()
        self.phases = nn.ModuleList(ISTANetPlusPhase(features) for _ in range(phases))

    @classmethod
    def from_state_dict(cls, state: dict) -> ISTANetPlus:
        """Build a network whose sizes match ``state`` and load it."""
        phases = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("phases."))
        net = cls(phases, state["phases.0.head.weight"].shape[0])
        net.load_state_dict(state)
        return net

    @property
    def n_phases(self) -> int:
        return len(self.phases)

    def forward(self, x0: Tensor, gradient: Callable[[Tensor], Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Run all phases from x⁰ (N, 1, H, W); return x^{N_p} and the symmetry residuals."""
        x, residuals = x0, []
        for phase in self.phases:
            x, _, sym = phase(x, gradient)
            residuals.append(sym)
        return x, residuals


def symmetric_loss(output: Tensor, target: Tensor, residuals: list[Tensor], gamma: float = 0.01) -> Tensor:
    """mean‖x^{N_p} − x‖² + γ Σ_k mean‖H̃(H(D r^k)) − D r^k‖² (ISTA-Net eq. 14–15)."""
    loss = F.mse_loss(output, target)
    for sym in residuals:
        loss = loss + gamma * (sym**2).mean()
    return loss
