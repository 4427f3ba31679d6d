"""Inpainting: y = M ⊙ x with a binary mask M (1 = observed), identical for every channel.

A = Aᵀ = diag(M) and AᵀA = diag(M) (M² = M), so (AᵀA + ρI)⁻¹ b = b / (M + ρ) elementwise.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..params import Param
from ..registry import DEGRADATIONS
from .base import Operator


class MaskOperator(Operator):
    """Pixel mask A x = M ⊙ x.

    Parameters
    ----------
    mask : Tensor
        (H, W) of 0/1 values, broadcast over channels and batch dimensions.
    image_shape : tuple of int
    pattern : {"random", "center", "blocks"}, optional
        How the missing pixels are laid out (the ``mode`` the mask was drawn with).

    Attributes
    ----------
    mask : Tensor
    pattern : str
    """

    name = "inpaint"

    def __init__(self, mask: Tensor, image_shape: tuple[int, ...], pattern: str = "random"):
        super().__init__(image_shape)
        self.pattern = str(pattern)
        if tuple(mask.shape) != self.image_shape[-2:]:
            raise ValueError(f"inpaint mask shape {tuple(mask.shape)} differs from image {self.image_shape[-2:]}")
        self.mask = mask.to(torch.float64)

    def forward(self, x: Tensor) -> Tensor:
        return self.mask * x

    def adjoint(self, y: Tensor) -> Tensor:
        return self.mask * y

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact (M + ρ)⁻¹ ⊙ b."""
        return b / (self.mask + rho)

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = max M (1 unless nothing is observed)."""
        return float(self.mask.max())

    def initial_estimate(self, y: Tensor) -> Tensor:
        """x⁰ = y (missing pixels are 0)."""
        return self.mask * y


def random_mask(shape: tuple[int, int], keep_rate: float, generator: torch.Generator) -> Tensor:
    """Each pixel kept independently with probability ``keep_rate``."""
    return (torch.rand(shape, generator=generator, dtype=torch.float64) < keep_rate).to(torch.float64)


def center_mask(shape: tuple[int, int], box_fraction: float) -> Tensor:
    """All pixels kept except a centred box of sides round(box_fraction·H) × round(box_fraction·W)."""
    mask = torch.ones(shape, dtype=torch.float64)
    bh, bw = round(box_fraction * shape[0]), round(box_fraction * shape[1])
    top, left = (shape[0] - bh) // 2, (shape[1] - bw) // 2
    mask[top : top + bh, left : left + bw] = 0.0
    return mask


def blocks_mask(shape: tuple[int, int], n_blocks: int, block_fraction: float, generator: torch.Generator) -> Tensor:
    """``n_blocks`` missing boxes of sides round(block_fraction·H) × round(block_fraction·W),
    top-left corners uniform over the positions where the box fits (boxes may overlap)."""
    mask = torch.ones(shape, dtype=torch.float64)
    bh = max(1, round(block_fraction * shape[0]))
    bw = max(1, round(block_fraction * shape[1]))
    tops = torch.randint(0, shape[0] - bh + 1, (n_blocks,), generator=generator).tolist()
    lefts = torch.randint(0, shape[1] - bw + 1, (n_blocks,), generator=generator).tolist()
    for top, left in zip(tops, lefts):
        mask[top : top + bh, left : left + bw] = 0.0
    return mask


@DEGRADATIONS.register(
    "inpaint",
    params=[
        Param(
            "mode",
            "random",
            "choice",
            choices=("random", "center", "blocks"),
            help="random pixels, one centred box, or scattered boxes",
            math="y = M ⊙ x + n",
        ),
        Param(
            "keep_rate",
            0.5,
            "float",
            0.01,
            1.0,
            help="fraction of pixels kept (mode=random)",
            math="P(M_ij = 1) = keep_rate",
            when=(("mode", ("random",)),),
        ),
        Param(
            "box_fraction",
            0.3,
            "float",
            0.0,
            0.95,
            help="side of the missing centre box / image side",
            when=(("mode", ("center",)),),
        ),
        Param(
            "n_blocks", 10, "int", 0, 500, help="number of missing boxes (mode=blocks)", when=(("mode", ("blocks",)),)
        ),
        Param(
            "block_fraction",
            0.1,
            "float",
            0.01,
            0.5,
            help="side of each missing box / image side",
            when=(("mode", ("blocks",)),),
        ),
    ],
    doc="Inpainting: random pixels, a centre box or scattered blocks missing",
)
def inpaint_factory(image_shape, params, generator) -> MaskOperator:
    """Build the inpainting operator for ``image_shape`` = (C, H, W)."""
    shape = tuple(int(s) for s in image_shape[-2:])
    if params["mode"] == "random":
        mask = random_mask(shape, params["keep_rate"], generator)
    elif params["mode"] == "center":
        mask = center_mask(shape, params["box_fraction"])
    else:
        mask = blocks_mask(shape, params["n_blocks"], params["block_fraction"], generator)
    return MaskOperator(mask, image_shape, params["mode"])
