"""Orthonormal periodised multi-level 2-D discrete wavelet transform (Haar, Daubechies, Symlets, Coiflets).

The transform W follows PyWavelets' ``mode='periodization'`` conventions: one analysis step
along an axis of length N (even) gives, with decomposition filters h (low) and g (high) of
length F,

    a[k] = Σ_j h[j] · x[(2k + F/2 − j) mod N],   d[k] = Σ_j g[j] · x[(2k + F/2 − j) mod N],

k = 0 … N/2 − 1, and the two halves are stored side by side ``[a | d]``. A 2-D level applies this
along the last axis (W) then along the second last (H), so the packed array holds
``[[LL, LH], [HL, HH]]`` (LL top-left, high-pass along W top-right, along H bottom-left). The
next level transforms the LL quadrant again (standard pyramid layout, as
``pywt.coeffs_to_array(pywt.wavedec2(x, w, mode='periodization', level=L))``).

W is orthonormal, so ``waverec`` is both its inverse and its adjoint Wᵀ. Both are implemented
with one circular gather + strided ``conv1d`` (resp. ``conv_transpose1d`` + ``index_add``) per
axis and level; they work on any leading batch shape, device and floating dtype and are
differentiable.
"""
from __future__ import annotations

import functools

import pywt
import torch
import torch.nn.functional as F
from torch import Tensor

#: The orthonormal wavelets available (PyWavelets' orthogonal families): haar, db1-db38,
#: sym2-sym20, coif1-coif17. Their filters come from PyWavelets (``pywt.Wavelet(name).dec_lo``).
WAVELETS = tuple(name for family in ("haar", "db", "sym", "coif") for name in pywt.wavelist(family)
                 if pywt.Wavelet(name).orthogonal)


def wavelet_filters(wavelet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Decomposition filters (low-pass h, high-pass g) of ``wavelet`` as float tuples.

    Parameters
    ----------
    wavelet : str
        One of :data:`WAVELETS`.

    Returns
    -------
    (h, g) : tuple of tuple of float
        g[k] = (−1)^(k+1) · h[F−1−k] (quadrature mirror filter).
    """
    return _filters(_checked_name(wavelet))


def _checked_name(wavelet: str) -> str:
    if wavelet not in WAVELETS:
        families = "haar, db1-db38, sym2-sym20, coif1-coif17"
        raise ValueError(f"parameter 'wavelet' must be an orthonormal wavelet ({families}), got {wavelet!r}")
    return wavelet


@functools.lru_cache(maxsize=None)
def _filters(wavelet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    lo = tuple(float(v) for v in pywt.Wavelet(wavelet).dec_lo)
    n = len(lo)
    hi = tuple((-1.0) ** (k + 1) * lo[n - 1 - k] for k in range(n))
    return lo, hi


def _conv_weight(wavelet: str, like: Tensor) -> Tensor:
    """(2, 1, F) weight for cross-correlation: reversed h and g (conv1d correlates)."""
    lo, hi = wavelet_filters(wavelet)
    w = torch.tensor([lo[::-1], hi[::-1]], dtype=like.dtype, device=like.device)
    return w.unsqueeze(1)


def _periodic_index(n: int, taps: int, device) -> Tensor:
    """Indices of the circularly extended signal x[−(F/2−1)], …, x[N−1+F/2] (any N ≥ 1)."""
    left = taps // 2 - 1
    return torch.arange(-left, n + taps // 2, device=device).remainder(n)


def _analysis_last_axis(x: Tensor, weight: Tensor) -> Tensor:
    """One periodised analysis step along the last axis; returns ``[a | d]`` of the same shape."""
    n = x.shape[-1]
    lead = x.shape[:-1]
    flat = x.reshape(-1, 1, n)
    padded = flat.index_select(-1, _periodic_index(n, weight.shape[-1], x.device))
    coeffs = F.conv1d(padded, weight, stride=2)  # (B, 2, N/2): a[k] then d[k]
    return coeffs.reshape(*lead, n)


def _synthesis_last_axis(c: Tensor, weight: Tensor) -> Tensor:
    """Adjoint (= inverse) of :func:`_analysis_last_axis`."""
    n = c.shape[-1]
    lead = c.shape[:-1]
    coeffs = c.reshape(-1, 2, n // 2)
    padded = F.conv_transpose1d(coeffs, weight, stride=2, output_padding=1)  # (B, 1, N+F−1)
    idx = _periodic_index(n, weight.shape[-1], c.device)
    out = padded.new_zeros(padded.shape[0], n).index_add(1, idx, padded[:, 0])
    return out.reshape(*lead, n)


def _dwt2_level(x: Tensor, weight: Tensor) -> Tensor:
    y = _analysis_last_axis(x, weight)
    return _analysis_last_axis(y.transpose(-1, -2), weight).transpose(-1, -2)


def _idwt2_level(c: Tensor, weight: Tensor) -> Tensor:
    y = _synthesis_last_axis(c.transpose(-1, -2), weight).transpose(-1, -2)
    return _synthesis_last_axis(y, weight)


def max_levels(height: int, width: int) -> int:
    """Largest L such that both ``height`` and ``width`` are divisible by 2**L."""
    levels = 0
    while height % 2 == 0 and width % 2 == 0 and height > 1 and width > 1:
        height, width, levels = height // 2, width // 2, levels + 1
    return levels


def _check(x: Tensor, wavelet: str, levels: int, name: str) -> None:
    _checked_name(wavelet)
    if isinstance(levels, bool) or int(levels) != levels or levels < 0:
        raise ValueError(f"parameter 'levels' must be a non-negative integer, got {levels!r}")
    if x.dim() < 2:
        raise ValueError(f"{name}: expected a tensor of shape (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    m = 2 ** int(levels)
    if h % m or w % m:
        raise ValueError(
            f"{name}: image size {h}x{w} must be divisible by 2**levels = {m} (levels = {levels})"
        )


def wavedec(x: Tensor, wavelet: str = "haar", levels: int = 3) -> Tensor:
    """Multi-level orthonormal periodised 2-D DWT, packed in an array of ``x``'s shape.

    Parameters
    ----------
    x : Tensor, shape (..., H, W)
        Real floating tensor; H and W divisible by ``2**levels``.
    wavelet : str
        One of :data:`WAVELETS`.
    levels : int
        Number of decomposition levels (0 returns ``x``).

    Returns
    -------
    Tensor
        Coefficients W x in pyramid layout: the level-L approximation occupies
        ``[..., :H/2**L, :W/2**L]``; ‖W x‖ = ‖x‖.
    """
    _check(x, wavelet, levels, "wavedec")
    if levels == 0:
        return x
    weight = _conv_weight(wavelet, x)
    c = _dwt2_level(x, weight)
    if levels == 1:
        return c
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2
    inner = wavedec(c[..., :h2, :w2], wavelet, levels - 1)
    top = torch.cat([inner, c[..., :h2, w2:]], dim=-1)
    return torch.cat([top, c[..., h2:, :]], dim=-2)


def waverec(c: Tensor, wavelet: str = "haar", levels: int = 3) -> Tensor:
    """Inverse (and adjoint) of :func:`wavedec`: x = Wᵀ c.

    Parameters
    ----------
    c : Tensor, shape (..., H, W)
        Packed coefficients as produced by :func:`wavedec`.
    wavelet : str
        One of :data:`WAVELETS`.
    levels : int

    Returns
    -------
    Tensor
        Image of the same shape as ``c``.
    """
    _check(c, wavelet, levels, "waverec")
    if levels == 0:
        return c
    weight = _conv_weight(wavelet, c)
    if levels > 1:
        h2, w2 = c.shape[-2] // 2, c.shape[-1] // 2
        inner = waverec(c[..., :h2, :w2], wavelet, levels - 1)
        top = torch.cat([inner, c[..., :h2, w2:]], dim=-1)
        c = torch.cat([top, c[..., h2:, :]], dim=-2)
    return _idwt2_level(c, weight)
