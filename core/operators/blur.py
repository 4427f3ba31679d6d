"""Deblurring: circular convolution A x = k ⊛ x computed with the FFT.

The kernel's centre pixel (size // 2, size // 2) is rolled to the origin of an image-sized
zero-padded array whose 2-D DFT is the optical transfer function (OTF) K. Then

    A x = F⁻¹(K · F x),   Aᵀ y = F⁻¹(conj(K) · F y),   (AᵀA + ρI)⁻¹ b = F⁻¹(F b / (|K|² + ρ)),

which equals ``scipy.ndimage.convolve(x, k, mode="wrap")`` for a 2-D image.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..params import Param
from ..registry import DEGRADATIONS
from . import kernels
from .base import Operator


class BlurOperator(Operator):
    """Circular convolution with a fixed kernel.

    Parameters
    ----------
    kernel : np.ndarray or Tensor
        2-D kernel (already normalised), not larger than the image.
    image_shape : tuple of int
        (C, H, W).
    """

    name = "blur"

    def __init__(self, kernel, image_shape: tuple[int, ...]):
        super().__init__(image_shape)
        k = torch.as_tensor(np.asarray(kernel), dtype=torch.float64)
        height, width = self.image_shape[-2:]
        if k.dim() != 2 or k.shape[0] > height or k.shape[1] > width:
            raise ValueError(f"blur kernel of shape {tuple(k.shape)} does not fit the {height}×{width} image")
        self.kernel = k
        padded = torch.zeros(height, width, dtype=torch.float64)
        padded[: k.shape[0], : k.shape[1]] = k
        padded = torch.roll(padded, shifts=(-(k.shape[0] // 2), -(k.shape[1] // 2)), dims=(0, 1))
        self.otf = torch.fft.rfft2(padded)  # K, half spectrum (real input)
        self.otf_conj = torch.conj(self.otf).resolve_conj()  # conj(K), materialised once for Aᵀ

    def _filter(self, x: Tensor, transfer: Tensor) -> Tensor:
        return torch.fft.irfft2(torch.fft.rfft2(x) * transfer, s=x.shape[-2:])

    def forward(self, x: Tensor) -> Tensor:
        """k ⊛ x = F⁻¹(K · F x)."""
        return self._filter(x, self.otf)

    def adjoint(self, y: Tensor) -> Tensor:
        """F⁻¹(conj(K) · F y) (correlation with k)."""
        return self._filter(y, self.otf_conj)

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact (AᵀA + ρI)⁻¹ b = F⁻¹(F b / (|K|² + ρ))."""
        return self._filter(b, 1.0 / (self.otf.abs() ** 2 + rho))

    def residual_norm_sq(self, x: Tensor, y: Tensor) -> Tensor:
        """‖A x − y‖² = (1/HW) Σ_k |K_k X_k − Y_k|² (Parseval), over the half spectrum of the
        real FFT (every column but the first, and the last when W is even, stands for two);
        one FFT of x, the observation's spectrum Y kept for the next call."""
        if x.is_complex() or y.is_complex():
            return super().residual_norm_sq(x, y)
        height, width = x.shape[-2:]
        spectrum = torch.fft.rfft2(x).mul_(self.otf).sub_(self._spectrum_of(y))
        flat = torch.view_as_real(spectrum).reshape(-1)
        total = torch.dot(flat, flat).mul_(2.0)
        for column in (0, width // 2) if width % 2 == 0 else (0,):
            edge = torch.view_as_real(spectrum[..., column]).reshape(-1)
            total.sub_(torch.dot(edge, edge))
        return total.div_(height * width)

    def _spectrum_of(self, y: Tensor) -> Tensor:
        """rfft2(y), cached for the last y (the same tensor, unchanged)."""
        try:
            version = y._version
        except RuntimeError:  # an inference tensor: no version counter, never cached
            return torch.fft.rfft2(y).to(self.otf.dtype)
        cached = vars(self).get("_y_spectrum")
        if cached is None or cached[0] is not y or cached[1] != version or cached[2].dtype != self.otf.dtype:
            cached = (y, version, torch.fft.rfft2(y).to(self.otf.dtype))
            self._y_spectrum = cached
        return cached[2]

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = max |K|²."""
        return float((self.otf.abs() ** 2).max())

    def initial_estimate(self, y: Tensor) -> Tensor:
        """x⁰ = y (the blurred image is already image-sized)."""
        return y.clone()


KERNEL_CHOICES = ("gaussian", "motion", "line", "box", "file", "levin")


def make_kernel(params: dict, generator: torch.Generator) -> np.ndarray:
    """The kernel described by resolved ``blur`` parameters (see the registry entry)."""
    kind = params["kernel"]
    if kind == "gaussian":
        return kernels.gaussian_kernel(params["kernel_sigma"], params["kernel_size"])
    if kind == "box":
        return kernels.box_kernel(params["kernel_size"])
    if kind == "line":
        return kernels.line_kernel(params["motion_length"], params["motion_angle"])
    if kind == "motion":
        return kernels.motion_kernel(params["motion_length"], generator)
    if kind == "file":
        return kernels.load_kernel_file(params["kernel_path"], index=params["levin_index"])
    if kind == "levin":
        return kernels.levin_kernel(params["levin_index"], params["kernel_path"] or None)
    raise ValueError(f"blur: parameter 'kernel' must be one of {list(KERNEL_CHOICES)}, got {kind!r}")


@DEGRADATIONS.register(
    "blur",
    params=[
        Param(
            "kernel",
            "gaussian",
            "choice",
            choices=KERNEL_CHOICES,
            help="blur kernel: Gaussian, random camera shake, straight line, box, file, Levin et al. 2009",
            math="y = k ⊛ x + n (circular convolution)",
        ),
        Param(
            "kernel_sigma",
            1.6,
            "float",
            0.1,
            20.0,
            unit="px",
            help="Gaussian standard deviation",
            math="k(r) ∝ exp(−r²/2σ²)",
            when=(("kernel", ("gaussian",)),),
        ),
        Param(
            "kernel_size",
            9,
            "int",
            1,
            101,
            unit="px",
            help="side of Gaussian/box kernels (odd)",
            when=(("kernel", ("gaussian", "box")),),
        ),
        Param(
            "motion_length",
            15.0,
            "float",
            1.0,
            100.0,
            unit="px",
            help="length of the line kernel / path length of the camera-shake trajectory",
            when=(("kernel", ("line", "motion")),),
        ),
        Param(
            "motion_angle",
            30.0,
            "float",
            -180.0,
            180.0,
            unit="deg",
            help="line kernel direction, counter-clockwise from horizontal",
            when=(("kernel", ("line",)),),
        ),
        Param(
            "kernel_path",
            "",
            "str",
            help="kernel file (PNG/NPY/MAT) for kernel=file; optional Levin09.mat path for kernel=levin",
            when=(("kernel", ("file", "levin")),),
        ),
        Param(
            "levin_index",
            1,
            "int",
            1,
            8,
            help="which Levin kernel (1-8); also the cell entry of a MAT kernel file holding a cell array",
            when=(("kernel", ("file", "levin")),),
        ),
    ],
    doc="Deblurring: circular convolution with a Gaussian, motion, line, box, file or Levin kernel",
)
def blur_factory(image_shape, params, generator) -> BlurOperator:
    """Build the blur operator for ``image_shape`` = (C, H, W)."""
    return BlurOperator(make_kernel(params, generator), image_shape)
