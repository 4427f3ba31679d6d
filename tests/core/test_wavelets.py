"""Tests for the orthonormal periodised 2-D wavelet transform (core/wavelets.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.wavelets import WAVELETS, wavedec, wavelet_filters, waverec

#: the tight (1e-15) filter and reconstruction checks below are for the short filters whose
#: coefficients are exact to double precision; every family is checked against PyWavelets below
EXACT = ("haar", "db4")


def _reference_dwt1(x: np.ndarray, wavelet: str) -> np.ndarray:
    """Direct evaluation of PyWavelets' periodisation formula along the last axis:
    a[k] = Σ_j h[j] x[(2k + F/2 − j) mod N], d[k] likewise with g; returns [a | d]."""
    lo, hi = (np.asarray(f) for f in wavelet_filters(wavelet))
    n, taps = x.shape[-1], len(lo)
    out = np.zeros_like(x)
    for k in range(n // 2):
        for j in range(taps):
            sample = x[..., (2 * k + taps // 2 - j) % n]
            out[..., k] += lo[j] * sample
            out[..., n // 2 + k] += hi[j] * sample
    return out


def _reference_wavedec(x: np.ndarray, wavelet: str, levels: int) -> np.ndarray:
    out = x.copy()
    h, w = x.shape[-2:]
    for _ in range(levels):
        block = _reference_dwt1(out[..., :h, :w], wavelet)
        block = np.swapaxes(_reference_dwt1(np.swapaxes(block, -1, -2), wavelet), -1, -2)
        out[..., :h, :w] = block
        h, w = h // 2, w // 2
    return out


def _pywt_wavedec(x: np.ndarray, wavelet: str, levels: int):
    """PyWavelets' packed coefficients, or None when PyWavelets is not installed."""
    try:
        import pywt
    except ImportError:
        return None
    coeffs = pywt.wavedec2(x, wavelet, mode="periodization", level=levels, axes=(-2, -1))
    packed, _ = pywt.coeffs_to_array(coeffs, axes=(-2, -1))
    return packed


@pytest.mark.parametrize("wavelet", EXACT)
def test_filters_are_orthonormal_qmf_with_vanishing_moments(wavelet):
    lo, hi = (np.asarray(f) for f in wavelet_filters(wavelet))
    taps = len(lo)
    assert lo.sum() == pytest.approx(math.sqrt(2.0), abs=1e-15)
    for shift in range(0, taps // 2):
        expected = 1.0 if shift == 0 else 0.0
        assert np.dot(lo[: taps - 2 * shift], lo[2 * shift :]) == pytest.approx(expected, abs=1e-15)
        assert np.dot(hi[: taps - 2 * shift], hi[2 * shift :]) == pytest.approx(expected, abs=1e-15)
        assert np.dot(lo[: taps - 2 * shift], hi[2 * shift :]) == pytest.approx(0.0, abs=1e-15)
    # db4 has 4 vanishing moments (Σ n^m g[n] = 0, m = 0..3), Haar one.
    moments = taps // 2
    n = np.arange(taps, dtype=np.float64)
    for m in range(moments):
        assert abs(np.dot(n**m, hi)) < 1e-12 * max(1.0, (taps - 1) ** m)
    assert abs(np.dot(n**moments, hi)) > 1e-3


@pytest.mark.parametrize("wavelet", EXACT)
@pytest.mark.parametrize("levels", [1, 2, 3])
def test_perfect_reconstruction_and_norm(wavelet, levels):
    gen = torch.Generator().manual_seed(levels)
    x = torch.randn(2, 3, 16, 24, generator=gen, dtype=torch.float64)
    c = wavedec(x, wavelet, levels)
    assert c.shape == x.shape
    assert torch.allclose(waverec(c, wavelet, levels), x, rtol=0, atol=1e-12)
    assert c.norm().item() == pytest.approx(x.norm().item(), rel=1e-13)


@pytest.mark.parametrize("wavelet", EXACT)
def test_adjoint_identity_and_dense_orthogonality(wavelet):
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(8, 8, generator=gen, dtype=torch.float64)
    y = torch.randn(8, 8, generator=gen, dtype=torch.float64)
    lhs = (wavedec(x, wavelet, 3) * y).sum()
    rhs = (x * waverec(y, wavelet, 3)).sum()
    assert lhs.item() == pytest.approx(rhs.item(), abs=1e-12)
    # Dense matrix of W on 8x8 (coarsest level 1x1, filters wrap several times for db4).
    basis = torch.eye(64, dtype=torch.float64).reshape(64, 8, 8)
    w_matrix = wavedec(basis, wavelet, 3).reshape(64, 64)
    assert torch.allclose(w_matrix @ w_matrix.T, torch.eye(64, dtype=torch.float64), atol=1e-13)


@pytest.mark.parametrize("wavelet", EXACT)
def test_matches_reference_formula_or_pywavelets(wavelet):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 16, 32))
    ours = wavedec(torch.from_numpy(x), wavelet, 3).numpy()
    reference = _pywt_wavedec(x, wavelet, 3)
    if reference is None:
        reference = _reference_wavedec(x, wavelet, 3)
    np.testing.assert_allclose(ours, reference, atol=1e-12)


def test_single_level_haar_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 10))
    c = wavedec(torch.from_numpy(x), "haar", 1).numpy()
    a, b = x[0::2, 0::2], x[0::2, 1::2]  # top-left, top-right of each 2x2 block
    cc, d = x[1::2, 0::2], x[1::2, 1::2]  # bottom-left, bottom-right
    np.testing.assert_allclose(c[:3, :5], (a + b + cc + d) / 2, atol=1e-14)
    np.testing.assert_allclose(c[:3, 5:], (a - b + cc - d) / 2, atol=1e-14)  # high-pass along W
    np.testing.assert_allclose(c[3:, :5], (a + b - cc - d) / 2, atol=1e-14)  # high-pass along H
    np.testing.assert_allclose(c[3:, 5:], (a - b - cc + d) / 2, atol=1e-14)


def test_constant_image_has_only_approximation():
    x = torch.full((1, 32, 32), 0.7, dtype=torch.float64)
    for wavelet in EXACT:
        c = wavedec(x, wavelet, 3)
        assert torch.allclose(c[..., :4, :4], torch.full((1, 4, 4), 0.7 * 8, dtype=torch.float64))
        c[..., :4, :4] = 0
        assert c.abs().max().item() < 1e-12


def test_float32_autograd_and_level_zero():
    x = torch.randn(1, 16, 16, requires_grad=True)
    c = wavedec(x, "db4", 2)
    assert c.dtype == torch.float32
    (c**2).sum().backward()
    assert torch.allclose(x.grad, 2 * x.detach(), atol=1e-5)  # ‖Wx‖² = ‖x‖²
    assert wavedec(x, "haar", 0) is x


def test_invalid_input_raises_value_error():
    x = torch.zeros(12, 16)
    with pytest.raises(ValueError, match="divisible"):
        wavedec(x, "haar", 3)
    with pytest.raises(ValueError, match="wavelet"):
        wavedec(x, "bior2.2", 1)  # in PyWavelets, but not orthonormal
    with pytest.raises(ValueError, match="levels"):
        waverec(x, "haar", -1)
    with pytest.raises(ValueError, match="H, W"):
        wavedec(torch.zeros(8), "haar", 1)


def test_max_levels():
    from core.wavelets import max_levels

    assert max_levels(64, 48) == 4
    assert max_levels(12, 16) == 2
    assert max_levels(7, 16) == 0
    assert max_levels(1, 1) == 0


@pytest.mark.parametrize(
    "wavelet",
    ["haar", "db1", "db2", "db4", "db8", "db20", "db38", "sym2", "sym4", "sym12", "sym20", "coif1", "coif5", "coif17"],
)
@pytest.mark.parametrize("levels", [1, 3])
def test_every_family_matches_pywavelets_periodization(wavelet, levels):
    import warnings

    import pywt

    from core.wavelets import WAVELETS, wavedec, waverec

    assert wavelet in WAVELETS
    x = np.random.default_rng(levels).random((2, 32, 64))
    coeffs = wavedec(torch.from_numpy(x), wavelet, levels).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pywt warns that long filters see boundary effects
        for c in range(2):
            reference, _ = pywt.coeffs_to_array(pywt.wavedec2(x[c], wavelet, mode="periodization", level=levels))
            np.testing.assert_allclose(coeffs[c], reference, atol=1e-12)
    np.testing.assert_allclose(waverec(torch.from_numpy(coeffs), wavelet, levels).numpy(), x, atol=1e-10)


def test_the_available_wavelets_are_pywavelets_orthogonal_families():
    import pywt

    from core.wavelets import WAVELETS

    assert {"haar", "db2", "db20", "sym8", "coif5"} <= set(WAVELETS)
    assert all(pywt.Wavelet(name).orthogonal for name in WAVELETS)
    assert not {"bior2.2", "rbio1.3", "dmey"} & set(WAVELETS)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_every_family_is_orthonormal_to_the_precision_of_its_published_filters(wavelet):
    lo, hi = (np.asarray(f) for f in wavelet_filters(wavelet))
    taps = len(lo)
    assert lo.sum() == pytest.approx(math.sqrt(2.0), abs=1e-9)
    for shift in range(0, taps // 2):
        expected = 1.0 if shift == 0 else 0.0
        assert np.dot(lo[: taps - 2 * shift], lo[2 * shift :]) == pytest.approx(expected, abs=1e-9)
        assert np.dot(lo[: taps - 2 * shift], hi[2 * shift :]) == pytest.approx(0.0, abs=1e-9)
    x = torch.randn(2, 16, 24, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    c = wavedec(x, wavelet, 2)
    assert torch.allclose(waverec(c, wavelet, 2), x, rtol=0, atol=1e-8)
    assert c.norm().item() == pytest.approx(x.norm().item(), rel=1e-9)
    constant = wavedec(torch.full((1, 16, 16), 0.5, dtype=torch.float64), wavelet, 2)
    constant[..., :4, :4] -= 0.5 * 4
    assert constant.abs().max().item() < 1e-8
