"""Relaxed PODM: the first stage with untrained parameters against an independent dense solve."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from core.learned.relaxed_podm.net import RelaxedPODM, SparseBox, dct_filters, kernel_otf
from core.operators.blur import BlurOperator
from core.operators.kernels import gaussian_kernel, motion_kernel
from core.priors.constraints import L0Box
from core.problem import Problem
from core.registry import SOLVERS


def _lane(problem, net=None, **params):
    """The registered lane with its declared defaults, overridden by ``params``."""
    entry = SOLVERS.get_entry("relaxed_podm")
    kwargs = {p.name: p.default for p in entry.params}
    kwargs.update(params)
    return entry.factory(problem, net=net, **kwargs)


def _dense(conv, n_side):
    """Dense matrix of a linear map on n_side×n_side images, column by column."""
    cols = []
    for i in range(n_side * n_side):
        e = np.zeros(n_side * n_side)
        e[i] = 1.0
        cols.append(conv(e.reshape(n_side, n_side)).ravel())
    return np.stack(cols, axis=1)


def _blur_problem(kernel, side=16, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    clean = ndi.gaussian_filter(rng.random((side, side)), 1.5)
    clean = (clean - clean.min()) / (clean.max() - clean.min())
    clean[:5] = 0.0  # a dark band, so that the ℓ0 part of the prior acts
    op = BlurOperator(kernel, (1, side, side))
    x = torch.as_tensor(clean[None])
    y = op.forward(x) + noise * torch.as_tensor(rng.standard_normal((1, side, side)))
    return Problem(operator=op, y=y, x0=y.clone(), x_true=x, noise_sigma=noise), clean


@pytest.mark.parametrize(
    "kind,constraint", [("gaussian", "l0_penalty"), ("motion", "l0_penalty"), ("motion", "sparse_box")]
)
def test_first_stage_matches_dense_closed_form(kind, constraint):
    torch.manual_seed(1)
    side = 16
    kernel = gaussian_kernel(1.2, 5) if kind == "gaussian" else motion_kernel(6.0, torch.Generator().manual_seed(2))
    problem, _ = _blur_problem(kernel, side)
    net = RelaxedPODM(stages=3, features=8).double()
    # untrained, but make A non-trivial and the filter weights unequal
    for cnn in net.cnns:
        torch.nn.init.normal_(cnn.body[-1].weight, std=0.05)
    torch.nn.init.normal_(net.hyper.net[-1].weight, std=0.5)
    torch.nn.init.normal_(net.hyper.net[-1].bias, std=0.5)
    step = next(_lane(problem, net, constraint=constraint, l0_lam=0.002, keep=0.9))

    # independent computation: dense K, F_n from scipy convolutions (wrap), numpy solve
    y = problem.y[0].numpy()
    x_a = step.extras["output"][0].numpy()
    np.testing.assert_allclose(x_a, net.cnns[0](problem.y[None]).detach()[0, 0].numpy(), atol=1e-12)
    K = _dense(lambda e: ndi.convolve(e, kernel, mode="wrap"), side)
    with torch.no_grad():
        mu, weights, frac = net.stage_params(0, torch.tensor(0.01, dtype=torch.float64))
    mu, weights, frac = float(mu), weights.detach().numpy(), float(frac)
    H = sum(
        w * (lambda F: F.T @ F)(_dense(lambda e, f=f: ndi.correlate(e, f, mode="wrap"), side))
        for w, f in zip(weights, dct_filters(3).numpy())
    )
    x_f = np.linalg.solve(K.T @ K + mu * H, K.T @ y.ravel() + mu * H @ x_a.ravel())
    np.testing.assert_allclose(step.extras["x_F"][0].numpy().ravel(), x_f, atol=1e-9)
    # G: prox of λ‖·‖₀ + χ_[0,1] after a gradient step, γ = sigmoid(0)/L_f, L_f = ‖K‖² = 1
    lip = np.linalg.norm(K, 2) ** 2
    gamma = frac / lip
    v = x_f - gamma * K.T @ (K @ x_f - y.ravel())
    if constraint == "l0_penalty":
        clipped = np.clip(v, 0, 1)  # exact prox of λ‖·‖₀ + χ_[0,1]: the cheaper of 0 and clip(v)
        cost_zero = v * v / (2 * gamma)
        cost_clip = 0.002 * (clipped != 0) + (clipped - v) ** 2 / (2 * gamma)
        expected = np.where(cost_zero < cost_clip, 0.0, clipped)
    else:  # §5.2: HardThre_s(Proj_[min o, max o](v)), s = ⌈0.9 n⌉
        clipped = np.clip(v, y.min(), y.max())
        s = int(np.ceil(0.9 * v.size))
        threshold = np.sort(np.abs(clipped))[::-1][s - 1]
        tied = np.abs(np.abs(clipped) - threshold) < 1e-9  # many entries sit on the bound a = min o
        out = step.x[0].numpy().ravel()
        assert np.count_nonzero(out) == s
        np.testing.assert_allclose(out[out != 0], clipped[out != 0], atol=1e-9)
        expected = np.where(np.abs(clipped) > threshold, clipped, 0.0)
        expected[tied] = out[tied]  # which of the tied entries survive is topk's choice
    assert 0 < (expected == 0).sum() < expected.size  # the ℓ0 part is active here
    np.testing.assert_allclose(step.x[0].numpy().ravel(), expected, atol=1e-9)
    assert abs(float(step.info["step"]) - gamma) < 1e-9 and abs(float(step.info["mu"]) - mu) < 1e-12


def test_lane_ends_after_trained_stages_or_repeats():
    problem, _ = _blur_problem(gaussian_kernel(1.0, 5), 16)
    net = RelaxedPODM(stages=2, features=4).double()
    entry = SOLVERS.get_entry("relaxed_podm")
    assert entry.extra["learned"] and not entry.extra["needs_prior"]
    steps = list(_lane(problem, net, constraint="l0_penalty"))
    assert [s.k for s in steps] == [1, 2] and steps[-1].info["ended"] and not steps[0].info["ended"]
    gen = _lane(problem, net, constraint="l0_penalty", l0_lam=1e-4, beyond_trained="repeat")
    many = [next(gen) for _ in range(4)]
    assert not any(s.info["ended"] for s in many)
    # repeating the last stage = applying stage index 1 to the previous output
    again = net.stage(
        1,
        many[2].x[:, None],
        kernel_otf(torch.as_tensor(gaussian_kernel(1.0, 5)), (16, 16)),
        problem.y[:, None],
        torch.tensor(0.01, dtype=torch.float64),
        L0Box(1e-4),
        torch.tensor(1.0),
    )
    np.testing.assert_allclose(many[3].x.numpy(), again["x"][:, 0].detach().numpy(), atol=1e-9)


def test_rejects_non_convolution_operator():
    from core.operators.base import MatrixOperator

    g = torch.Generator().manual_seed(0)
    op = MatrixOperator(torch.randn(40, 64, generator=g, dtype=torch.float64), (1, 8, 8))
    problem = Problem(operator=op, y=torch.zeros(40, dtype=torch.float64), x0=torch.zeros(1, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="circular convolution"):
        next(_lane(problem, RelaxedPODM(stages=1)))


def test_sparse_box_prox_is_hard_threshold_of_the_box_projection():
    rng = np.random.default_rng(3)
    v = torch.as_tensor(rng.normal(0.4, 0.5, (2, 1, 6, 5)))
    v[0, 0, :2] = -3.0  # ties after clipping: exactly n − s entries must still be zeroed
    observation = torch.as_tensor(rng.uniform(0.1, 0.8, (2, 1, 6, 5)))
    out = SparseBox.of_observation(0.7, observation).prox(v, 0.5).numpy()
    for i in range(2):
        a, b = observation[i].min().item(), observation[i].max().item()
        clipped = np.clip(v[i].numpy().ravel(), a, b)
        kept = out[i].ravel() != 0
        assert kept.sum() == 21  # s = ⌈0.7 · 30⌉
        np.testing.assert_array_equal(out[i].ravel()[kept], clipped[kept])
        assert np.abs(clipped[kept]).min() >= np.abs(clipped[~kept]).max()  # the s largest |u_i|
    full = SparseBox.of_observation(1.0, observation).prox(v, 0.5)
    np.testing.assert_array_equal(
        full.numpy(),
        np.clip(
            v.numpy(),
            observation.amin((1, 2, 3), keepdim=True).numpy(),
            observation.amax((1, 2, 3), keepdim=True).numpy(),
        ),
    )
    with pytest.raises(ValueError, match="keep"):
        SparseBox(0.0, observation.min(), observation.max())


def test_dct_filters_orthonormal():
    f = dct_filters(3).reshape(9, 9)
    np.testing.assert_allclose((f @ f.T).numpy(), np.eye(9), atol=1e-12)


def test_shipped_weights_deblur_a_held_out_image():
    from core.images import load_image
    from core.learned.dncnn.train import TRAIN_IMAGES

    assert "camera" not in TRAIN_IMAGES
    clean = load_image("camera", size=64)
    op = BlurOperator(gaussian_kernel(1.6, 9), (1, 64, 64))
    x = torch.as_tensor(clean[None])
    y = op.forward(x) + 0.01 * torch.as_tensor(np.random.default_rng(1).standard_normal((1, 64, 64)))
    problem = Problem(operator=op, y=y, x0=y.clone(), x_true=x, noise_sigma=0.01)
    steps = list(_lane(problem))  # the paper's χ_Ω, as trained
    assert steps[-1].info["ended"] and len(steps) >= 2

    def psnr(a):
        return 10 * np.log10(1 / np.mean((np.clip(a.numpy(), 0, 1) - clean[None]) ** 2))

    assert psnr(steps[-1].x) > psnr(y) + 2.0
    assert psnr(steps[-1].x) > psnr(steps[0].x)  # later stages keep improving


def test_benchmark_config_carries_the_requested_size_and_noise():
    from core.learned.relaxed_podm.reproduce import LANES, SETTINGS, deblur_config

    config = deblur_config("camera", {"kernel": "gaussian", "kernel_sigma": 1.6}, LANES[2], 256, 0.005)
    assert (config.problem.size, config.problem.noise_sigma) == (256, 0.005)
    assert config.lanes[0].params["constraint"] == "sparse_box"
    assert deblur_config("camera", {"kernel": "gaussian"}, LANES[0], 128).problem.noise_sigma == 0.01
    assert SETTINGS[0] == (128, 0.01)  # the benchmark's own setting comes first
