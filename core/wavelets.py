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

W is orthonormal, so ``waverec`` is both its inverse and its adjoint Wᵀ. They work on any
leading batch shape, device and floating dtype, by one of two implementations that give the
same coefficients (up to float rounding; tests/core/test_metrics_fast.py compares them):

* short filters (≤ :data:`SHORT_FILTER_TAPS` taps: Haar, db2-db4, sym2-sym4, coif1), outside
  autograd: the polyphase form. Each axis is split into its even and odd samples (strided
  views), circularly padded by the few samples the filter reaches, and a, d (resp. the even and
  odd output samples) are accumulated tap by tap from shifted slices into preallocated outputs;
  Haar is a sum and a difference. No gather, no ``conv1d``, no concatenation of quadrants.
* longer filters, or inputs that require a gradient: one circular gather + strided ``conv1d``
  (resp. ``conv_transpose1d`` + ``index_add``) per axis and level (differentiable).
"""

from __future__ import annotations

import functools

import pywt
import torch
import torch.nn.functional as F
from torch import Tensor

#: The orthonormal wavelets available (PyWavelets' orthogonal families): haar, db1-db38,
#: sym2-sym20, coif1-coif17. Their filters come from PyWavelets (``pywt.Wavelet(name).dec_lo``).
WAVELETS = tuple(
    name for family in ("haar", "db", "sym", "coif") for name in pywt.wavelist(family) if pywt.Wavelet(name).orthogonal
)


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


@functools.cache
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


# --- short-filter path: polyphase components and strided slices, no conv1d, no gather ---------
#: Filters up to this many taps use the polyphase path (2F multiply-adds per sample and axis as
#: strided views); longer ones use the gather + conv1d path above. Both give the same coefficients.
SHORT_FILTER_TAPS = 8


def _polyphase_plan(taps: int) -> tuple[tuple[int, int, int], ...]:
    """(j, parity q, shift t) with x[(2k + F/2 − j) mod N] = x_q[(k + t) mod N/2].

    x_q = x[q::2] are the even (q = 0) and odd (q = 1) samples of the axis.
    """
    plan = []
    for j in range(taps):
        offset = taps // 2 - j
        q = offset % 2
        plan.append((j, q, (offset - q) // 2))
    return tuple(plan)


def _circular_pad(x: Tensor, dim: int, before: int, after: int) -> Tensor:
    """x extended periodically along ``dim``: indices −before … M − 1 + after (mod M)."""
    if before == 0 and after == 0:
        return x
    m = x.shape[dim]
    if before <= m and after <= m:
        parts = [x.narrow(dim, m - before, before), x, x.narrow(dim, 0, after)]
        return torch.cat([p for p in parts if p.shape[dim]], dim=dim)
    index = torch.arange(-before, m + after, device=x.device).remainder(m)
    return x.index_select(dim, index)


@functools.lru_cache(maxsize=1024)
def _scalar(value: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``value`` as a cached 0-d tensor (multiplying by it skips a per-call scalar conversion)."""
    return torch.tensor(value, dtype=dtype, device=device)


def _weighted_sum(terms, out: Tensor | None = None) -> Tensor:
    """Σ w·v over ``terms`` = [(w, v), ...] (floats, tensors of one shape), into ``out`` if given."""
    (w0, v0), rest = terms[0], terms[1:]
    w0 = _scalar(w0, v0.dtype, v0.device)
    out = torch.mul(v0, w0, out=out) if out is not None else v0 * w0
    for w, v in rest:
        out.add_(v, alpha=w)
    return out


def _analysis_axis(
    x: Tensor, lo, hi, dim: int, out_lo: Tensor | None = None, out_hi: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """One periodised analysis step along ``dim`` (−1 or −2): the halves (a, d).

    a[k] = Σ_j h[j] x[(2k + F/2 − j) mod N], d[k] likewise with g, computed on the polyphase
    components x[0::2], x[1::2] of the axis, circularly padded by the largest shift.
    """
    taps = len(lo)
    if taps == 2 and lo[0] == lo[1] and hi[1] == -hi[0] == lo[0]:  # Haar: a = (x₀ + x₁)/√2, d = (x₀ − x₁)/√2
        even, odd = _phase(x, 0, dim), _phase(x, 1, dim)
        scale = _scalar(lo[0], x.dtype, x.device)
        a = torch.add(even, odd, out=out_lo).mul_(scale)
        d = torch.sub(even, odd, out=out_hi).mul_(scale)
        return a, d
    plan = _polyphase_plan(taps)
    half = x.shape[dim] // 2
    before = max(0, -min(t for _, _, t in plan))
    after = max(0, max(t for _, _, t in plan))
    if dim == -1:  # de-interleave once, so that every tap below is a contiguous slice
        both = _circular_pad(x.unflatten(-1, (half, 2)).transpose(-1, -2), -1, before, after)
        phases = [both[..., 0, :], both[..., 1, :]]
    else:
        phases = [_circular_pad(_phase(x, q, dim), dim, before, after) for q in (0, 1)]
    views = [(j, phases[q].narrow(dim, before + t, half)) for j, q, t in plan]
    a = _weighted_sum([(lo[j], v) for j, v in views], out_lo)
    d = _weighted_sum([(hi[j], v) for j, v in views], out_hi)
    return a, d


def _synthesis_axis(a: Tensor, d: Tensor, lo, hi, dim: int, out: Tensor | None = None) -> Tensor:
    """Adjoint (= inverse) of :func:`_analysis_axis`: the signal of length 2·len(a) along ``dim``.

    Sample x_q[m] collects h[j]·a[m − t] + g[j]·d[m − t] over the taps (j, q, t) of its parity q.
    """
    shape = list(a.shape)
    shape[dim] *= 2
    if out is None:
        out = a.new_empty(shape)
    taps = len(lo)
    if taps == 2 and lo[0] == lo[1] and hi[1] == -hi[0] == lo[0]:  # Haar: x₀ = (a + d)/√2, x₁ = (a − d)/√2
        scale = _scalar(lo[0], a.dtype, a.device)
        torch.add(a, d, out=_phase(out, 0, dim)).mul_(scale)
        torch.sub(a, d, out=_phase(out, 1, dim)).mul_(scale)
        return out
    plan = _polyphase_plan(taps)
    half = a.shape[dim]
    # x_q[m] needs a[(m − t) mod M]: pad by the largest positive shift before, negative after
    before = max(0, max(t for _, _, t in plan))
    after = max(0, -min(t for _, _, t in plan))
    a_pad = _circular_pad(a, dim, before, after)
    d_pad = _circular_pad(d, dim, before, after)
    # along W the two phases are summed into a (…, 2, M) buffer and interleaved by one copy
    phases = a.new_empty(*a.shape[:-1], 2, half) if dim == -1 else None
    for q in (0, 1):
        terms = []
        for j, parity, t in plan:
            if parity == q:
                terms.append((lo[j], a_pad.narrow(dim, before - t, half)))
                terms.append((hi[j], d_pad.narrow(dim, before - t, half)))
        _weighted_sum(terms, phases[..., q, :] if dim == -1 else _phase(out, q, dim))
    if dim == -1:
        out.view(*out.shape[:-1], half, 2).copy_(phases.transpose(-1, -2))
    return out


def _phase(x: Tensor, q: int, dim: int) -> Tensor:
    """The samples q, q + 2, q + 4, … of ``x`` along ``dim`` (a strided view)."""
    return x[..., q::2] if dim == -1 else x[..., q::2, :]


def _dwt2_level_short(x: Tensor, lo, hi, out: Tensor) -> None:
    """One 2-D level of ``x`` (…, H, W) written into ``out`` as [[LL, LH], [HL, HH]].

    Along W first (into the halves of a scratch array), then along H straight into the
    quadrants of ``out`` (which may be ``x`` itself: x is fully read before out is written).
    """
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2
    tmp = x.new_empty(x.shape)
    low_w, high_w = _analysis_axis(x, lo, hi, -1, tmp[..., :w2], tmp[..., w2:])
    _analysis_axis(low_w, lo, hi, -2, out[..., :h2, :w2], out[..., h2:, :w2])
    _analysis_axis(high_w, lo, hi, -2, out[..., :h2, w2:], out[..., h2:, w2:])


def _idwt2_level_short(c: Tensor, lo, hi, ll: Tensor | None = None) -> Tensor:
    """Inverse of :func:`_dwt2_level_short` on packed ``c`` (LL quadrant replaced by ``ll``)."""
    h2, w2 = c.shape[-2] // 2, c.shape[-1] // 2
    if ll is None:
        ll = c[..., :h2, :w2]
    tmp = c.new_empty(c.shape)
    low_w = _synthesis_axis(ll, c[..., h2:, :w2], lo, hi, -2, tmp[..., :w2])
    high_w = _synthesis_axis(c[..., :h2, w2:], c[..., h2:, w2:], lo, hi, -2, tmp[..., w2:])
    return _synthesis_axis(low_w, high_w, lo, hi, -1)


def _use_short_path(wavelet: str, x: Tensor) -> bool:
    """Polyphase path for short filters outside autograd (it writes into preallocated outputs)."""
    return len(_filters(wavelet)[0]) <= SHORT_FILTER_TAPS and not (torch.is_grad_enabled() and x.requires_grad)


def _wavedec_short(x: Tensor, wavelet: str, levels: int) -> Tensor:
    """:func:`wavedec` by the polyphase path: each level reads the previous LL quadrant of the
    output (through a scratch array, so reading and writing never overlap) and writes its four
    quadrants in place."""
    lo, hi = _filters(wavelet)
    out = x.new_empty(x.shape)
    h, w = x.shape[-2:]
    current = x
    for _ in range(levels):
        _dwt2_level_short(current, lo, hi, out[..., :h, :w])
        h, w = h // 2, w // 2
        current = out[..., :h, :w]
    return out


def _waverec_short(c: Tensor, wavelet: str, levels: int) -> Tensor:
    """:func:`waverec` by the polyphase path, from the coarsest level up."""
    lo, hi = _filters(wavelet)
    h, w = c.shape[-2] >> (levels - 1), c.shape[-1] >> (levels - 1)
    ll = None
    for _ in range(levels):
        ll = _idwt2_level_short(c[..., :h, :w], lo, hi, ll)
        h, w = 2 * h, 2 * w
    return ll


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
        raise ValueError(f"{name}: image size {h}x{w} must be divisible by 2**levels = {m} (levels = {levels})")


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
    if _use_short_path(wavelet, x):
        return _wavedec_short(x, wavelet, int(levels))
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
    if _use_short_path(wavelet, c):
        return _waverec_short(c, wavelet, int(levels))
    weight = _conv_weight(wavelet, c)
    if levels > 1:
        h2, w2 = c.shape[-2] // 2, c.shape[-1] // 2
        inner = waverec(c[..., :h2, :w2], wavelet, levels - 1)
        top = torch.cat([inner, c[..., :h2, w2:]], dim=-1)
        c = torch.cat([top, c[..., h2:, :]], dim=-2)
    return _idwt2_level(c, weight)
