"""Classical plug-in denoisers D(x, σ): total variation, wavelet BayesShrink, Gaussian smoothing.

Each acts channel by channel on (C, H, W) or (N, C, H, W) images; ``sigma`` is the noise standard
deviation on the [0, 1] scale (float or 0-d tensor; no host sync either way). As σ → 0 every
denoiser tends to the identity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..params import Param
from ..registry import DENOISERS
from ..wavelets import WAVELETS, max_levels, wavedec, waverec
from .base import Denoiser, soft_threshold
from .sparse import as_scalar
from .tv import tv_prox


def _check_image(x: Tensor, name: str) -> None:
    if x.dim() not in (3, 4):
        raise ValueError(f"denoiser '{name}': expected a (C, H, W) or (N, C, H, W) image, got shape {tuple(x.shape)}")


def _strength_param(default: float, meaning: str, math_: str) -> Param:
    return Param("denoiser_strength", default, low=0.0, high=100.0, log=True, help=meaning, math=math_)


@DENOISERS.register(
    "tv",
    title="TV denoiser (ROF)",
    params=[
        _strength_param(1.0, "ROF weight per unit noise level", "θ = strength·σ"),
        Param("denoiser_iters", 50, kind="int", low=1, high=10000, help="FGP dual iterations per call"),
    ],
    doc="total-variation (ROF) denoiser with weight proportional to σ",
)
class TVDenoiser(Denoiser):
    """D(x, σ) = argmin_z θ·TV(z) + ½‖z − x‖² with θ = strength·σ (ROF model).

    Solved by ``iters`` FGP dual iterations from a zero dual (stateless, see :mod:`.tv`).
    """

    name = "tv"

    def __init__(self, strength: float, iters: int):
        self.strength = float(strength)
        self.iters = int(iters)

    def __call__(self, x: Tensor, sigma) -> Tensor:
        _check_image(x, self.name)
        theta = self.strength * as_scalar(sigma, x)
        return tv_prox(x, theta, self.iters)[0]


def _subband_slices(height: int, width: int, levels: int):
    """(rows, cols) slices of the detail subbands in the packed pyramid, finest level first."""
    for _ in range(levels):
        h2, w2 = height // 2, width // 2
        yield slice(0, h2), slice(w2, width)
        yield slice(h2, height), slice(0, w2)
        yield slice(h2, height), slice(w2, width)
        height, width = h2, w2


@DENOISERS.register(
    "wavelet",
    title="Wavelet shrinkage (BayesShrink)",
    params=[
        _strength_param(1.0, "multiplier of the BayesShrink threshold", "T_b = strength·σ²/σ_b"),
        Param("denoiser_wavelet", "db4", kind="choice", choices=WAVELETS, help="orthonormal periodised wavelet"),
        Param("denoiser_levels", 3, kind="int", low=1, high=6, help="decomposition levels"),
    ],
    doc="wavelet soft-thresholding denoiser (BayesShrink thresholds per subband)",
)
class WaveletDenoiser(Denoiser):
    """Soft thresholding of orthonormal wavelet detail coefficients with BayesShrink thresholds.

    For each detail subband b of each image and channel (Chang, Yu & Vetterli 2000):
    σ_b² = max(mean(c_b²) − σ², 0) estimates the clean-signal variance and the threshold is
    T_b = strength · σ² / σ_b (σ_b = 0 removes the subband). The approximation band is kept.
    Sides not divisible by 2**levels are reflect-padded and cropped back.
    """

    name = "wavelet"

    def __init__(self, strength: float, wavelet: str, levels: int):
        self.strength = float(strength)
        self.wavelet = wavelet
        self.levels = int(levels)

    def __call__(self, x: Tensor, sigma) -> Tensor:
        _check_image(x, self.name)
        height, width = x.shape[-2:]
        block = 2**self.levels
        pad_h, pad_w = (-height) % block, (-width) % block
        padded = x
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            padded = F.pad(x.reshape(-1, 1, height, width), (0, pad_w, 0, pad_h), mode=mode)
            padded = padded.reshape(*x.shape[:-2], height + pad_h, width + pad_w)
        levels = min(self.levels, max_levels(*padded.shape[-2:]))
        coeffs = wavedec(padded, self.wavelet, levels)
        noise_var = as_scalar(sigma, x) ** 2
        tiny = torch.finfo(x.dtype).tiny
        shrunk = coeffs.clone()
        for rows, cols in _subband_slices(*coeffs.shape[-2:], levels):
            band = coeffs[..., rows, cols]
            signal_std = (band.pow(2).mean(dim=(-2, -1), keepdim=True) - noise_var).clamp_min(tiny).sqrt()
            shrunk[..., rows, cols] = soft_threshold(band, self.strength * noise_var / signal_std)
        return waverec(shrunk, self.wavelet, levels)[..., :height, :width]


@DENOISERS.register(
    "gaussian",
    title="Gaussian smoothing",
    params=[_strength_param(1.0, "blur width per unit noise level", "std = strength·10·σ px")],
    doc="Gaussian smoothing whose width grows with σ",
)
class GaussianDenoiser(Denoiser):
    """Gaussian smoothing with standard deviation ``strength·10·σ`` pixels (1 px at σ = 0.1).

    Separable convolution with reflect padding. The kernel is truncated at
    radius ⌈6·std⌉ (for a tensor σ the radius for σ = 0.5 is used, so the kernel size needs no
    host sync), capped at the image size, and renormalised to sum 1.
    """

    name = "gaussian"

    def __init__(self, strength: float):
        self.strength = float(strength)

    def __call__(self, x: Tensor, sigma) -> Tensor:
        _check_image(x, self.name)
        height, width = x.shape[-2:]
        sigma_bound = float(sigma) if not isinstance(sigma, Tensor) else 0.5
        radius = max(1, math.ceil(6.0 * self.strength * 10.0 * sigma_bound))
        radius = min(radius, height - 1, width - 1)
        std = (self.strength * 10.0 * as_scalar(sigma, x)).clamp_min(torch.finfo(x.dtype).tiny)
        offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-(offsets**2) / (2.0 * std**2))
        kernel = kernel / kernel.sum()
        images = x.reshape(-1, 1, height, width)
        if radius > 0:
            images = F.conv2d(F.pad(images, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
            images = F.conv2d(F.pad(images, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))
        return images.reshape(x.shape)
