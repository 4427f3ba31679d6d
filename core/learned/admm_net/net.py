"""Deep ADMM-Net (Yang, Sun, Li, Xu, NIPS 2016) for compressed-sensing MRI.

Model: min_x ½‖M F x − y‖² + Σ_l λ_l g(D_l x), split z_l = D_l x and solved by ADMM; stage n:

  X (reconstruction): x = Re F⁻¹[ F(Aᵀy + Σ_l ρ_l H_lᵀ(z_l − β_l)) ⊘ (M_s + Σ_l ρ_l |F H_l|²) ]   (eq. 6)
  C (convolution):    c_l = D_l x                                                          (eq. 7)
  Z (nonlinear):      z_l = S_PLF(c_l + β_l; q_l)                                           (eq. 8)
  M (multiplier):     β_l ← β_l + η_l (c_l − z_l)                                           (eq. 9)

and a final X layer. x is real, so AᵀA = F⁻¹ diag(M_s) F with the symmetrised mask M_s of
core.operators.mri (the exact real-valued minimiser; the paper uses M with complex x). Filters
D_l, H_l (L = 8, 3×3, circular) are linear combinations of the 8 non-DC 3×3 DCT atoms (learned
coefficients, initialised to atom l); S_PLF is a learned piecewise-linear function with 101
control points on [−1, 1] initialised to the soft threshold S_0.05; ρ_l = 0.2, η_l = 1.6
initially. First stage: z = β = 0, so x¹ = Re F⁻¹[F Aᵀy ⊘ (M_s + Σ ρ_l |F H_l|²)].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

PLF_POINTS = 101


def dct_atoms(size: int = 3) -> Tensor:
    """The size²−1 non-DC 2-D DCT-II atoms of size×size, unit norm, shape (size²−1, size, size)."""
    i = torch.arange(size, dtype=torch.float64)
    basis = torch.stack([torch.cos(math.pi * (i + 0.5) * k / size) for k in range(size)])  # (k, i)
    basis = basis / basis.norm(dim=1, keepdim=True)
    atoms = torch.einsum("ai,bj->abij", basis, basis).reshape(size * size, size, size)
    return atoms[1:].to(torch.get_default_dtype())


def filter_otf(filters: Tensor, shape: tuple[int, int]) -> Tensor:
    """FFT of 3×3 filters (..., 3, 3) centred at pixel (0, 0) with circular wrap, shape (..., H, W)."""
    size = filters.shape[-1]
    padded = filters.new_zeros(*filters.shape[:-2], *shape)
    padded[..., :size, :size] = filters
    padded = torch.roll(padded, shifts=(-(size // 2), -(size // 2)), dims=(-2, -1))
    return torch.fft.fft2(padded)


def piecewise_linear(v: Tensor, values: Tensor) -> Tensor:
    """S_PLF(v): linear interpolation of ``values`` (L, 101) on the grid −1:0.02:1 per channel l
    (v has shape (N, L, H, W)); outside [−1, 1] the end segments are extended linearly."""
    step = 2.0 / (PLF_POINTS - 1)
    pos = (v + 1.0) / step
    idx = pos.floor().clamp(0, PLF_POINTS - 2)
    frac = pos - idx
    offset = torch.arange(values.shape[0], device=v.device)[None, :, None, None] * PLF_POINTS
    flat = idx.long() + offset
    table = values.reshape(-1)
    lo, hi = table[flat], table[flat + 1]
    return lo + frac * (hi - lo)


class ADMMNet(nn.Module):
    """ADMM-Net with ``stages`` (C, Z, M, X) stages after the first X layer, L = 8 filters."""

    def __init__(self, stages: int = 5, filters: int = 8, rho: float = 0.2, eta: float = 1.6, threshold: float = 0.05):
        super().__init__()
        self.n_stages = int(stages)
        self.register_buffer("atoms", dct_atoms(3))
        eye = torch.eye(filters, self.atoms.shape[0])
        grid = torch.linspace(-1.0, 1.0, PLF_POINTS)
        soft = torch.sign(grid) * torch.clamp(grid.abs() - threshold, min=0.0)
        self.coeff_h = nn.Parameter(eye.repeat(stages + 1, 1, 1))  # H_l of every X layer
        self.rho = nn.Parameter(torch.full((stages + 1, filters), rho))  # ρ_l of every X layer
        self.coeff_d = nn.Parameter(eye.repeat(stages, 1, 1))  # D_l of every C layer
        self.plf = nn.Parameter(soft.repeat(stages, filters, 1))  # S_PLF of every Z layer
        self.eta = nn.Parameter(torch.full((stages, filters), eta))  # η_l of every M layer

    @classmethod
    def from_state_dict(cls, state: dict) -> ADMMNet:
        """Build a network whose sizes match ``state`` and load it."""
        net = cls(state["coeff_d"].shape[0], state["coeff_d"].shape[1])
        net.load_state_dict(state)
        return net

    def filters(self, coeff: Tensor) -> Tensor:
        """(L, 3, 3) filters Σ_a γ_{l,a} atom_a."""
        return torch.einsum("la,aij->lij", coeff, self.atoms)

    def reconstruct(self, n: int, aty: Tensor, mask_sym: Tensor, z: Tensor | None, beta: Tensor | None) -> Tensor:
        """X layer n (eq. 6) for Aᵀy (N, 1, H, W); z, β (N, L, H, W) or None in the first layer."""
        otf = filter_otf(self.filters(self.coeff_h[n]), tuple(aty.shape[-2:]))  # (L, H, W)
        rho = self.rho[n][:, None, None]
        numerator = torch.fft.fft2(aty[:, 0])
        if z is not None:
            numerator = numerator + (rho * otf.conj() * torch.fft.fft2(z - beta)).sum(1)
        denominator = mask_sym + (rho * otf.abs() ** 2).sum(0)
        denominator = torch.where(denominator.abs() < 1e-6, torch.full_like(denominator, 1e-6), denominator)
        return torch.fft.ifft2(numerator / denominator).real[:, None]

    def stage(self, n: int, x: Tensor, beta: Tensor | None) -> tuple[Tensor, Tensor]:
        """C, Z, M layers of stage n from x; returns (z, β)."""
        otf = filter_otf(self.filters(self.coeff_d[n]), tuple(x.shape[-2:]))
        c = torch.fft.ifft2(otf * torch.fft.fft2(x)).real  # (7), (N, L, H, W)
        z = piecewise_linear(c if beta is None else c + beta, self.plf[n])  # (8)
        eta = self.eta[n][:, None, None]
        beta = eta * (c - z) if beta is None else beta + eta * (c - z)  # (9)
        return z, beta

    def forward(self, aty: Tensor, mask_sym: Tensor) -> Tensor:
        """All stages from Aᵀy (N, 1, H, W) with symmetrised mask M_s (H, W); returns the last x."""
        x = self.reconstruct(0, aty, mask_sym, None, None)
        z = beta = None
        for n in range(self.n_stages):
            z, beta = self.stage(n, x, beta)
            x = self.reconstruct(n + 1, aty, mask_sym, z, beta)
        return x
