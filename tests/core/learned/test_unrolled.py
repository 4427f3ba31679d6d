"""Unrolled solvers: FISTA-Net, ADMM-Net, unrolled ADMM (ISTA-Net⁺: test_ista_net.py, BMO: test_bmo.py) —
first stages against the classical formulas computed independently, shapes, weight loading, short training runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _unrolled_helpers import conv, numpy_soft, psnr, single_block_cs

from core.config import ProblemSpec
from core.learned.fista_net.net import FISTANet
from core.learned.training.common import TrainSettings, train_loop
from core.learned.weights import load_state
from core.problem import build_problem
from core.registry import DEGRADATIONS, SOLVERS


def make_problem(degradation, size=66, sigma=0.0, image="camera", **params):
    spec = ProblemSpec(
        image=image,
        size=size,
        degradation=degradation,
        noise_sigma=sigma,
        params=DEGRADATIONS.get_entry(degradation).resolve(params),
    )
    return build_problem(spec, dtype="float64")


# --- FISTA-Net ---------------------------------------------------------------------------------


def test_fista_net_initial_scalars_match_paper_schedule():
    net = FISTANet(6, 4)
    expected = [(0.744, 0.127, 0.0), (0.644, 0.079, 0.288), (0.554, 0.049, 0.472)]
    for k, (mu, theta, rho) in enumerate(expected):
        got = [float(v.detach()) for v in net.scalars(k)]
        np.testing.assert_allclose(got, [mu, theta, rho], atol=1.5e-3)


def test_fista_net_untrained_phases_are_fista_steps_with_learned_prox():
    torch.manual_seed(1)
    net = FISTANet(6, 4).double()
    op, phi, x, y = single_block_cs(seed=3)
    x0 = op.adjoint(y)[:, None]
    gradient = lambda v: op.adjoint(op.forward(v[:, 0]) - y)[:, None]
    yn = y.numpy().reshape(-1)

    def prox(r, theta):
        d = conv(r, net.head)
        h = d
        for i in (0, 2, 4, 6):
            h = conv(h, net.forward_transform[i]) if i == 0 else conv(F.relu(h), net.forward_transform[i])
        s = torch.from_numpy(numpy_soft(h.detach().numpy(), theta))
        b = s
        for i in (0, 2, 4, 6):
            b = conv(b, net.backward_transform[i]) if i == 0 else conv(F.relu(b), net.backward_transform[i])
        return F.relu(r + conv(b, net.tail)).detach()

    # phase 0: FISTA step from y⁰ = x⁰ with μ₀ = softplus(0.1), θ₀ = softplus(−2); momentum ρ₀ = 0
    b_mu, b_th = float(net.step_affine[1]), float(net.threshold_affine[1])
    mu0, th0 = np.log1p(np.exp(b_mu)), np.log1p(np.exp(b_th))
    r0 = x0.numpy().reshape(-1) - mu0 * phi.T @ (phi @ x0.numpy().reshape(-1) - yn)
    x1 = prox(torch.from_numpy(r0.reshape(1, 1, 33, 33)), th0)
    out0 = net.phase(0, x0, x0, gradient)
    np.testing.assert_allclose(out0["r"].detach().numpy().reshape(-1), r0, atol=1e-12)
    np.testing.assert_allclose(out0["x"].detach().numpy(), x1.numpy(), atol=1e-12)
    np.testing.assert_allclose(out0["y"].detach().numpy(), x1.numpy(), atol=1e-12)
    # phase 1: momentum ρ₁ = (sp(0.5) − sp(0)) / sp(0.5) on x² − x¹
    out1 = net.phase(1, out0["y"], out0["x"], gradient)
    sp = lambda t: np.log1p(np.exp(t))
    w_rho, b_rho = (float(v) for v in net.momentum_affine)
    rho1 = (sp(w_rho + b_rho) - sp(b_rho)) / sp(w_rho + b_rho)
    x2 = out1["x"].detach()
    np.testing.assert_allclose(out1["y"].detach().numpy(), (x2 + rho1 * (x2 - x1)).numpy(), atol=1e-12)


def test_fista_net_lane_runs_its_trained_phases_then_ends():
    problem = make_problem("cs", ratio=25)
    net = FISTANet.from_state_dict(load_state("fista_net"))
    steps = list(SOLVERS.get_entry("fista_net").factory(problem))  # the generator ends by itself
    assert [s.k for s in steps] == list(range(1, net.n_phases + 1))
    assert [s.info["ended"] for s in steps] == [False] * (net.n_phases - 1) + [True]
    torch.testing.assert_close(steps[-1].info["step"].float(), net.scalars(net.n_phases - 1)[0].float())
    assert psnr(steps[-1].x, problem.x_true) > psnr(problem.x0, problem.x_true) + 3.0
    assert set(steps[0].extras) == {"input", "output", "residual"}


# --- ADMM-Net ----------------------------------------------------------------------------------


def dense_circular_conv(filt: np.ndarray, n: int) -> np.ndarray:
    """Matrix of v ↦ Σ_ab f[a,b] v[i − (a−1), j − (b−1)] (circular) on n×n images."""
    mat = np.zeros((n * n, n * n))
    for col in range(n * n):
        e = np.zeros(n * n)
        e[col] = 1.0
        e = e.reshape(n, n)
        out = sum(filt[a, b] * np.roll(e, (a - 1, b - 1), axis=(0, 1)) for a in range(3) for b in range(3))
        mat[:, col] = out.reshape(-1)
    return mat


def test_admm_net_layers_match_dense_admm_updates():
    from core.learned.admm_net.net import ADMMNet
    from core.operators.mri import MRIOperator

    n = 8
    gen = torch.Generator().manual_seed(0)
    mask = (torch.rand(n, n, generator=gen) < 0.4).double()
    mask[0, 0] = 1.0
    op = MRIOperator(mask, (1, n, n))
    x_true = torch.rand(1, n, n, dtype=torch.float64, generator=gen)
    aty = op.adjoint(op.forward(x_true))
    torch.manual_seed(0)
    net = ADMMNet(stages=2).double()
    with torch.no_grad():
        net.coeff_h.add_(0.3 * torch.randn_like(net.coeff_h))
        net.rho.add_(0.1 * torch.rand_like(net.rho))
    ata = np.stack(
        [
            op.adjoint(op.forward(torch.eye(n * n, dtype=torch.float64)[i].reshape(1, n, n))).reshape(-1).numpy()
            for i in range(n * n)
        ],
        axis=1,
    )
    hs = [dense_circular_conv(f, n) for f in net.filters(net.coeff_h[0]).detach().numpy()]
    rho = net.rho[0].detach().numpy()
    system = ata + sum(r * h.T @ h for r, h in zip(rho, hs))
    # first X layer (z = β = 0): x¹ = (AᵀA + Σ ρ_l H_lᵀH_l)⁻¹ Aᵀy
    x1 = net.reconstruct(0, aty[None], op.symmetric_mask, None, None).detach()
    np.testing.assert_allclose(x1.numpy().reshape(-1), np.linalg.solve(system, aty.numpy().reshape(-1)), atol=1e-10)
    # C, Z, M layers at their initial values: c = D x, z = S_PLF(c), β = 1.6 (c − z)
    z, beta = net.stage(0, x1, None)
    ds = [dense_circular_conv(f, n) for f in net.filters(net.coeff_d[0]).detach().numpy()]
    c = np.stack([d @ x1.numpy().reshape(-1) for d in ds])
    grid = np.linspace(-1, 1, 101)  # PLF = interpolated samples of S_0.05
    shrunk = np.interp(c, grid, numpy_soft(grid, 0.05))
    assert np.abs(c).max() < 1
    np.testing.assert_allclose(z.detach().numpy().reshape(len(ds), -1), shrunk, atol=1e-6)
    np.testing.assert_allclose(beta.detach().numpy().reshape(len(ds), -1), 1.6 * (c - shrunk), atol=1e-6)
    # X layer with z, β: right-hand side Aᵀy + Σ ρ_l H_lᵀ(z_l − β_l)
    x2 = net.reconstruct(1, aty[None], op.symmetric_mask, z, beta).detach()
    hs2 = [dense_circular_conv(f, n) for f in net.filters(net.coeff_h[1]).detach().numpy()]
    rho2 = net.rho[1].detach().numpy()
    zb = (z - beta).detach().numpy().reshape(len(hs2), -1)
    rhs = aty.numpy().reshape(-1) + sum(r * h.T @ v for r, h, v in zip(rho2, hs2, zb))
    system2 = ata + sum(r * h.T @ h for r, h in zip(rho2, hs2))
    np.testing.assert_allclose(x2.numpy().reshape(-1), np.linalg.solve(system2, rhs), atol=1e-10)


def test_admm_net_short_training_lowers_loss(tmp_path):
    from core.images import load_image
    from core.learned.admm_net.net import ADMMNet
    from core.learned.admm_net.train import admm_net_loop_spec

    torch.manual_seed(0)
    model = ADMMNet(stages=2)
    images = [torch.as_tensor(load_image("camera", grayscale=True, size=96), dtype=torch.float32)]
    validation = images[0][:64, :64].clone()
    spec = admm_net_loop_spec(model, images, validation)
    gen = torch.Generator().manual_seed(0)
    batch = spec.make_batch(gen, 4)
    before = float(spec.loss(model, batch))
    settings = TrainSettings(
        name="admm_test", epochs=1, out=tmp_path, steps_per_epoch=30, batch_size=4, threads=1, progress=False
    )
    train_loop(settings, model, spec)
    assert float(spec.loss(model, batch)) < before * 0.95
    assert ADMMNet.from_state_dict(load_state("admm_test", tmp_path)).n_stages == 2


def test_admm_net_lane_ends_and_improves_on_zero_filling():
    problem = make_problem("mri", size=64, mask="radial", ratio=20)
    steps = list(SOLVERS.get_entry("admm_net").factory(problem))
    assert steps[-1].info["ended"] is True and len(steps) >= 2
    assert psnr(steps[-1].x, problem.x_true) > psnr(problem.x0, problem.x_true) + 1.0
    with pytest.raises(ValueError, match="mri"):
        next(SOLVERS.get_entry("admm_net").factory(make_problem("cs")))


# --- differentiable unrolled ADMM ----------------------------------------------------------------


def test_unrolled_admm_untrained_first_iteration_is_admm_with_identity_prox_inpainting():
    problem = make_problem("inpaint", size=32, sigma=0.1, mode="random", keep_rate=0.5)
    lane = SOLVERS.get_entry("unrolled_admm").factory(problem, weights="none")
    s1, s2 = next(lane), next(lane)
    rho = 0.3
    m, y, z0 = (t.numpy() for t in (problem.operator.mask, problem.y, problem.x0))
    x1 = z0  # P = identity, u⁰ = 0
    z1 = (m * y + rho * x1) / (m + rho)  # (AᵀA + ρI)⁻¹(Aᵀy + ρ(x − u)), A = diag(m)
    u1 = z1 - x1
    np.testing.assert_allclose(s1.extras["output"].numpy(), x1, atol=1e-12)
    np.testing.assert_allclose(s1.x.numpy(), z1, atol=1e-12)
    np.testing.assert_allclose(s2.extras["input"].numpy(), z1 + u1, atol=1e-12)
    np.testing.assert_allclose(float(s1.info["rho"]), rho)


def test_unrolled_admm_z_update_matches_dense_solve_for_sr():
    problem = make_problem("sr", size=16, scale=2, method="box")
    lane = SOLVERS.get_entry("unrolled_admm").factory(problem, weights="none")
    step = next(lane)
    n = 16
    a = np.zeros((64, n * n))  # 2×2 block averaging, dense
    for i in range(8):
        for j in range(8):
            for di in range(2):
                for dj in range(2):
                    a[i * 8 + j, (2 * i + di) * n + 2 * j + dj] = 0.25
    rho = 0.5
    x1 = problem.x0.numpy().reshape(-1)
    rhs = a.T @ problem.y.numpy().reshape(-1) + rho * x1
    z1 = np.linalg.solve(a.T @ a + rho * np.eye(n * n), rhs)
    np.testing.assert_allclose(step.x.numpy().reshape(-1), z1, atol=1e-10)


def test_unrolled_admm_short_training_lowers_loss_and_weights_load(tmp_path):
    from core.images import load_image
    from core.learned.unrolled_admm.net import UnrolledADMM
    from core.learned.unrolled_admm.train import unrolled_admm_loop_spec

    torch.manual_seed(0)
    model = UnrolledADMM(iterations=3, features=8, layers=3)
    images = [torch.as_tensor(load_image("camera", grayscale=True, size=96), dtype=torch.float32)]
    spec = unrolled_admm_loop_spec(model, images, images[0][:48, :48].clone())
    gen = torch.Generator().manual_seed(5)
    batches = [spec.make_batch(gen, 4) for _ in range(6)]
    with torch.no_grad():
        before = sum(float(spec.loss(model, b)) for b in batches)
    settings = TrainSettings(
        name="uadmm_test", epochs=1, out=tmp_path, steps_per_epoch=40, batch_size=4, threads=1, progress=False
    )
    train_loop(settings, model, spec)
    with torch.no_grad():
        assert sum(float(spec.loss(model, b)) for b in batches) < 0.9 * before
    loaded = UnrolledADMM.from_state_dict(load_state("uadmm_test", tmp_path))
    assert int(loaded.iterations) == 3 and len(loaded.projector.convs) == 3


def test_unrolled_admm_shipped_lane_beats_initial_estimate_and_continues_as_a_plug_in():
    problem = make_problem("inpaint", size=64, sigma=0.1, mode="random", keep_rate=0.5)
    steps = list(SOLVERS.get_entry("unrolled_admm").factory(problem))  # the unrolled network: 8 iterations
    assert len(steps) == 8 and steps[-1].info["ended"]
    assert psnr(steps[7].x, problem.x_true) > psnr(problem.x0, problem.x_true) + 5.0
    lane = SOLVERS.get_entry("unrolled_admm").factory(problem, stages=0)  # the plug-in use runs on
    steps = [next(lane) for _ in range(10)]
    assert steps[9].k == 10 and not steps[9].info["ended"]
