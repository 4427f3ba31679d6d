"""The floors of bench/floor.py: each algorithm written plainly with bare torch.

Nothing here imports the project except ``core.wavelets.wavelet_filters`` (the filter taps).
Circular blur by ``rfft2``/``irfft2``; the periodised orthonormal wavelet transform by reshape
(Haar) or circular padding and strided slices (db4); soft threshold ``sign(c)·max(|c| − θ, 0)``;
isotropic TV (forward differences, Neumann boundary) and its prox by FGP on the dual, warm-started
like the project's TV prior; the IRCNN σ schedule of PnP-HQS. Each generator yields x^k.
"""

from __future__ import annotations

import math

import torch

from core.wavelets import wavelet_filters


class FloorBlur:
    """A x = k ⊛ x (circular) by the real FFT; kernel centre rolled to the origin."""

    def __init__(self, kernel: torch.Tensor, shape, dtype):
        height, width = shape
        padded = torch.zeros(height, width, dtype=torch.float64)
        padded[: kernel.shape[0], : kernel.shape[1]] = kernel
        padded = torch.roll(padded, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), (0, 1))
        otf = torch.fft.rfft2(padded)
        self.lipschitz = float((otf.abs() ** 2).max())
        complex_dtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        self.otf = otf.to(complex_dtype)
        self.otf_conj = otf.conj().to(complex_dtype)
        self.shape = shape

    def forward(self, x):
        return torch.fft.irfft2(torch.fft.rfft2(x) * self.otf, s=self.shape)

    def adjoint(self, y):
        return torch.fft.irfft2(torch.fft.rfft2(y) * self.otf_conj, s=self.shape)


def haar_level(x):
    """One periodised Haar level by reshape: [[LL, LH], [HL, HH]] of (..., H, W)."""
    h, w = x.shape[-2:]
    q = x.reshape(*x.shape[:-2], h // 2, 2, w // 2, 2)
    a, b, c, d = q[..., 0, :, 0], q[..., 0, :, 1], q[..., 1, :, 0], q[..., 1, :, 1]
    top = torch.cat([(a + b + c + d) * 0.5, (a - b + c - d) * 0.5], -1)
    bottom = torch.cat([(a + b - c - d) * 0.5, (a - b - c + d) * 0.5], -1)
    return torch.cat([top, bottom], -2)


def haar_level_inverse(c):
    h, w = c.shape[-2:]
    h2, w2 = h // 2, w // 2
    ll, lh, hl, hh = c[..., :h2, :w2], c[..., :h2, w2:], c[..., h2:, :w2], c[..., h2:, w2:]
    out = torch.empty_like(c).reshape(*c.shape[:-2], h2, 2, w2, 2)
    out[..., 0, :, 0] = (ll + lh + hl + hh) * 0.5
    out[..., 0, :, 1] = (ll - lh + hl - hh) * 0.5
    out[..., 1, :, 0] = (ll + lh - hl - hh) * 0.5
    out[..., 1, :, 1] = (ll - lh - hl + hh) * 0.5
    return out.reshape(c.shape)


class FilterLevel:
    """One periodised level of a general orthonormal filter bank, by padding and strided slices.

    Along an axis of length N: a[k] = Σ_j h[j] x[(2k + F/2 − j) mod N], likewise d with g.
    """

    def __init__(self, wavelet: str):
        self.lo, self.hi = wavelet_filters(wavelet)
        self.taps = len(self.lo)

    def _analysis(self, x):  # along the last axis
        n, taps = x.shape[-1], self.taps
        left, right = taps // 2 - 1, taps // 2
        xp = torch.cat([x[..., n - left :], x, x[..., :right]], -1)
        out = x.new_empty(x.shape)
        a, d = out[..., : n // 2], out[..., n // 2 :]
        torch.mul(xp[..., taps - 1 : taps - 1 + n : 2], self.lo[0], out=a)
        torch.mul(xp[..., taps - 1 : taps - 1 + n : 2], self.hi[0], out=d)
        for j in range(1, taps):
            tap = xp[..., taps - 1 - j : taps - 1 - j + n : 2]
            a.add_(tap, alpha=self.lo[j])
            d.add_(tap, alpha=self.hi[j])
        return out

    def _synthesis(self, c):  # adjoint along the last axis
        n, taps = c.shape[-1], self.taps
        left = taps // 2 - 1
        a, d = c[..., : n // 2], c[..., n // 2 :]
        xp = c.new_zeros(*c.shape[:-1], n + taps - 2)
        for j in range(taps):
            tap = xp[..., taps - 1 - j : taps - 1 - j + n : 2]
            tap.add_(a, alpha=self.lo[j]).add_(d, alpha=self.hi[j])
        out = xp[..., left : left + n].clone()
        out[..., n - left :] += xp[..., :left]
        out[..., : taps // 2 - 1] += xp[..., left + n :]
        return out

    def forward(self, x):
        y = self._analysis(x)
        return self._analysis(y.transpose(-1, -2)).transpose(-1, -2)

    def inverse(self, c):
        y = self._synthesis(c.transpose(-1, -2)).transpose(-1, -2)
        return self._synthesis(y)


class FloorWavelet:
    """Multi-level periodised 2-D DWT in pyramid layout (the LL quadrant transformed again)."""

    def __init__(self, wavelet: str, levels: int):
        self.levels = levels
        if wavelet == "haar":
            self.level, self.level_inverse = haar_level, haar_level_inverse
        else:
            bank = FilterLevel(wavelet)
            self.level, self.level_inverse = bank.forward, bank.inverse

    def forward(self, x):
        out = x.clone()
        h, w = x.shape[-2:]
        for _ in range(self.levels):
            out[..., :h, :w] = self.level(out[..., :h, :w])
            h, w = h // 2, w // 2
        return out

    def inverse(self, c):
        out = c.clone()
        h, w = c.shape[-2] >> (self.levels - 1), c.shape[-1] >> (self.levels - 1)
        for _ in range(self.levels):
            out[..., :h, :w] = self.level_inverse(out[..., :h, :w])
            h, w = 2 * h, 2 * w
        return out


def soft(c, threshold):
    return torch.sign(c) * torch.clamp(c.abs() - threshold, min=0.0)


def l1_wavelet_prox(wavelet: FloorWavelet, lam: float):
    """v ↦ Wᵀ S_{λs}(W v)."""

    def prox(v, step):
        return wavelet.inverse(soft(wavelet.forward(v), lam * step))

    return prox


def pg_solver(name: str, blur: FloorBlur, prox, y, x0):
    """Bare ISTA / FISTA on ½‖k ⊛ x − y‖² + g(x) with γ = 1/L; yields x^k."""
    gamma = 1.0 / blur.lipschitz

    def prox_grad(v):
        return prox(v - gamma * blur.adjoint(blur.forward(v) - y), gamma)

    x_prev, v, t = x0.clone(), x0.clone(), 1.0
    while True:
        x = prox_grad(v)
        if name == "ista":
            v = x
        else:
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            v = x + ((t - 1.0) / t_next) * (x - x_prev)
            x_prev, t = x, t_next
        yield x


# --- total variation (isotropic, Neumann) ------------------------------------------------------
def tv_grad(x):
    """(2, ..., H, W): forward differences down the rows and along the columns, 0 at the far edge."""
    g = x.new_zeros((2, *x.shape))
    g[0, ..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    g[1, ..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
    return g


def tv_grad_adjoint(p):
    """∇ᵀp for p of shape (2, ..., H, W)."""
    rows, cols = p[0, ..., :-1, :], p[1, ..., :, :-1]
    out = p.new_zeros(p.shape[1:])
    out[..., :-1, :] -= rows
    out[..., 1:, :] += rows
    out[..., :, :-1] -= cols
    out[..., :, 1:] += cols
    return out


def tv_fgp(v, theta: float, iters: int, p=None):
    """prox_{θ TV}(v) by ``iters`` FGP steps on the dual from ``p``; returns (x, p)."""
    p = v.new_zeros((2, *v.shape)) if p is None else p
    q, t = p, 1.0
    for _ in range(iters):
        x = v - theta * tv_grad_adjoint(q)
        step = q + tv_grad(x) / (8.0 * theta)
        p_next = step / torch.sqrt(step[0] ** 2 + step[1] ** 2).clamp_min(1.0)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        q = p_next + ((t - 1.0) / t_next) * (p_next - p)
        p, t = p_next, t_next
    return v - theta * tv_grad_adjoint(p), p


def tv_prox(lam: float, iters: int):
    """v ↦ prox_{s λ TV}(v), the dual warm-started from the previous call."""
    state = {"p": None}

    def prox(v, step):
        x, state["p"] = tv_fgp(v, lam * step, iters, state["p"])
        return x

    return prox


# --- splitting methods -------------------------------------------------------------------------
def admm_solver(blur: FloorBlur, prox, y, x0, rho: float):
    """Bare scaled ADMM: x = (AᵀA+ρI)⁻¹(Aᵀy + ρ(z − u)), z = prox_{g/ρ}(x + u), u += x − z; yields z."""
    aty = blur.adjoint(y)
    inverse = 1.0 / (blur.otf.abs() ** 2 + rho)
    z, u = x0.clone(), torch.zeros_like(x0)
    while True:
        x = torch.fft.irfft2(torch.fft.rfft2(aty + rho * (z - u)) * inverse, s=blur.shape)
        z = prox(x + u, 1.0 / rho)
        u = u + x - z
        yield z


def pnp_hqs_solver(blur: FloorBlur, y, x0, noise_sigma: float, strength: float, iters: int, schedule):
    """Bare PnP-HQS with the TV (ROF) denoiser D(z, σ) = prox_{strength·σ·TV}(z), zero dual each call.

    ``schedule`` = (σ_max, σ_min, K, λ) in the project's units (/255, /255, iterations, λ_hqs).
    """
    sigma_max, sigma_min, n_iters, hqs_lambda = schedule
    hi, lo = sigma_max / 255.0, max(sigma_min / 255.0, noise_sigma)
    lo = min(lo, hi)
    sigma_n = max(noise_sigma, 1.0 / 255.0)
    aty = blur.adjoint(y)
    power = blur.otf.abs() ** 2
    x, k = x0.clone(), 0
    while True:
        k += 1
        frac = 1.0 if n_iters == 1 or k >= n_iters else (k - 1) / (n_iters - 1)
        sigma = lo if frac >= 1.0 else math.exp(math.log(hi) + frac * (math.log(lo) - math.log(hi)))
        rho = hqs_lambda * sigma_n**2 / sigma**2
        z = torch.fft.irfft2(torch.fft.rfft2(aty + rho * x) / (power + rho), s=blur.shape)
        x = tv_fgp(z, strength * sigma, iters)[0]
        yield x
