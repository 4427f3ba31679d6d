"""Noise-level-aware dilated residual CNN denoiser (IRCNN/DnCNN style).

Architecture (Zhang et al., IRCNN, CVPR 2017, with FFDNet-style noise-level map):
input = [x, σ·1] (image channels + one constant σ map), 7 conv layers 3×3 with dilations
1, 2, 3, 4, 3, 2, 1 (padding = dilation, so sizes are kept), ReLU after all but the last,
output = x − R(x, σ) (residual learning: R estimates the noise). One network covers
σ ∈ [0, 50/255] on the [0, 1] intensity scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ...registry import ARCHITECTURES

DEFAULT_DILATIONS = (1, 2, 3, 4, 3, 2, 1)


class DilatedDenoiser(nn.Module):
    """D(x, σ) = x − R_θ([x, σ]).

    Parameters
    ----------
    channels : int
        Image channels (1 = grayscale; colour images are denoised channel by channel).
    features : int
        Feature maps of the hidden layers.
    dilations : sequence of int
        Dilation of each 3×3 layer (7 layers in IRCNN).
    """

    def __init__(self, channels: int = 1, features: int = 32, dilations: Sequence[int] = DEFAULT_DILATIONS):
        super().__init__()
        self.channels = int(channels)
        self.features = int(features)
        self.dilations = tuple(int(d) for d in dilations)
        layers: list[nn.Module] = []
        c_in = self.channels + 1
        for i, d in enumerate(self.dilations):
            last = i == len(self.dilations) - 1
            layers.append(
                nn.Conv2d(c_in, self.channels if last else self.features, 3, padding=d, dilation=d, bias=True)
            )
            if not last:
                layers.append(nn.ReLU(inplace=True))
            c_in = self.features
        self.body = nn.Sequential(*layers)

    def config(self) -> dict:
        """Constructor arguments (stored in the weights manifest)."""
        return {"channels": self.channels, "features": self.features, "dilations": list(self.dilations)}

    def forward(self, x: Tensor, sigma: float | Tensor) -> Tensor:
        """Denoise ``x`` of shape (N, C, H, W) at noise level ``sigma`` (scalar or shape (N,)).

        Returns
        -------
        Tensor
            The denoised batch, same shape as ``x``.
        """
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"DilatedDenoiser expects (N, {self.channels}, H, W), got {tuple(x.shape)}")
        sigma_t = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        sigma_map = sigma_t.reshape(-1, 1, 1, 1).expand(x.shape[0], 1, x.shape[2], x.shape[3])
        noise = self.body(torch.cat([x, sigma_map], dim=1))
        return x - noise


@ARCHITECTURES.register(
    "dilated_cnn",
    doc="the dncnn architecture (IRCNN-style dilated CNN, σ map input), "
    "7 layers with dilations 1,2,3,4,3,2,1; sizes read off the tensors",
)
def dilated_cnn_from_state(state: dict) -> DilatedDenoiser:
    """A :class:`DilatedDenoiser` sized from ``state`` (``body.<i>.weight`` tensors), weights loaded."""
    weights = [
        state[key] for key in sorted((k for k in state if k.endswith(".weight")), key=lambda k: int(k.split(".")[1]))
    ]
    if len(weights) != len(DEFAULT_DILATIONS):
        raise ValueError(f"expected {len(DEFAULT_DILATIONS)} convolution layers, found {len(weights)}")
    net = DilatedDenoiser(channels=int(weights[-1].shape[0]), features=int(weights[0].shape[0]))
    net.load_state_dict(state, strict=True)
    return net
