"""Sparse-coding super-resolution: the unknown is α = W x, the orthonormal wavelet coefficients
of the high-resolution image x, and the dictionary is D = S W⁻¹ with S the ×s box downsampling.

    D α = S W⁻¹ α,    Dᵀ o = W Sᵀ o        (W orthonormal: (W⁻¹)ᵀ = W)
    DᵀD = W SᵀS Wᵀ  ⇒  (DᵀD + ρI)⁻¹ = W (SᵀS + ρI)⁻¹ W⁻¹,
and (SᵀS + ρI)⁻¹ is the box operator's exact Woodbury solve. ``to_image`` is W⁻¹, ``from_image`` W.
"""

from __future__ import annotations

import math

from torch import Tensor

from .. import wavelets
from ..params import Param
from ..registry import DEGRADATIONS
from .base import Operator
from .sr import BoxDownsample, bicubic_resize


class SparseCodingSR(Operator):
    """D = S ∘ W⁻¹ acting on wavelet-coefficient images α (same shape as the image).

    Parameters
    ----------
    image_shape : tuple of int
        (C, H, W) of the high-resolution image (and of α).
    scale : int
        Box downsampling factor s.
    wavelet : str
        Orthonormal wavelet of :mod:`core.wavelets`.
    levels : int
        Decomposition levels (H and W must be multiples of 2**levels and of s).
    """

    name = "sparse_sr"

    def __init__(self, image_shape: tuple[int, ...], scale: int, wavelet: str = "haar", levels: int = 3):
        super().__init__(image_shape)
        self.downsample = BoxDownsample(self.image_shape, scale)
        height, width = self.image_shape[-2:]
        if wavelet not in wavelets.WAVELETS:
            raise ValueError(
                f"sparse_sr: parameter 'wavelet' must be an orthonormal wavelet "
                f"(haar, db1-db38, sym2-sym20, coif1-coif17), got {wavelet!r}"
            )
        if height % 2**levels or width % 2**levels:
            raise ValueError(
                f"sparse_sr: image size {height}×{width} is not a multiple of 2**levels = {2**levels} "
                f"(levels = {levels})"
            )
        self.wavelet = wavelet
        self.levels = int(levels)

    def to_image(self, z: Tensor) -> Tensor:
        """x = W⁻¹ α."""
        return wavelets.waverec(z, self.wavelet, self.levels)

    def from_image(self, x: Tensor) -> Tensor:
        """α = W x."""
        return wavelets.wavedec(x, self.wavelet, self.levels)

    def forward(self, x: Tensor) -> Tensor:
        """D α = S W⁻¹ α."""
        return self.downsample.forward(self.to_image(x))

    def adjoint(self, y: Tensor) -> Tensor:
        """Dᵀ o = W Sᵀ o."""
        return self.from_image(self.downsample.adjoint(y))

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact W (SᵀS + ρI)⁻¹ W⁻¹ b."""
        return self.from_image(self.downsample.normal_solve(self.to_image(b), rho))

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖D‖₂² = ‖S‖₂² = 1/s² (W is orthonormal)."""
        return self.downsample.lipschitz()

    def initial_estimate(self, y: Tensor) -> Tensor:
        """α⁰ = W(bicubic upsampling of y)."""
        return self.from_image(bicubic_resize(y, self.image_shape[-2:]))

    def to(self, device=None, dtype=None) -> SparseCodingSR:
        super().to(device, dtype)
        self.downsample.to(device, dtype)
        return self


@DEGRADATIONS.register(
    "sparse_sr",
    params=[
        Param(
            "scale", 2, "int", 2, 4, unit="×", help="box downsampling factor", math="o = S W⁻¹ α + n, unknown α = W x"
        ),
        Param("levels", 3, "int", 1, 6, help="wavelet decomposition levels (sides multiples of 2^levels)"),
        Param("wavelet", "haar", "choice", choices=tuple(wavelets.WAVELETS), help="orthonormal periodised wavelet W"),
    ],
    doc="Sparse-coding SR: box ×s downsampling of W⁻¹α, unknown = wavelet coefficients α",
    image_multiple=lambda params: math.lcm(int(params.get("scale", 1)), 2 ** int(params.get("levels", 0))),
)
def sparse_sr_factory(image_shape, params, generator) -> SparseCodingSR:
    """Build the sparse-coding SR operator for ``image_shape`` = (C, H, W)."""
    return SparseCodingSR(image_shape, params["scale"], params["wavelet"], params["levels"])
