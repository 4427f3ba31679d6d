"""Stage-wise trained propagation module A^l of PODM (Liu et al., NeurIPS 2018, §4.1).

§4.1: "only the parameters θ_A^l are learned when considering PODM as an accurate numerical
solver", greedily, stage by stage. Our A^l acts on the unknown of sparse-coding SR, the wavelet
coefficient image α = W x, and is a small residual CNN that scales the proximal-gradient
direction of x^{l−1} coefficient by coefficient:

    d^l   = prox_{γg}(x^{l−1} − γ∇f(x^{l−1})) − x^{l−1}                  (the feedback direction of (6))
    x_A^l = A^l(x^{l−1}) = x^{l−1} + G_{θ^l}(x^{l−1}, d^l, [x^{l−1} + d^l = 0], level map) ⊙ d^l

G is 3×3 conv (4 → F), ReLU, 3×3 conv (F → F), ReLU, 1×1 conv (F → 1), initialised to G ≡ 1
(x_A = the feedback step). Why this form: (5) with c < μ_opt/2 accepts x_G only when it behaves
like the proximal-point step argmin Φ + (κ/2)‖x − x^{l−1}‖² (core/solvers/podm.py), i.e. when x̃
is close to that point in the null space of D, where x̃ = x_A (3). The proximal-point step is,
per coefficient, roughly the proximal-gradient step magnified (≈ 1/(γμ) where the coefficient
survives, 1 where the prox zeroes it), so a learned gain map on d suffices and vanishes at a
critical point (d = 0), keeping the check's relative accuracy at late stages.

Stages beyond the trained ones reuse the last network.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: d is fed to the network multiplied by this (d is ~1/(γμ) ≈ 26 times smaller than the step
#: the check wants, see the module docstring); only a conditioning constant.
DIRECTION_SCALE = 25.0


class StageGain(nn.Module):
    """G_θ of one stage: (N, 4, H, W) features → (N, 1, H, W) gain, initialised to 1."""

    def __init__(self, features: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(4, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, 1, 1),
        )
        last = self.body[-1]
        nn.init.zeros_(last.weight)
        nn.init.ones_(last.bias)

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features)


def level_map(height: int, width: int, levels: int, like: Tensor) -> Tensor:
    """(1, 1, H, W) map of the pyramid layout of core.wavelets: j/levels on the level-j details
    (j = 1 finest), 0 on the coarse LL block."""
    out = torch.zeros(1, 1, height, width, dtype=like.dtype, device=like.device)
    for j in range(1, levels + 1):
        h, w = height >> (j - 1), width >> (j - 1)
        out[..., :h, :w] = j / levels
    out[..., : height >> levels, : width >> levels] = 0.0
    return out


class StagewisePropagation(nn.Module):
    """The networks A^1 … A^L (one :class:`StageGain` each); stage l > L uses A^L.

    Parameters
    ----------
    stages : int
        Number of trained stages L.
    features : int
        Hidden feature maps of each stage's gain network.
    levels : int
        Wavelet levels of the coefficient layout (for the level map).
    """

    def __init__(self, stages: int = 12, features: int = 16, levels: int = 3):
        super().__init__()
        self.stages = int(stages)
        self.features = int(features)
        self.levels = int(levels)
        self.nets = nn.ModuleList(StageGain(self.features) for _ in range(self.stages))

    def config(self) -> dict:
        """Constructor arguments (stored in the weights manifest)."""
        return {"stages": self.stages, "features": self.features, "levels": self.levels}

    def net(self, stage: int) -> StageGain:
        """A^l for stage l ≥ 1 (the last trained one beyond L)."""
        return self.nets[min(int(stage), self.stages) - 1]

    def forward(self, stage: int, x: Tensor, direction: Tensor) -> Tensor:
        """x_A = x + G(x, d, [x + d = 0], levels) ⊙ d for x, d of shape (..., H, W).

        Leading dimensions (channels, batch) are flattened into the batch of the CNN.
        """
        shape = x.shape
        height, width = shape[-2:]
        x4 = x.reshape(-1, 1, height, width)
        d4 = direction.reshape(-1, 1, height, width)
        zeroed = ((x4 + d4) == 0).to(x4.dtype)
        levels = level_map(height, width, self.levels, x4).expand_as(x4)
        gain = self.net(stage)(torch.cat([x4, DIRECTION_SCALE * d4, zeroed, levels], dim=1))
        return (x4 + gain * d4).reshape(shape)
