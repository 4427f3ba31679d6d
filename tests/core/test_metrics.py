"""Metrics against scikit-image and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.data import astronaut, camera
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from core.metrics import (
    METRIC_NAMES,
    MetricContext,
    compute_metrics,
    context_for,
    psnr,
    rec_error,
    rel_change,
    ssim,
)
from core.operators.base import MatrixOperator
from core.priors.base import L1Pixel
from core.problem import Problem

TOL = {np.float64: 1e-6, np.float32: 1e-3}


def _noisy_pair(clean: np.ndarray, sigma: float, seed: int, dtype):
    rng = np.random.default_rng(seed)
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    return noisy.astype(dtype), clean.astype(dtype)


def _random_pair(shape, seed, dtype):
    rng = np.random.default_rng(seed)
    return _noisy_pair(rng.random(shape), 0.15, seed + 1, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7, 7), (8, 15), (31, 12), (48, 48)])
def test_ssim_and_psnr_match_skimage_on_random_grey(shape, dtype):
    noisy, clean = _random_pair(shape, sum(shape), dtype)
    x, ref = torch.from_numpy(noisy), torch.from_numpy(clean)
    expected_ssim = structural_similarity(noisy, clean, data_range=1)
    expected_psnr = peak_signal_noise_ratio(clean, np.clip(noisy, 0, 1), data_range=1)
    got_ssim, got_psnr = ssim(x, ref), psnr(x, ref)
    assert got_ssim.shape == () and got_psnr.shape == ()
    assert got_ssim.dtype == x.dtype
    assert abs(got_ssim.item() - expected_ssim) < TOL[dtype]
    assert abs(got_psnr.item() - expected_psnr) < 1e3 * TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ssim_and_psnr_match_skimage_on_natural_grey(dtype):
    clean = camera()[150:214, 200:290] / 255.0
    noisy, clean = _noisy_pair(clean, 0.08, 3, dtype)
    x, ref = torch.from_numpy(noisy), torch.from_numpy(clean)
    assert abs(ssim(x, ref).item() - structural_similarity(noisy, clean, data_range=1)) < TOL[dtype]
    expected = peak_signal_noise_ratio(clean, np.clip(noisy, 0, 1), data_range=1)
    assert abs(psnr(x, ref).item() - expected) < 1e3 * TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7, 9), (40, 56)])
def test_colour_ssim_is_skimage_channel_axis_mean(shape, dtype):
    clean = astronaut()[: shape[0], 100 : 100 + shape[1]] / 255.0
    noisy, clean = _noisy_pair(clean, 0.1, 5, dtype)
    expected = structural_similarity(noisy, clean, data_range=1, channel_axis=2)
    x = torch.from_numpy(noisy).permute(2, 0, 1)
    ref = torch.from_numpy(clean).permute(2, 0, 1)
    assert abs(ssim(x, ref).item() - expected) < TOL[dtype]
    expected_psnr = peak_signal_noise_ratio(clean, np.clip(noisy, 0, 1), data_range=1)
    assert abs(psnr(x, ref).item() - expected_psnr) < 1e3 * TOL[dtype]


def test_psnr_clips_x_and_closed_form():
    ref = torch.full((1, 8, 8), 0.5, dtype=torch.float64)
    x = ref + 0.1
    assert psnr(x, ref).item() == pytest.approx(20.0, abs=1e-9)  # 10 log10(1 / 0.01)
    # values above 1 are clipped to 1 before the error is measured: error 0.5 everywhere
    assert psnr(torch.full_like(ref, 7.0), ref).item() == pytest.approx(10 * math.log10(4.0), abs=1e-9)
    assert psnr(ref, ref).item() == math.inf
    assert psnr(x, ref, data_range=2.0).item() == pytest.approx(10 * math.log10(4 / 0.01), abs=1e-9)


def test_ssim_of_identical_images_is_one_and_shape_errors():
    ref = torch.rand(2, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert ssim(ref, ref).item() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 7"):
        ssim(ref[:, :6], ref[:, :6])
    with pytest.raises(ValueError, match="does not match"):
        ssim(ref[:1], ref)


def test_batched_psnr_ssim_give_one_value_per_image():
    gen = torch.Generator().manual_seed(1)
    ref = torch.rand(3, 16, 20, dtype=torch.float64, generator=gen)
    batch = ref + 0.1 * torch.randn(4, 3, 16, 20, dtype=torch.float64, generator=gen)
    ctx = MetricContext(ref)
    ssim_values, psnr_values = ctx.ssim(batch), ctx.psnr(batch)
    assert ssim_values.shape == (4,) and psnr_values.shape == (4,)
    for i in range(4):
        assert ssim_values[i].item() == pytest.approx(ssim(batch[i], ref).item(), abs=1e-12)
        assert psnr_values[i].item() == pytest.approx(psnr(batch[i], ref).item(), abs=1e-12)


def test_rel_change_and_rec_error_closed_forms():
    old = torch.tensor([[3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)  # ‖old‖ = 5
    new = old + torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    assert rel_change(new, old).item() == pytest.approx(0.2, abs=1e-15)
    assert rec_error(new, old).item() == pytest.approx(0.2, abs=1e-15)
    assert rec_error(-old, old).item() == pytest.approx(2.0, abs=1e-15)
    zero = torch.zeros(2, 2, dtype=torch.float64)
    assert rel_change(zero, zero).item() == 0.0  # 0/0 reported as no change


def test_context_caches_reference_and_follows_dtype():
    ref = torch.rand(1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert context_for(ref) is context_for(ref)
    assert context_for(ref.clone()) is not context_for(ref)
    x32 = (ref + 0.05).float()
    value = context_for(ref).ssim(x32)
    assert value.dtype == torch.float32
    assert abs(value.item() - ssim(x32.double(), ref).item()) < 1e-3


def _tiny_problem(with_truth=True):
    gen = torch.Generator().manual_seed(3)
    shape = (1, 8, 8)
    matrix = torch.randn(40, 64, dtype=torch.float64, generator=gen)
    truth = torch.rand(shape, dtype=torch.float64, generator=gen)
    operator = MatrixOperator(matrix, shape)
    y = operator.forward(truth) + 0.01 * torch.randn(40, dtype=torch.float64, generator=gen)
    return Problem(operator, y, operator.adjoint(y), truth if with_truth else None, 0.01), matrix, y, truth


def test_compute_metrics_on_tiny_problem():
    problem, matrix, y, truth = _tiny_problem()
    prior = L1Pixel(lam=0.3)
    gen = torch.Generator().manual_seed(4)
    x_old = truth + 0.2 * torch.randn(truth.shape, dtype=torch.float64, generator=gen)
    x_new = truth + 0.1 * torch.randn(truth.shape, dtype=torch.float64, generator=gen)
    out = compute_metrics(problem, prior, x_new, x_old, {"accepted": True, "opt_error": torch.tensor(0.5)})
    assert set(out) == set(METRIC_NAMES)
    assert all(isinstance(v, torch.Tensor) and v.shape == () for v in out.values())
    residual = matrix.numpy() @ x_new.numpy().ravel() - y.numpy()
    expected_objective = 0.5 * residual @ residual + 0.3 * np.abs(x_new.numpy()).sum()
    assert out["objective"].item() == pytest.approx(expected_objective, rel=1e-12)
    diff = (x_new - x_old).numpy()
    assert out["rel_change"].item() == pytest.approx(np.linalg.norm(diff) / np.linalg.norm(x_old.numpy()), rel=1e-12)
    err = (x_new - truth).numpy()
    assert out["rec_error"].item() == pytest.approx(np.linalg.norm(err) / np.linalg.norm(truth.numpy()), rel=1e-12)
    assert out["psnr"].item() == pytest.approx(
        peak_signal_noise_ratio(truth.numpy()[0], np.clip(x_new.numpy()[0], 0, 1), data_range=1), abs=1e-9
    )
    assert out["ssim"].item() == pytest.approx(
        structural_similarity(x_new.numpy()[0], truth.numpy()[0], data_range=1), abs=1e-9
    )
    assert out["accepted"].item() == 1.0 and out["opt_error"].item() == 0.5
    assert math.isnan(out["opt_bound"].item())


def test_compute_metrics_without_truth_or_previous_and_given_objective():
    problem, _, _, truth = _tiny_problem(with_truth=False)
    out = compute_metrics(problem, None, truth, None, {"objective": torch.tensor(1.25, dtype=torch.float64)})
    for name in ("rel_change", "rec_error", "psnr", "ssim", "opt_error", "opt_bound", "accepted"):
        assert math.isnan(out[name].item()), name
    assert out["objective"].item() == 1.25
    # without info the objective is ½‖Ax − y‖² (no prior)
    out = compute_metrics(problem, None, truth, None, None)
    assert out["objective"].item() == pytest.approx(problem.fidelity(truth).item(), rel=1e-14)
