"""Relaxed PODM network (Liu et al., NeurIPS 2018, §4.2 and §5.2) for non-blind deblurring.

Stage l maps x^{l−1} to x^l = G(F(A(x^{l−1}; θ_A^l); θ_H^l)):

  A   x_A = x^{l−1} − R_l(x^{l−1}), R_l a 6-layer 3×3 CNN (first 5 layers followed by ELU)
  F   x_F = (KᵀK + μ_l Σ_n w_{l,n} F_nᵀF_n)⁻¹ (Kᵀo + μ_l Σ_n w_{l,n} F_nᵀF_n x_A)         (§5.2)
      solved in closed form by the 2-D FFT (K, F_n block-circulant), f_n = the 3×3 2-D DCT-II
      basis (9 filters), (μ_l, w_{l,·}) = MLP(l/L, σ) ("an MLP ... to output μ", as in [14])
  G   x^l = prox_{γ_l g}(x_F − γ_l ∇f(x_F)),  g = χ_Ω,                                   (7)
      Ω = {u : ‖u‖₀ ≤ s, a ≤ u_i ≤ b}, a = min_i o_i, b = max_i o_i (§5.2), whose prox the paper
      writes HardThre(Proj_[a,b](u)) (:class:`SparseBox`; s = ⌈keep·n⌉); the penalty form
      λ‖u‖₀ + χ_[0,1] (prior ``l0_box``) is kept as an option.
      f = ½‖Kx − o‖²; the coupling term μ(x̃ − x^{l−1}) of (7) and the error check (5) are
      dropped (that is the relaxation); γ_l = sigmoid(s_l)/L_f is learned per stage.

The factor H = μΣF_nᵀF_n/2 of the paper and our d = ½(x−x_A)ᵀ(μΣw_nF_nᵀF_n)(x−x_A) give the
same F, the weights w_n only refine the filter bank. All parameters are learned end-to-end.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def dct_filters(size: int = 3) -> Tensor:
    """Orthonormal 2-D DCT-II basis of ``size``×``size`` patches, shape (size², size, size)."""
    n = torch.arange(size, dtype=torch.float64)
    basis = torch.stack([torch.cos(math.pi * (n + 0.5) * k / size) for k in range(size)])
    basis[0] *= math.sqrt(1.0 / size)
    basis[1:] *= math.sqrt(2.0 / size)
    return torch.einsum("ai,bj->abij", basis, basis).reshape(size * size, size, size)


def kernel_otf(kernel: Tensor, shape: tuple[int, int]) -> Tensor:
    """Half-spectrum OTF (rfft2) of a convolution kernel whose centre is (size//2, size//2).

    Same convention as :class:`core.operators.blur.BlurOperator` (circular boundary).
    ``kernel`` may carry leading batch dimensions.
    """
    kh, kw = kernel.shape[-2:]
    padded = kernel.new_zeros(*kernel.shape[:-2], *shape)
    padded[..., :kh, :kw] = kernel
    padded = torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.rfft2(padded)


class SparseBox:
    """χ_Ω with Ω = {u : ‖u‖₀ ≤ s, a ≤ u_i ≤ b} per image of a batch (N, 1, H, W) (§5.2).

    ``prox`` is the paper's HardThre(Proj_[a,b](v)): clip to [a, b], then keep the s = ⌈keep·n⌉
    entries of largest magnitude and set the others to 0 (exactly n − s entries are zeroed; ties
    are broken by ``torch.topk``). The step does not matter (an indicator's prox).

    Parameters
    ----------
    keep : float
        s/n in (0, 1].
    low, high : Tensor
        a and b, broadcastable to (N, 1, 1, 1).
    """

    def __init__(self, keep: float, low: Tensor, high: Tensor):
        if not 0.0 < keep <= 1.0:
            raise ValueError(f"solver 'relaxed_podm': parameter 'keep' = {keep} must lie in (0, 1]")
        self.keep, self.low, self.high = float(keep), low, high

    @classmethod
    def of_observation(cls, keep: float, observation: Tensor) -> SparseBox:
        """a = min o, b = max o for each image of ``observation`` (N, 1, H, W)."""
        flat = observation.flatten(1)
        shape = (-1,) + (1,) * (observation.dim() - 1)
        return cls(keep, flat.amin(1).view(shape), flat.amax(1).view(shape))

    def prox(self, v: Tensor, step=None) -> Tensor:
        clipped = torch.minimum(torch.maximum(v, self.low), self.high)  # Proj_[a,b]
        n = clipped[0].numel()
        drop = n - math.ceil(self.keep * n)
        if drop <= 0:
            return clipped
        flat = clipped.flatten(1)
        largest = flat.abs().topk(n - drop, dim=1).indices  # the s entries of largest magnitude
        mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, largest, True)
        return torch.where(mask, flat, torch.zeros_like(flat)).view_as(clipped)  # HardThre_s


class PropagationCNN(nn.Module):
    """A: x ↦ x − R(x), R = 6 conv layers 3×3, ELU after the first 5."""

    def __init__(self, channels: int = 1, features: int = 16, layers: int = 6):
        super().__init__()
        mods: list[nn.Module] = []
        c_in = channels
        for i in range(layers):
            last = i == layers - 1
            mods.append(nn.Conv2d(c_in, channels if last else features, 3, padding=1))
            if not last:
                mods.append(nn.ELU())
            c_in = features
        self.body = nn.Sequential(*mods)
        nn.init.zeros_(mods[-1].weight)  # A = identity at initialisation: training starts from
        nn.init.zeros_(mods[-1].bias)  # the classical scheme (F then G)

    def forward(self, x: Tensor) -> Tensor:
        return x - self.body(x)


class HyperMLP(nn.Module):
    """(l/L, σ) ↦ (μ_l, w_{l,1..N}): μ = μ₀·exp(out₀), w_n = exp(out_n) (all 1 at initialisation)."""

    def __init__(self, n_filters: int, hidden: int = 16, mu0: float = 0.01):
        super().__init__()
        self.log_mu0 = math.log(mu0)
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1 + n_filters))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, stage_fraction: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
        features = torch.stack([stage_fraction, sigma * 10.0], dim=-1)
        out = self.net(features)
        return torch.exp(self.log_mu0 + out[..., 0]), torch.exp(out[..., 1:])


class RelaxedPODM(nn.Module):
    """L untied stages of A (CNN), F (closed-form FFT solve) and G (proximal step).

    Parameters
    ----------
    stages : int
        Number of trained stages L.
    features : int
        Hidden channels of each stage's CNN.
    filter_size : int
        Side of the DCT filters f_n (N = filter_size² filters).
    mu0 : float
        μ at initialisation.
    """

    def __init__(self, stages: int = 4, features: int = 16, filter_size: int = 3, mu0: float = 0.01):
        super().__init__()
        self.stages = int(stages)
        self.features = int(features)
        self.filter_size = int(filter_size)
        self.mu0 = float(mu0)
        self.register_buffer("filters", dct_filters(self.filter_size).to(torch.float32))
        self.cnns = nn.ModuleList(PropagationCNN(1, self.features) for _ in range(self.stages))
        self.hyper = HyperMLP(self.filters.shape[0], mu0=self.mu0)
        self.step_logit = nn.Parameter(torch.zeros(self.stages))

    def config(self) -> dict:
        """Constructor arguments (stored in the weights manifest)."""
        return {"stages": self.stages, "features": self.features, "filter_size": self.filter_size, "mu0": self.mu0}

    def stage_params(self, l: int, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(μ_l, w_l, sigmoid(s_l)) for stage ``l`` (0-based) at noise level ``sigma``."""
        frac = sigma.new_tensor((l + 1) / self.stages)
        mu, weights = self.hyper(frac, sigma)
        return mu, weights, torch.sigmoid(self.step_logit[l])

    def filter_spectrum(self, weights: Tensor, shape: tuple[int, int]) -> Tensor:
        """Σ_n w_n |F̂_n|² on the rfft2 grid (the symbol of Σ w_n F_nᵀF_n)."""
        otfs = kernel_otf(self.filters.to(weights.dtype), shape)  # (N, H, W//2+1)
        return torch.einsum("...n,nhw->...hw", weights, otfs.abs() ** 2)

    def stage(
        self, l: int, x: Tensor, otf: Tensor, observation: Tensor, sigma: Tensor, prior, lipschitz: Tensor
    ) -> dict[str, Tensor]:
        """One stage on a batch (N, 1, H, W).

        Parameters
        ----------
        l : int
            0-based stage index.
        x : Tensor
            x^{l−1}, shape (N, 1, H, W).
        otf : Tensor
            K̂ (rfft2 half spectrum), broadcastable to (N, 1, H, W//2+1).
        observation : Tensor
            o, shape (N, 1, H, W).
        sigma : Tensor
            Noise level (0-d).
        prior : SparseBox or Prior
            g with ``prox`` (the paper's χ_Ω, or the l0_box penalty).
        lipschitz : Tensor
            L_f = max|K̂|² (0-d or broadcastable to (N, 1, 1, 1)).

        Returns
        -------
        dict
            ``x_A``, ``x_F``, ``x`` (= x^l), ``mu``, ``step`` (γ_l).
        """
        shape = x.shape[-2:]
        x_a = self.cnns[l](x)  # A
        mu, weights, step_fraction = self.stage_params(l, sigma)
        reg = mu * self.filter_spectrum(weights, tuple(shape))  # μ Σ w_n |F̂_n|²
        numerator = torch.conj(otf) * torch.fft.rfft2(observation) + reg * torch.fft.rfft2(x_a)
        x_f = torch.fft.irfft2(numerator / (otf.abs() ** 2 + reg), s=tuple(shape))  # F, closed form
        gamma = step_fraction / lipschitz
        residual = torch.fft.irfft2(otf * torch.fft.rfft2(x_f), s=tuple(shape)) - observation
        grad = torch.fft.irfft2(torch.conj(otf) * torch.fft.rfft2(residual), s=tuple(shape))
        x_next = prior.prox(x_f - gamma * grad, gamma)  # G, eq. (7)
        return {"x_A": x_a, "x_F": x_f, "x": x_next, "mu": mu, "step": gamma}

    def forward(self, observation: Tensor, otf: Tensor, sigma: Tensor, prior, lipschitz: Tensor) -> Tensor:
        """All L stages from x⁰ = o; returns x^L."""
        x = observation
        for l in range(self.stages):
            x = self.stage(l, x, otf, observation, sigma, prior, lipschitz)["x"]
        return x
