"""Compressed-sensing MRI: y = M ⊙ F x with F the orthonormal 2-D DFT and M a 0/1 k-space mask.

The unknown x is real and y is complex, with the real inner product ⟨a, b⟩ = Re Σ conj(a)·b:
    Re⟨M F x, y⟩ = Σ x · Re(F⁻¹ M y),  so  Aᵀ y = Re F⁻¹(M ⊙ y).
For real x, F x is conjugate-symmetric (X[−k] = conj X[k]) and Re F⁻¹ Z = F⁻¹ ½(Z[k] + conj Z[−k]),
hence AᵀA x = F⁻¹(M_s ⊙ F x) with the symmetrised mask M_s[k] = ½(M[k] + M[−k]): AᵀA is
diagonal in Fourier for every mask, and
    (AᵀA + ρI)⁻¹ b = Re F⁻¹(F b / (M_s + ρ)).
``mask`` is stored in the unshifted FFT layout (DC at index (0, 0)), as ``torch.fft.fft2`` uses.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..params import Param
from ..registry import DEGRADATIONS
from .base import Operator

_GOLDEN_ANGLE = math.pi * (math.sqrt(5.0) - 1.0) / 2.0  # 180°/φ between successive spokes


class MRIOperator(Operator):
    """Undersampled orthonormal Fourier transform A x = M ⊙ F x.

    Parameters
    ----------
    mask : Tensor
        (H, W) 0/1 k-space mask in the unshifted FFT layout.
    image_shape : tuple of int

    Attributes
    ----------
    mask : Tensor
        The sampling mask (float, unshifted layout); ``torch.fft.fftshift`` centres it.
    symmetric_mask : Tensor
        ½(M[k] + M[−k]): the mask as seen by real images (AᵀA x = Re F⁻¹(M ⊙ F x) = F⁻¹(M_sym ⊙ F x)),
        for learned solvers that work in k-space.
    """

    name = "mri"

    def __init__(self, mask: Tensor, image_shape: tuple[int, ...]):
        super().__init__(image_shape)
        if tuple(mask.shape) != self.image_shape[-2:]:
            raise ValueError(f"mri mask shape {tuple(mask.shape)} differs from image {self.image_shape[-2:]}")
        self.mask = mask.to(torch.float64)
        mirrored = torch.roll(torch.flip(self.mask, dims=(0, 1)), shifts=(1, 1), dims=(0, 1))  # M[−k]
        self.symmetric_mask = 0.5 * (self.mask + mirrored)

    @property
    def sampling_ratio(self) -> float:
        """Fraction of k-space sampled."""
        return float(self.mask.mean())

    def forward(self, x: Tensor) -> Tensor:
        """M ⊙ F x (complex)."""
        return self.mask * torch.fft.fft2(x, norm="ortho")

    def adjoint(self, y: Tensor) -> Tensor:
        """Re F⁻¹(M ⊙ y) (zero-filled reconstruction when applied to the data)."""
        return torch.fft.ifft2(self.mask * y, norm="ortho").real

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = max M_s (AᵀA = F⁻¹ diag(M_s) F on real images)."""
        return float(self.symmetric_mask.max())

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact Re F⁻¹(F b / (M_s + ρ)) (see the module docstring)."""
        spectrum = torch.fft.fft2(b, norm="ortho") / (self.symmetric_mask + rho)
        return torch.fft.ifft2(spectrum, norm="ortho").real


def _centered_coordinates(shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
    rows = torch.arange(shape[0], dtype=torch.float64) - shape[0] // 2
    cols = torch.arange(shape[1], dtype=torch.float64) - shape[1] // 2
    return rows[:, None], cols[None, :]


def cartesian_mask(shape: tuple[int, int], ratio: float, center_fraction: float, generator: torch.Generator) -> Tensor:
    """Full k-space rows: a centred band of round(center_fraction·H) rows plus uniformly random
    other rows, round(ratio·H) rows in all. Returned centred (DC at (H//2, W//2))."""
    height = shape[0]
    total = max(1, round(ratio * height))
    n_center = min(round(center_fraction * height), total)
    start = height // 2 - n_center // 2
    chosen = torch.zeros(height, dtype=torch.bool)
    chosen[start : start + n_center] = True
    others = torch.nonzero(~chosen).flatten()
    pick = others[torch.randperm(len(others), generator=generator)[: total - n_center]]
    chosen[pick] = True
    return chosen[:, None].to(torch.float64).expand(shape).clone()


def radial_mask(shape: tuple[int, int], ratio: float, generator: torch.Generator) -> Tensor:
    """Spokes through the k-space centre, golden-angle spaced from a random first angle, added
    until at least ``ratio`` of k-space is covered. Returned centred."""
    mask = torch.zeros(shape, dtype=torch.float64)
    c_row, c_col = shape[0] // 2, shape[1] // 2
    radius = math.hypot(*shape) / 2.0
    t = torch.arange(-radius, radius, 0.5, dtype=torch.float64)
    angle = float(torch.rand(1, generator=generator, dtype=torch.float64)) * math.pi
    target = ratio * shape[0] * shape[1]
    for _ in range(100 * max(shape)):
        if float(mask.sum()) >= target:
            break
        rows = torch.round(c_row - t * math.sin(angle)).long()
        cols = torch.round(c_col + t * math.cos(angle)).long()
        inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        mask[rows[inside], cols[inside]] = 1.0
        angle += _GOLDEN_ANGLE
    return mask


def gaussian_mask(
    shape: tuple[int, int], ratio: float, center_fraction: float, generator: torch.Generator, sigma: float = 0.2
) -> Tensor:
    """Variable-density random points: a fully sampled centred box of sides
    round(center_fraction·(H, W)), the rest drawn without replacement with probability
    ∝ exp(−(u² + v²)/2σ²), u, v the frequencies in cycles per pixel. round(ratio·H·W) in all."""
    total = max(1, round(ratio * shape[0] * shape[1]))
    rows, cols = _centered_coordinates(shape)
    half_h = round(center_fraction * shape[0]) / 2.0
    half_w = round(center_fraction * shape[1]) / 2.0
    center = ((rows >= -half_h) & (rows < half_h) & (cols >= -half_w) & (cols < half_w)).flatten()
    mask = center.to(torch.float64)
    remaining = total - int(center.sum())
    if remaining > 0:
        density = torch.exp(-((rows / shape[0]) ** 2 + (cols / shape[1]) ** 2) / (2.0 * sigma**2)).flatten()
        density[center] = 0.0
        mask[torch.multinomial(density, remaining, replacement=False, generator=generator)] = 1.0
    return mask.reshape(shape)


@DEGRADATIONS.register(
    "mri",
    params=[
        Param(
            "mask",
            "cartesian",
            "choice",
            choices=("cartesian", "radial", "gaussian"),
            help="k-space sampling: random full lines, radial spokes, variable-density points",
            math="y = M ⊙ F x + n, F orthonormal DFT",
        ),
        Param("ratio", 25.0, "float", 1.0, 100.0, unit="%", help="fraction of k-space sampled", math="Σ M / (H·W)"),
        Param(
            "center_fraction",
            0.08,
            "float",
            0.0,
            1.0,
            help="fully sampled centre band (cartesian) / box (gaussian), fraction of the side",
        ),
    ],
    doc="Compressed-sensing MRI: undersampled orthonormal 2-D Fourier transform (real image)",
)
def mri_factory(image_shape, params, generator) -> MRIOperator:
    """Build the MRI operator for ``image_shape`` = (C, H, W)."""
    shape = tuple(int(s) for s in image_shape[-2:])
    ratio = params["ratio"] / 100.0
    if params["mask"] == "cartesian":
        centred = cartesian_mask(shape, ratio, params["center_fraction"], generator)
    elif params["mask"] == "radial":
        centred = radial_mask(shape, ratio, generator)
    else:
        centred = gaussian_mask(shape, ratio, params["center_fraction"], generator)
    return MRIOperator(torch.fft.ifftshift(centred), image_shape)
