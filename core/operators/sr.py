"""Super-resolution: y = S x with S a ×s downsampling (box average or antialiased bicubic).

Box:      each low-resolution pixel is the mean of an s×s block. AAᵀ = I/s², so by Woodbury
          (AᵀA + ρI)⁻¹ = (1/ρ)[I − AᵀA/(ρ + 1/s²)].
Bicubic:  separable resampling A x = R_H x R_Wᵀ with 1-D matrices built from the Keys cubic
          (a = −0.5) stretched by s (antialiasing, as MATLAB ``imresize`` / PIL), truncated and
          renormalised at the borders; Aᵀ y = R_Hᵀ y R_W. With R_HᵀR_H = U_H Λ_H U_Hᵀ (and W
          alike), AᵀA = (U_H ⊗ U_W)(Λ_H ⊗ Λ_W)(U_H ⊗ U_W)ᵀ gives the exact normal solve.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..params import Param
from ..registry import DEGRADATIONS
from .base import Operator


def keys_cubic(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a`` (support [−2, 2])."""
    t = np.abs(t)
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def cubic_resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of 1-D bicubic resampling with pixel-centre alignment.

    Output pixel i sits at input coordinate c_i = (i + ½)·n_in/n_out − ½. When shrinking by
    s = n_in/n_out > 1 the kernel is stretched to k(t/s)/s (antialiasing). Taps falling outside
    the signal are dropped and each row is renormalised to sum 1.
    """
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    taps = np.arange(n_in)
    weights = keys_cubic((taps[None, :] - centres[:, None]) / stretch)
    return weights / weights.sum(axis=1, keepdims=True)


def bicubic_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic resampling (antialiased when shrinking) of ``x`` (..., H, W) to ``size``."""
    rows = torch.as_tensor(cubic_resize_matrix(x.shape[-2], size[0]), dtype=x.dtype, device=x.device)
    cols = torch.as_tensor(cubic_resize_matrix(x.shape[-1], size[1]), dtype=x.dtype, device=x.device)
    return rows @ x @ cols.T


def check_divisible(image_shape: tuple[int, ...], scale: int, owner: str) -> None:
    """Raise ``ValueError`` unless H and W are multiples of ``scale``."""
    height, width = image_shape[-2:]
    if height % scale or width % scale:
        raise ValueError(
            f"{owner}: image size {height}×{width} is not a multiple of scale {scale}; "
            f"crop or resize the image (e.g. to {height - height % scale}×{width - width % scale})"
        )


class _Downsampling(Operator):
    """Shared parts of the SR operators: scale, bicubic x⁰ and display."""

    def __init__(self, image_shape: tuple[int, ...], scale: int):
        super().__init__(image_shape)
        self.scale = int(scale)
        check_divisible(self.image_shape, self.scale, "sr")

    def initial_estimate(self, y: Tensor) -> Tensor:
        """x⁰ = bicubic upsampling of y to the image size."""
        return bicubic_resize(y, self.image_shape[-2:])


class BoxDownsample(_Downsampling):
    """Block-average ×s downsampling: (A x)_ij = mean of the s×s block (i, j)."""

    name = "sr"

    def forward(self, x: Tensor) -> Tensor:
        s = self.scale
        h, w = x.shape[-2] // s, x.shape[-1] // s
        return x.reshape(*x.shape[:-2], h, s, w, s).mean(dim=(-3, -1))

    def adjoint(self, y: Tensor) -> Tensor:
        """Aᵀ y = each value repeated over its s×s block, divided by s²."""
        s = self.scale
        return y.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1) / (s * s)

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = 1/s² (AAᵀ = I/s²)."""
        return 1.0 / (self.scale * self.scale)

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Woodbury: (AᵀA + ρI)⁻¹ b = (b − AᵀA b / (ρ + 1/s²)) / ρ."""
        gram_b = self.adjoint(self.forward(b))
        return (b - gram_b / (rho + 1.0 / (self.scale * self.scale))) / rho


class BicubicDownsample(_Downsampling):
    """Antialiased bicubic ×s downsampling A x = R_H x R_Wᵀ (Keys a = −0.5)."""

    name = "sr"

    def __init__(self, image_shape: tuple[int, ...], scale: int):
        super().__init__(image_shape, scale)
        height, width = self.image_shape[-2:]
        rows = cubic_resize_matrix(height, height // self.scale)
        cols = cubic_resize_matrix(width, width // self.scale)
        self.rows = torch.as_tensor(rows)  # R_H, (H/s, H)
        self.cols = torch.as_tensor(cols)  # R_W, (W/s, W)
        lam_h, u_h = np.linalg.eigh(rows.T @ rows)
        lam_w, u_w = np.linalg.eigh(cols.T @ cols)
        self.eig_rows = torch.as_tensor(u_h)
        self.eig_cols = torch.as_tensor(u_w)
        self.gram_spectrum = torch.as_tensor(np.clip(np.outer(lam_h, lam_w), 0.0, None))

    def forward(self, x: Tensor) -> Tensor:
        return self.rows @ x @ self.cols.T

    def adjoint(self, y: Tensor) -> Tensor:
        return self.rows.T @ y @ self.cols

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = max λ_H · max λ_W."""
        return float(self.gram_spectrum.max())

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact: U_H [(U_Hᵀ b U_W) / (λ_H λ_Wᵀ + ρ)] U_Wᵀ."""
        coeffs = self.eig_rows.T @ b @ self.eig_cols
        return self.eig_rows @ (coeffs / (self.gram_spectrum + rho)) @ self.eig_cols.T


@DEGRADATIONS.register(
    "sr",
    params=[
        Param(
            "scale",
            2,
            "int",
            2,
            4,
            unit="×",
            help="downsampling factor (image sides must be multiples)",
            math="y = S_s x + n",
        ),
        Param(
            "method",
            "box",
            "choice",
            choices=("box", "bicubic"),
            help="box: mean of s×s blocks; bicubic: antialiased Keys cubic (a = −0.5), as imresize",
        ),
    ],
    doc="Super-resolution: ×2-4 box-average or antialiased bicubic downsampling",
    image_multiple=lambda params: int(params.get("scale", 1)),
)
def sr_factory(image_shape, params, generator) -> Operator:
    """Build the SR operator for ``image_shape`` = (C, H, W)."""
    cls = BoxDownsample if params["method"] == "box" else BicubicDownsample
    return cls(image_shape, params["scale"])
