"""Block compressive sensing: every B×B block of the (zero-padded) image is measured by Φ.

Φ (m×n, n = B², m = round(ratio/100·n)) has orthonormal rows: Φ = Qᵀ with Q from the QR
factorisation of an n×m Gaussian matrix, so ΦΦᵀ = I. A block is flattened row-major.
The image is zero-padded on the bottom/right to multiples of B (P); A = Φ_blk P and
Aᵀ = Pᵀ Φ_blkᵀ, where Pᵀ crops, so the adjoint is exact.

Normal equations, per block with D the diagonal 0/1 mask of its pixels inside the image:
    (AᵀA + ρI)⁻¹ b = (1/ρ)[b − Φᵀ (ρI + Φ D Φᵀ)⁻¹ Φ b]           (Woodbury)
For interior blocks D = I and ΦDΦᵀ = I, giving (1/ρ)[I − ΦᵀΦ/(1 + ρ)]. Border blocks use the
eigendecomposition Φ D Φᵀ = V diag(μ) Vᵀ computed once (at most four block types).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..params import Param
from ..registry import DEGRADATIONS
from .base import Operator


def orthonormal_rows(m: int, n: int, generator: torch.Generator) -> Tensor:
    """A seeded random (m, n) matrix with orthonormal rows (QR of a Gaussian n×m matrix)."""
    gauss = torch.randn(n, m, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r))  # unique factor: the distribution is Haar
    return q.T.contiguous()


class BlockCS(Operator):
    """Block compressive sensing y_b = Φ x_b for every B×B block b.

    Parameters
    ----------
    phi : Tensor
        (m, B²) sampling matrix with orthonormal rows.
    block : int
        Block side B.
    image_shape : tuple of int

    Attributes
    ----------
    phi : Tensor
        The sampling matrix (for learned solvers, which work block by block).
    n_blocks : tuple of int
        Blocks per column and per row of the padded image.
    """

    name = "cs"

    def __init__(self, phi: Tensor, block: int, image_shape: tuple[int, ...]):
        super().__init__(image_shape)
        self.block = int(block)
        if phi.shape[1] != self.block * self.block:
            raise ValueError(f"cs: Φ has {phi.shape[1]} columns, block {block}×{block} has {block * block} pixels")
        self.phi = phi
        height, width = self.image_shape[-2:]
        self.n_blocks = (math.ceil(height / self.block), math.ceil(width / self.block))
        # Block types: (row slice, column slice, V, μ); μ = None marks interior (ΦΦᵀ = I).
        self._types = []
        full_r, full_c = height // self.block, width // self.block
        rem_r, rem_c = height - full_r * self.block, width - full_c * self.block
        for rows, valid_r in ((slice(0, full_r), self.block), (slice(full_r, full_r + 1), rem_r)):
            for cols, valid_c in ((slice(0, full_c), self.block), (slice(full_c, full_c + 1), rem_c)):
                if rows.stop == rows.start or cols.stop == cols.start or valid_r == 0 or valid_c == 0:
                    continue
                if valid_r == self.block and valid_c == self.block:
                    self._types.append((rows, cols, None, None))
                    continue
                inside = torch.zeros(self.block, self.block, dtype=torch.float64)
                inside[:valid_r, :valid_c] = 1.0
                gram = (phi * inside.reshape(1, -1)) @ phi.T  # Φ D Φᵀ
                mu, vecs = torch.linalg.eigh(gram)
                self._types.append((rows, cols, vecs, mu.clamp_min(0.0)))

    def to(self, device=None, dtype=None) -> BlockCS:
        """Move Φ and the border-block eigendecompositions."""
        super().to(device, dtype)
        self._types = [
            (
                rows,
                cols,
                None if vecs is None else vecs.to(device=device, dtype=dtype),
                None if mu is None else mu.to(device=device, dtype=dtype),
            )
            for rows, cols, vecs, mu in self._types
        ]
        return self

    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """Exact ‖A‖₂² = 1 (ΦΦᵀ = I on interior blocks; border blocks have ‖ΦD‖ ≤ 1)."""
        if any(mu is None for _, _, _, mu in self._types):
            return 1.0
        return float(max(mu.max() for _, _, _, mu in self._types))

    # --- block reshaping ----------------------------------------------------------------
    def to_blocks(self, x: Tensor) -> Tensor:
        """(..., H, W) → zero-padded blocks (..., nH, nW, B²), each flattened row-major."""
        bsz = self.block
        n_h, n_w = self.n_blocks
        pad_h, pad_w = n_h * bsz - x.shape[-2], n_w * bsz - x.shape[-1]
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h))
        x = x.reshape(*x.shape[:-2], n_h, bsz, n_w, bsz).transpose(-3, -2)
        return x.reshape(*x.shape[:-2], bsz * bsz)

    def from_blocks(self, blocks: Tensor) -> Tensor:
        """Inverse of :meth:`to_blocks` followed by cropping to the image (its adjoint)."""
        bsz = self.block
        n_h, n_w = self.n_blocks
        x = blocks.reshape(*blocks.shape[:-1], bsz, bsz).transpose(-3, -2)
        x = x.reshape(*x.shape[:-4], n_h * bsz, n_w * bsz)
        return x[..., : self.image_shape[-2], : self.image_shape[-1]]

    # --- the model ----------------------------------------------------------------------
    @property
    def sampling_ratio(self) -> float:
        """m / B²."""
        return self.phi.shape[0] / self.phi.shape[1]

    def forward(self, x: Tensor) -> Tensor:
        """y = Φ x_b per block, shape (..., nH, nW, m)."""
        return self.to_blocks(x) @ self.phi.T

    def adjoint(self, y: Tensor) -> Tensor:
        """Aᵀ y = crop(Φᵀ y_b per block)."""
        return self.from_blocks(y @ self.phi)

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Exact per-block Woodbury solve (see the module docstring)."""
        blocks = self.to_blocks(b)
        proj = blocks @ self.phi.T  # Φ b per block
        corr = torch.zeros_like(proj)
        for rows, cols, vecs, mu in self._types:
            part = proj[..., rows, cols, :]
            if mu is None:
                corr[..., rows, cols, :] = part / (1.0 + rho)
            else:
                corr[..., rows, cols, :] = ((part @ vecs) / (mu + rho)) @ vecs.T
        return self.from_blocks((blocks - corr @ self.phi) / rho)


@DEGRADATIONS.register(
    "cs",
    params=[
        Param(
            "ratio",
            25.0,
            "float",
            1.0,
            50.0,
            unit="%",
            help="measurements per block / pixels per block",
            math="m = round(ratio/100 · B²), y_b = Φ x_b, ΦΦᵀ = I",
        ),
        Param("block", 33, "int", 4, 64, unit="px", help="block side B (image zero-padded to multiples)"),
    ],
    doc="Block compressive sensing with a random orthonormal-row Φ",
    title="Block compressive sensing",
)
def cs_factory(image_shape, params, generator) -> BlockCS:
    """Build the block-CS operator for ``image_shape`` = (C, H, W)."""
    n = params["block"] ** 2
    m = max(1, round(params["ratio"] / 100.0 * n))
    return BlockCS(orthonormal_rows(m, n, generator), params["block"], image_shape)
