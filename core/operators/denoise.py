"""Denoising: A = I, so (AᵀA + ρI)⁻¹ b = b / (1 + ρ)."""

from __future__ import annotations

from torch import Tensor

from ..registry import DEGRADATIONS
from .base import Operator


class Identity(Operator):
    """A x = x."""

    name = "denoise"

    def forward(self, x: Tensor) -> Tensor:
        return x

    def adjoint(self, y: Tensor) -> Tensor:
        return y

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact b / (1 + ρ)."""
        return b / (1.0 + rho)

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """‖I‖² = 1."""
        return 1.0


@DEGRADATIONS.register("denoise", params=[], doc="Denoising: y = x + n")
def denoise_factory(image_shape, params, generator) -> Identity:
    """Build the identity operator for ``image_shape`` = (C, H, W)."""
    return Identity(image_shape)
