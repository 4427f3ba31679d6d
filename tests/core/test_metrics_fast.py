"""The fast paths of issue 11: the short-filter wavelet transform, the separable SSIM box filter,
the lane's cached previous image and the grouped metric history (same numbers as before)."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

import core.wavelets as wavelets
from core.config import Config
from core.engine import Run
from core.lane import ScalarHistory
from core.metrics import MetricContext, _window_mean, compute_metrics, rel_change
from core.operators.base import MatrixOperator
from core.priors.base import L1Pixel
from core.problem import Problem
from core.wavelets import wavedec, waverec

SHORT = ("haar", "db1", "db2", "db3", "db4", "sym2", "sym3", "sym4", "coif1")
#: (shape, levels): plain, batched, odd multiples, and coarsest levels smaller than the filter
CASES = [((32, 64), 3), ((2, 3, 16, 24), 3), ((1, 40, 8), 3), ((8, 8), 3), ((2, 2), 1), ((64, 32), 5)]


def _conv_path(fn, *args):
    """``fn`` evaluated with the short-filter path switched off (the gather + conv1d transform)."""
    saved = wavelets.SHORT_FILTER_TAPS
    wavelets.SHORT_FILTER_TAPS = 0
    try:
        return fn(*args)
    finally:
        wavelets.SHORT_FILTER_TAPS = saved


def _pywt_packed(x: np.ndarray, wavelet: str, levels: int) -> np.ndarray:
    import pywt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pywt warns when the coarsest level is shorter than the filter
        coeffs = pywt.wavedec2(x, wavelet, mode="periodization", level=levels, axes=(-2, -1))
    return pywt.coeffs_to_array(coeffs, axes=(-2, -1))[0]


def test_short_filter_wavelets_take_the_fast_path():
    assert all(len(wavelets.wavelet_filters(name)[0]) <= wavelets.SHORT_FILTER_TAPS for name in SHORT)
    x = torch.zeros(8, 8)
    assert wavelets._use_short_path("db4", x)
    assert not wavelets._use_short_path("db8", x)
    assert not wavelets._use_short_path("haar", x.clone().requires_grad_())


@pytest.mark.parametrize("wavelet", SHORT)
@pytest.mark.parametrize("shape, levels", CASES)
def test_fast_transform_equals_the_conv_transform_and_pywavelets(wavelet, shape, levels):
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(levels + len(shape)))
    fast = wavedec(x, wavelet, levels)
    slow = _conv_path(wavedec, x, wavelet, levels)
    assert fast.shape == x.shape and fast.dtype == x.dtype
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast.numpy(), _pywt_packed(x.numpy(), wavelet, levels), rtol=0, atol=1e-12)
    # the inverse (= adjoint) on arbitrary coefficients, and perfect reconstruction
    np.testing.assert_allclose(
        waverec(x, wavelet, levels).numpy(), _conv_path(waverec, x, wavelet, levels).numpy(), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(waverec(fast, wavelet, levels).numpy(), x.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("wavelet", ["haar", "db4"])
def test_fast_transform_in_float32_matches_to_rounding_and_leaves_its_input_alone(wavelet):
    x = torch.rand(3, 64, 48, generator=torch.Generator().manual_seed(5))
    before = x.clone()
    fast, slow = wavedec(x, wavelet, 3), _conv_path(wavedec, x, wavelet, 3)
    assert fast.dtype == torch.float32
    assert torch.equal(x, before)
    torch.testing.assert_close(fast, slow, rtol=1e-6, atol=2e-6)
    back = waverec(fast, wavelet, 3)
    assert torch.equal(fast, wavedec(x, wavelet, 3))  # deterministic, no aliasing of outputs
    torch.testing.assert_close(back, x, rtol=1e-6, atol=2e-6)


def test_fast_transform_on_non_contiguous_input():
    x = torch.randn(32, 48, dtype=torch.float64).T  # (48, 32), transposed strides
    for wavelet in ("haar", "db4"):
        np.testing.assert_allclose(
            wavedec(x, wavelet, 2).numpy(), _conv_path(wavedec, x.contiguous(), wavelet, 2).numpy(), atol=1e-12
        )


def test_autograd_uses_the_differentiable_path_with_the_same_values():
    x = torch.randn(1, 16, 16, dtype=torch.float64, requires_grad=True)
    c = wavedec(x, "haar", 2)
    assert c.requires_grad
    np.testing.assert_allclose(c.detach().numpy(), wavedec(x.detach(), "haar", 2).numpy(), atol=1e-12)
    with torch.no_grad():
        assert not wavedec(x, "haar", 2).requires_grad  # no_grad: the fast path


def _avg_pool_window_mean(t: torch.Tensor) -> torch.Tensor:
    """The former 7×7 window mean (an unpadded average pool)."""
    h, w = t.shape[-2:]
    pooled = F.avg_pool2d(t.reshape(-1, 1, h, w), 7, stride=1)
    return pooled.reshape(*t.shape[:-2], *pooled.shape[-2:])


@pytest.mark.parametrize("shape", [(7, 7), (9, 30), (3, 40, 33), (2, 1, 64, 64)])
def test_separable_window_mean_equals_the_average_pool(shape):
    t = torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(sum(shape)))
    np.testing.assert_allclose(_window_mean(t).numpy(), _avg_pool_window_mean(t).numpy(), rtol=0, atol=1e-15)


@pytest.fixture(params=["fused", "torch"])
def ssim_path(request, monkeypatch):
    """Run a test with the compiled one-pass SSIM (core/fused_metrics.py) and with the torch path."""
    from core import fused_metrics

    if request.param == "torch":
        monkeypatch.setattr(fused_metrics, "kernel", lambda: None)
    else:
        kernel = fused_metrics.kernel()
        assert kernel is not None, "numba is a dependency: the compiled SSIM must be there"
        calls = []
        monkeypatch.setattr(fused_metrics, "kernel", lambda: lambda *args: calls.append(1) or kernel(*args))
        yield request.param
        assert calls, "the compiled SSIM was not used"
        return
    yield request.param


@pytest.mark.parametrize("shape", [(64, 80), (3, 48, 56), (150, 70), (3, 140, 40), (1, 71, 9)])
def test_ssim_equals_skimage_in_float64_on_larger_images(shape, ssim_path):
    rng = np.random.default_rng(11)
    clean = rng.random(shape)
    noisy = clean + 0.1 * rng.standard_normal(shape)
    got = MetricContext(torch.from_numpy(clean)).ssim(torch.from_numpy(noisy)).item()
    if len(shape) == 3:
        expected = structural_similarity(noisy, clean, data_range=1, channel_axis=0)
    else:
        expected = structural_similarity(noisy, clean, data_range=1)
    assert abs(got - expected) < 1e-12


def test_ssim_in_float32_stays_within_float32_rounding_of_skimage(ssim_path):
    """The bracket form (A2/c = W[2x·ref + k] − A1, B2/c = W[x² + ref² + k] − B1) subtracts
    window sums of size ≈ E[x²] + E[ref²] to get variances; on a natural image with noise it
    stays within a few float32 roundings of skimage's float64 value (1e-6 here)."""
    from core.images import load_image

    clean = load_image("camera", size=128)
    noisy = np.clip(clean + 0.05 * np.random.default_rng(2).standard_normal(clean.shape), -0.1, 1.1)
    expected = structural_similarity(noisy, clean, data_range=1)
    got = MetricContext(torch.from_numpy(clean[None]).float()).ssim(torch.from_numpy(noisy[None]).float())
    assert got.dtype == torch.float32
    assert abs(got.item() - expected) < 5e-6


def test_ssim_context_does_not_modify_its_inputs_or_cache(ssim_path):
    ref = torch.rand(1, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = ref + 0.05
    ctx = MetricContext(ref)
    x_before, first = x.clone(), ctx.ssim(x)
    assert torch.equal(x, x_before)
    assert ctx.ssim(x).item() == first.item()


def _tiny_problem():
    gen = torch.Generator().manual_seed(3)
    shape = (1, 8, 8)
    matrix = torch.randn(40, 64, dtype=torch.float64, generator=gen)
    truth = torch.rand(shape, dtype=torch.float64, generator=gen)
    operator = MatrixOperator(matrix, shape)
    y = operator.forward(truth)
    return Problem(operator, y, operator.adjoint(y), truth, 0.0), truth


def test_compute_metrics_with_given_images_equals_computing_them():
    problem, truth = _tiny_problem()
    x_old, x_new = truth + 0.2, truth - 0.1
    plain = compute_metrics(problem, L1Pixel(0.1), x_new, x_old, {})
    given = compute_metrics(problem, L1Pixel(0.1), x_new, x_old, {}, image=x_new, image_old=x_old)
    assert plain.keys() == given.keys()
    for name in plain:
        a, b = plain[name].item(), given[name].item()
        assert (math.isnan(a) and math.isnan(b)) or a == b, name


def _run(degradation, params, keep, lanes):
    config = Config.from_dict(
        {
            "problem": {
                "image": "camera",
                "size": 32,
                "degradation": degradation,
                "noise_sigma": 0.01,
                "seed": 2,
                "params": params,
            },
            "lanes": lanes,
            "run": {"iterations": 6, "keep_iterates": keep, "dtype": "float64"},
        }
    )
    run = Run(config)
    run.run()
    return run


@pytest.mark.parametrize("degradation, params", [("blur", {}), ("sparse_sr", {"scale": 2, "levels": 2})])
@pytest.mark.parametrize("keep", [0, 10])
def test_lane_rel_change_from_the_cached_image_equals_recomputing_it(degradation, params, keep):
    lanes = [
        {"label": "ISTA", "solver": "ista", "prior": "l1", "params": {"lam": 0.001}},
        {"label": "FISTA", "solver": "fista", "prior": "l1", "params": {"lam": 0.001}},
    ]
    run = _run(degradation, params, keep, lanes)
    problem = run.problem
    for lane in run.lanes:
        recorded = lane.history.row("rel_change").numpy()
        assert lane.k == 6 and recorded.shape == (6,)
        # the same lane replayed by hand: solver generator and the plain metric formula
        from core.lane import build_solver

        steps, _, _ = build_solver(lane.spec, problem)
        x_old = problem.x0
        with torch.no_grad():
            for k in range(6):
                x = next(steps).x.clone()
                expected = rel_change(problem.to_image(x), problem.to_image(x_old)).item()
                assert recorded[k] == pytest.approx(expected, rel=1e-12, abs=1e-15), (lane.label, k)
                x_old = x
        if keep:
            assert torch.equal(lane.x, lane.kept[-1].x)


def test_history_groups_values_by_type_and_fills_absent_names_with_nan():
    history = ScalarHistory(torch.device("cpu"), capacity=2)
    history.append({"a": torch.tensor(1.5), "b": 2, "ok": torch.tensor(True)})
    history.append({"b": 3.5, "c": torch.tensor(4.0, dtype=torch.float64), "a": torch.tensor(0.25)})
    history.append({"ok": torch.tensor(False), "c": torch.tensor(5.0, dtype=torch.float64)})  # capacity doubles
    data = history.to_numpy()
    np.testing.assert_array_equal(data["a"], [1.5, 0.25, np.nan])
    np.testing.assert_array_equal(data["b"], [2.0, 3.5, np.nan])
    np.testing.assert_array_equal(data["ok"], [1.0, np.nan, 0.0])
    np.testing.assert_array_equal(data["c"], [np.nan, 4.0, 5.0])
    # after a truncation the overwritten column holds only the new values (NaN elsewhere)
    history.truncate(1)
    history.append({"b": 9.0})
    data = history.to_numpy()
    np.testing.assert_array_equal(data["b"], [2.0, 9.0])
    np.testing.assert_array_equal(data["a"], [1.5, np.nan])
    np.testing.assert_array_equal(data["c"], [np.nan, np.nan])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lane_finite_check_equals_isfinite_all(dtype):
    from core.lane import _all_finite

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 37, 41, generator=gen).to(dtype)
    assert _all_finite(x).item() is True and _all_finite(x).shape == ()
    for bad in (math.nan, math.inf, -math.inf):
        for index in (0, 5, 37 * 41 - 1, 1000):
            y = x.clone()
            y.view(-1)[index] = bad
            assert _all_finite(y).item() is False, (bad, index)
            assert _all_finite(y).item() == torch.isfinite(y).all().item()
    assert _all_finite(torch.tensor([torch.finfo(dtype).max, -torch.finfo(dtype).max], dtype=dtype)).item()
    assert _all_finite(torch.zeros(0, dtype=dtype)).item()


def test_ssim_in_row_bands_equals_skimage_per_image_of_a_batch():
    import core.metrics as metrics

    rng = np.random.default_rng(4)
    clean = rng.random((2, 90, 33))  # (C, H, W): 84 output rows, two bands and a partial one
    noisy = clean + 0.1 * rng.standard_normal((3, 2, 90, 33))  # a batch of three
    expected = [structural_similarity(n, clean, data_range=1, channel_axis=0) for n in noisy]
    saved = metrics.SSIM_BAND_ELEMENTS
    try:
        # bands of 1, 5, 64 (and a partial one) and all 84 output rows
        for band in (1, 5, 64, 1000):
            metrics.SSIM_BAND_ELEMENTS = band * 3 * 2 * 33
            got = MetricContext(torch.from_numpy(clean)).ssim(torch.from_numpy(noisy))
            assert got.shape == (3,)
            np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)
    finally:
        metrics.SSIM_BAND_ELEMENTS = saved


@pytest.mark.parametrize("shape", [(40, 52), (3, 33, 29)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_image_metrics_equal_the_torch_metrics(shape, dtype, monkeypatch):
    """MetricContext.image_metrics (one compiled pass, core/fused_metrics.py) gives rel_change,
    rec_error, PSNR (of clip(x, 0, 1): x leaves [0, 1] here) and SSIM equal to the torch
    functions, and the engine's metric assembly uses it."""
    from core import fused_metrics

    gen = torch.Generator().manual_seed(len(shape))
    ref = torch.rand(*shape, dtype=torch.float64, generator=gen)
    x = (ref + 0.2 * torch.randn(*shape, dtype=torch.float64, generator=gen)).to(dtype)
    x_old = (ref + 0.3 * torch.randn(*shape, dtype=torch.float64, generator=gen)).to(dtype)
    ref = ref.to(dtype)
    ctx = MetricContext(ref)
    got = ctx.image_metrics(x, x_old)
    expected_rec, expected_psnr = MetricContext(ref).errors(x.clone())
    tol = 1e-12 if dtype == torch.float64 else 2e-6
    for name, expected in (
        ("rel_change", rel_change(x, x_old)),
        ("rec_error", expected_rec),
        ("psnr", expected_psnr),
        ("ssim", MetricContext(ref).ssim(x)),
    ):
        assert got[name].dtype == dtype and got[name].dim() == 0
        assert abs(float(got[name]) - float(expected)) <= tol * max(1.0, abs(float(expected))), name
    channel_axis = 0 if len(shape) == 3 else None
    skimage_value = structural_similarity(
        x.double().numpy(), ref.double().numpy(), data_range=1, channel_axis=channel_axis
    )
    assert abs(float(got["ssim"]) - skimage_value) < (1e-12 if dtype == torch.float64 else 1e-6)
    assert "rel_change" not in ctx.image_metrics(x, None)
    assert float(ctx.image_metrics(ref.clone(), None)["psnr"]) == float("inf")
    for bad in (float("nan"), float("inf")):  # propagated as by the torch functions
        broken = x.clone()
        broken[..., 3, 4] = bad
        got_bad = ctx.image_metrics(broken, x_old)
        rec_bad, psnr_bad = MetricContext(ref).errors(broken.clone())
        for name, expected in (("rel_change", rel_change(broken, x_old)), ("rec_error", rec_bad), ("psnr", psnr_bad)):
            np.testing.assert_allclose(float(got_bad[name]), float(expected), rtol=tol, err_msg=name)
        assert math.isnan(float(got_bad["ssim"]))
    # the lane's metrics come from that pass, with the same values as the torch path
    problem = SimpleNamespace(x_true=ref, to_image=lambda z: z, objective=lambda z, prior: torch.zeros((), dtype=dtype))
    calls = []
    kernel = fused_metrics.kernel()
    monkeypatch.setattr(fused_metrics, "kernel", lambda: lambda *a: calls.append(1) or kernel(*a))
    fused = compute_metrics(problem, None, x, x_old, context=MetricContext(ref))
    assert calls
    monkeypatch.setattr(fused_metrics, "kernel", lambda: None)
    plain = compute_metrics(problem, None, x, x_old, context=MetricContext(ref))
    for name in ("rel_change", "rec_error", "psnr", "ssim"):
        assert abs(float(fused[name]) - float(plain[name])) <= tol * max(1.0, abs(float(plain[name]))), name


def test_numba_is_imported_only_when_an_image_is_measured():
    """core.metrics does not import numba (a third of a second) until the compiled kernel is used."""
    import subprocess
    import sys

    code = (
        "import sys, torch; import core.metrics as m; assert 'numba' not in sys.modules; "
        "ref = torch.rand(16, 16); m.MetricContext(ref).image_metrics(ref + 0.1, None); "
        "assert 'numba' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
