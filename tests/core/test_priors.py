"""Tests for priors (value + prox against brute force) and classical denoisers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from core.priors.constraints import Box, L0Box
from core.priors.denoisers import GaussianDenoiser, TVDenoiser, WaveletDenoiser
from core.priors.sparse import L1Wavelet, LpGISA, gisa_shrink
from core.priors.tv import (
    TotalVariation,
    gradient,
    gradient_adjoint,
    tv_dual_value,
    tv_prox,
    tv_value,
)
from core.registry import DENOISERS, PRIORS, load_all
from core.wavelets import wavedec

DT = torch.float64


def _rand(*shape, seed=0, scale=1.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


def _prox_objective(prior, x, v, step):
    return (prior.value(x) + ((x - v) ** 2).sum() / (2 * step)).item()


def _grid_minimum(cost, low, high, n=400_001):
    """Global minimum of a 1-D function on [low, high]: dense grid (0 included), then a local polish."""
    grid = np.union1d(np.linspace(low, high, n), [0.0] if low <= 0 <= high else [])
    values = cost(grid)
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    polished = scipy.optimize.minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    return min(values[best], float(cost(np.array([polished.x]))[0]))


# --------------------------------------------------------------------------- registry / values
def test_registry_entries_and_params():
    load_all()
    expected = {
        "none": set(),
        "l1": {"lam"},
        "l1_wavelet": {"lam", "wavelet", "levels"},
        "lp": {"lam", "p", "gisa_iters", "transform"},
        "l0_box": {"lam", "low", "high"},
        "tv": {"lam", "tv_iters"},
        "box": {"low", "high"},
    }
    for name, names in expected.items():
        entry = PRIORS.get_entry(name)
        assert {p.name for p in entry.params} == names
        assert all(p.help for p in entry.params)
        prior = entry.factory(entry.resolve({}))
        assert prior.name == name
        if "lam" in names:
            assert prior.lam == next(p.default for p in entry.params if p.name == "lam")
    for name in ("tv", "wavelet", "gaussian"):
        entry = DENOISERS.get_entry(name)
        assert entry.params and all(p.name.startswith("denoiser_") for p in entry.params)
    with pytest.raises(ValueError, match="'p'"):
        PRIORS.get_entry("lp").resolve({"p": 1.5})
    with pytest.raises(ValueError, match="'low'"):
        PRIORS.get_entry("box").factory({"low": 1.0, "high": 0.0})
    with pytest.raises(ValueError, match="'low'"):
        L0Box(0.1, low=2.0, high=1.0)


def test_values_closed_forms():
    x = _rand(2, 8, 8, seed=1)
    zero = torch.zeros_like(x)
    coeffs = wavedec(x, "db4", 3)
    assert L1Wavelet(0.3, "db4", 3).value(x).item() == pytest.approx(0.3 * coeffs.abs().sum().item())
    assert LpGISA(0.2, 0.5, transform="haar").value(x).item() == pytest.approx(
        0.2 * (wavedec(x, "haar", 3).abs() ** 0.5).sum().item()
    )
    for prior in (L1Wavelet(0.3), LpGISA(0.2, 0.5), TotalVariation(0.1), L0Box(0.1, -1, 1)):
        assert prior.value(zero).item() == 0.0
        assert prior.value(x).item() > 0.0
        assert prior.value(x).dim() == 0
    # TV of a vertical step edge of height 1 over 8 rows is 8 per channel.
    step_image = torch.zeros(2, 8, 8, dtype=DT)
    step_image[..., 4:] = 1.0
    assert tv_value(step_image).item() == pytest.approx(16.0)
    # Isotropic: a single bright pixel at (2, 2) has ‖(−1, −1)‖ = √2 at (1,2)/(2,1)... sum = 2 + √2.
    dot = torch.zeros(1, 5, 5, dtype=DT)
    dot[0, 2, 2] = 1.0
    assert tv_value(dot).item() == pytest.approx(2.0 + np.sqrt(2.0))
    box = Box(0.0, 1.0)
    assert box.value(torch.full((3, 3), 0.5)).item() == 0.0
    assert box.value(torch.tensor([0.5, 1.1])).item() == float("inf")
    l0 = L0Box(0.25, -1.0, 1.0)
    assert l0.value(torch.tensor([0.0, 0.3, -0.7, 0.0])).item() == pytest.approx(0.5)
    assert l0.value(torch.tensor([0.0, 1.3])).item() == float("inf")


def test_gradient_adjoint_identity():
    x, p = _rand(3, 7, 5, seed=2), _rand(3, 2, 7, 5, seed=3)
    assert (gradient(x) * p).sum().item() == pytest.approx((x * gradient_adjoint(p)).sum().item(), abs=1e-12)


@pytest.mark.parametrize(
    "prior",
    [
        L1Wavelet(0.5, "haar"),
        LpGISA(0.5, 0.7),
        LpGISA(0.5, 0.5, transform="db4"),
        TotalVariation(0.5),
        L0Box(0.5, -5, 5),
        Box(-5, 5),
    ],
    ids=lambda p: p.name,
)
def test_prox_with_vanishing_step_is_identity(prior):
    v = _rand(1, 16, 16, seed=4)
    for step in (1e-10, torch.tensor(1e-10, dtype=DT)):
        assert torch.allclose(prior.prox(v, step), v, atol=1e-7)


# --------------------------------------------------------------------------- ℓ1 wavelet
@pytest.mark.parametrize("wavelet", ["haar", "db4"])
def test_l1_wavelet_prox_optimality_certificate(wavelet):
    prior, step = L1Wavelet(0.4, wavelet, 2), 0.5
    v = _rand(1, 8, 8, seed=5)
    x = prior.prox(v, step)
    # Convex optimality: (v − x)/s ∈ λ Wᵀ∂‖Wx‖₁  ⇔  c = W(v − x)/(λs) has c = sign(Wx) on the
    # support and |c| ≤ 1 off it.
    c = wavedec(v - x, wavelet, 2) / (prior.lam * step)
    wx = wavedec(x, wavelet, 2)
    support = wx.abs() > 1e-12
    assert support.any() and (~support).any()
    assert torch.allclose(c[support], torch.sign(wx[support]), atol=1e-10)
    assert c[~support].abs().max().item() <= 1 + 1e-10
    best = _prox_objective(prior, x, v, step)
    for seed in range(20):
        assert best <= _prox_objective(prior, x + _rand(1, 8, 8, seed=100 + seed, scale=1e-3), v, step)


# --------------------------------------------------------------------------- ℓp / GISA
@pytest.mark.parametrize("p", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("weight", [0.05, 0.4])
def test_gisa_reaches_scalar_global_minimum(p, weight):
    values = np.array([-2.0, -0.9, -0.45, -0.1, 0.0, 0.2, 0.35, 0.6, 1.0, 3.0])
    shrunk = gisa_shrink(torch.tensor(values, dtype=DT), weight, p, iters=30).numpy()
    for v, t in zip(values, shrunk):

        def cost(z, v=v):
            return weight * np.abs(z) ** p + 0.5 * (z - v) ** 2

        reference = _grid_minimum(cost, -abs(v) - 0.5, abs(v) + 0.5)
        assert cost(np.array([t]))[0] <= reference + 1e-6
        assert cost(np.array([t]))[0] >= reference - 1e-6  # sanity: the grid is fine enough


def test_gisa_with_two_steps_is_close_and_thresholds_exactly():
    p, weight = 0.8, 0.3
    values = torch.linspace(-3, 3, 601, dtype=DT)
    two = gisa_shrink(values, weight, p, iters=2)
    converged = gisa_shrink(values, weight, p, iters=100)
    assert torch.equal(two == 0, converged == 0)
    assert (two - converged).abs().max().item() < 0.02
    # p = 1 reduces GISA to the soft threshold
    soft = torch.sign(values) * (values.abs() - weight).clamp_min(0)
    assert torch.allclose(gisa_shrink(values, weight, 1.0, iters=3), soft, atol=1e-14)


def test_lp_prox_in_wavelet_domain_is_global_minimum_per_coefficient():
    prior, step = LpGISA(0.3, 0.6, gisa_iters=40, transform="db4"), 0.8
    v = _rand(1, 8, 8, seed=6)
    x = prior.prox(v, step)
    # ‖x − v‖ = ‖Tx − Tv‖ (T orthonormal), so the objective splits over coefficients.
    total_reference = 0.0
    for c in wavedec(v, "db4", 3).flatten().tolist():

        def cost(z, c=c):
            return prior.lam * np.abs(z) ** prior.p + (z - c) ** 2 / (2 * step)

        total_reference += _grid_minimum(cost, -abs(c) - 0.5, abs(c) + 0.5, n=20_001)
    assert _prox_objective(prior, x, v, step) == pytest.approx(total_reference, abs=1e-6)


# --------------------------------------------------------------------------- ℓ0 + box, box
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-0.5, 0.7), (0.2, 0.9), (-1.0, -0.1)])
def test_l0_box_prox_against_dense_grid(low, high):
    prior, step = L0Box(0.08, low, high), 0.7
    values = np.linspace(-1.5, 1.5, 61)
    x = prior.prox(torch.tensor(values, dtype=DT), step).numpy()
    assert np.all((x >= low) & (x <= high))
    for v, z in zip(values, x):

        def cost(t, v=v):
            return prior.lam * (t != 0) + (t - v) ** 2 / (2 * step)

        grid = np.union1d(np.linspace(low, high, 200_001), [0.0] if low <= 0 <= high else [])
        reference = cost(grid).min()
        assert cost(np.array([z]))[0] <= reference + 1e-12
        assert cost(np.array([z]))[0] >= reference - 1e-4
    vt = torch.tensor(values, dtype=DT)
    assert _prox_objective(prior, prior.prox(vt, step), vt, step) <= _prox_objective(
        prior, vt.clamp(low, high), vt, step
    )


def test_box_prox_is_projection():
    v = _rand(50, seed=7, scale=2.0)
    x = Box(-0.3, 0.8).prox(v, 1.0)
    grid = np.linspace(-0.3, 0.8, 100_001)
    for vi, xi in zip(v.tolist(), x.tolist()):
        assert xi == pytest.approx(grid[np.argmin((grid - vi) ** 2)], abs=2e-5)


# --------------------------------------------------------------------------- TV
def _tv_reference(v: np.ndarray, theta: float) -> tuple[np.ndarray, float]:
    """Independent solution of the TV prox via its dual, a convex QCQP solved by SLSQP:
    min_p ½‖v − θ∇ᵀp‖² s.t. ‖p_ij‖² ≤ 1, with the dense matrix of ∇ᵀ. Returns (x_ref, dual value)."""
    n = v.size
    basis = torch.eye(2 * n, dtype=DT).reshape(2 * n, 2, *v.shape)
    adjoint = gradient_adjoint(basis).reshape(2 * n, n).T.numpy()  # column k = ∇ᵀ e_k
    b = v.ravel()

    def objective(q):
        r = b - theta * adjoint @ q
        return 0.5 * r @ r, -theta * adjoint.T @ r

    def ball(q):
        return 1.0 - q[:n] ** 2 - q[n:] ** 2

    def ball_jac(q):
        return np.hstack([np.diag(-2 * q[:n]), np.diag(-2 * q[n:])])

    result = scipy.optimize.minimize(
        objective,
        np.zeros(2 * n),
        jac=True,
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": ball, "jac": ball_jac}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    x_ref = b - theta * adjoint @ result.x
    return x_ref.reshape(v.shape), 0.5 * b @ b - result.fun


def test_tv_prox_matches_independent_dual_solution_and_closes_duality_gap():
    v = np.random.default_rng(8).random((5, 4))
    theta = 0.15
    vt = torch.from_numpy(v)[None]
    x, p = tv_prox(vt, theta, iters=3000)

    def primal(z):
        return (theta * tv_value(z) + 0.5 * ((z - vt) ** 2).sum()).item()

    ours = primal(x)
    gap = ours - tv_dual_value(vt, theta, p).item()
    assert 0 <= gap < 1e-9
    x_ref, dual_ref = _tv_reference(v, theta)
    reference = primal(torch.from_numpy(x_ref)[None])
    assert dual_ref - 1e-9 <= ours <= reference + 1e-9
    assert ours == pytest.approx(reference, abs=1e-6)
    assert np.abs(x[0].numpy() - x_ref).max() < 1e-3  # ½‖x − x*‖² ≤ objective gap
    # The prior's prox uses θ = λ·step.
    prior = TotalVariation(0.3, tv_iters=3000)
    assert torch.allclose(prior.prox(vt, 0.5), x, atol=1e-8)


def test_tv_warm_start_needs_fewer_iterations():
    image = torch.zeros(1, 24, 24, dtype=DT)
    image[:, 6:18, 6:18] = 1.0
    v1 = image + _rand(1, 24, 24, seed=9, scale=0.1)
    v2 = v1 + _rand(1, 24, 24, seed=10, scale=0.001)  # the next, nearby prox input
    step = 1.0
    exact = tv_prox(v2, 0.1 * step, iters=5000)[0]

    warm = TotalVariation(0.1, tv_iters=500)
    warm.prox(v1, step)  # converges and stores the dual
    warm.tv_iters = 5
    warm_error = (warm.prox(v2, step) - exact).norm().item()
    cold_error = (TotalVariation(0.1, tv_iters=50).prox(v2, step) - exact).norm().item()
    assert warm_error < 0.5 * cold_error  # 5 warm-started iterations beat 50 cold ones
    warm.reset()
    assert (warm.prox(v2, step) - exact).norm().item() > warm_error
    # A different shape silently starts cold.
    assert warm.prox(v2[:, :12, :12], step).shape == (1, 12, 12)


# --------------------------------------------------------------------------- denoisers
def _camera64():
    from skimage import data, transform

    image = transform.resize(data.camera().astype(np.float64) / 255.0, (64, 64), anti_aliasing=True)
    return torch.from_numpy(image)[None]


def _psnr(a, b):
    return (-10 * torch.log10(((a - b) ** 2).mean())).item()


@pytest.mark.parametrize("denoiser", [TVDenoiser(), WaveletDenoiser(), GaussianDenoiser()], ids=lambda d: d.name)
def test_denoiser_gains_psnr_and_is_identity_at_zero_noise(denoiser):
    clean = _camera64()
    noisy = clean + _rand(1, 64, 64, seed=11, scale=0.1)
    denoised = denoiser(noisy, 0.1)
    assert denoised.shape == noisy.shape
    assert _psnr(denoised, clean) > _psnr(noisy, clean) + 2.0
    assert torch.allclose(denoiser(noisy, torch.tensor(0.1, dtype=DT)), denoised, atol=1e-6)
    assert torch.allclose(denoiser(noisy, 1e-7), noisy, atol=1e-5)
    batch = torch.stack([noisy, clean])  # (N, C, H, W) treats images independently
    assert torch.allclose(denoiser(batch, 0.1)[0], denoised, atol=1e-10)
    assert denoiser(noisy[:, :30, :45], 0.1).shape == (1, 30, 45)
    with pytest.raises(ValueError, match="shape"):
        denoiser(noisy[0], 0.1)


def test_wavelet_prior_levels_follow_image_size():
    # 12x20 allows 2 levels only: the prior uses 2 and stays an exact orthonormal prox.
    prior = L1Wavelet(0.2, "db4", levels=3)
    v = _rand(1, 12, 20, seed=12)
    expected = wavedec(v, "db4", 2)
    assert prior.value(v).item() == pytest.approx(0.2 * expected.abs().sum().item())
    x = prior.prox(v, 1.0)
    assert torch.allclose(wavedec(x, "db4", 2), torch.sign(expected) * (expected.abs() - 0.2).clamp_min(0), atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        prior.prox(_rand(1, 11, 20, seed=13), 1.0)


@pytest.mark.parametrize(
    "prior",
    [L1Wavelet(0.1), LpGISA(0.1, 0.7, transform="haar"), TotalVariation(0.1, 50), L0Box(0.01), Box()],
    ids=lambda p: p.name,
)
def test_float32_matches_float64(prior):
    v = _rand(2, 16, 16, seed=14, scale=0.5) + 0.5
    step = torch.tensor(0.7, dtype=torch.float32)
    x32 = prior.prox(v.float(), step)
    prior.reset()
    x64 = prior.prox(v, 0.7)
    prior.reset()
    assert x32.dtype == torch.float32 and prior.value(x32).dtype == torch.float32
    # l0_box may flip entries that sit exactly on its hard threshold; none do here.
    assert torch.allclose(x32.double(), x64, atol=1e-4)
