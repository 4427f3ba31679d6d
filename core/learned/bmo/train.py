"""Trainers ``bmo_sparse`` (sparse-coding toy) and ``bmo_deconv`` (image deconvolution).

Both run Algorithm 1 of BMO: the K inner steps (training variables u) are unrolled and the
hyper-training variables ω (N_ω, μ, s₀) are updated by Adam on the supervised loss of u^K.

``bmo_sparse``: A ∈ R^{64×128} Gaussian with unit columns (seed 0), u* 10 % sparse with N(0, 1)
entries, y = A u* + 0.01 n, λ = 0.05, K = 10; loss mean ‖u^K − u*‖². CPU default 5 × 200 steps.
``bmo_deconv``: Gaussian blur (σ = 1.6, 9×9) + noise σ = 0.01 on random 48×48 crops of the
catalogue training images, λ = 0.002 (db4 ℓ1, 3 levels: the ``l1_wavelet`` defaults of the blur
preset's FISTA lane), K = 8, N_ω = 5 convs × 16 features. The loss is the distance of the
iterates to u* = Fix(𝒯) (a long FISTA run on the same objective): BMO's lower level has the single
solution u*, so what training can buy is reaching it fast — a loss against the clean image would
make u^K overshoot u* and the untrained layers then fall back to it (PSNR decreasing past K).
CPU default 6 × 100 steps, batch 4. GPU: ``--device cuda --epochs 50 --batch-size 32``.
"""

from __future__ import annotations

import torch

from ...registry import DEGRADATIONS
from ..training import register_trainer
from ..training.common import (
    LoopSpec,
    TrainSettings,
    batch_psnr,
    random_patches,
    train_loop,
)
from .net import BMODeconv, BMOSparse

SPARSE_SHAPE = (64, 128)
SPARSE_LAYERS = 10
SPARSE_LAM = 0.05
CROP = 48
BLUR = {"kernel": "gaussian", "kernel_sigma": 1.6, "kernel_size": 9}
NOISE = 0.01
FIXED_POINT_ITERATIONS = 400
POOL = 384  # training crops with their fixed points (computed once; 8 dihedral flips each)


def sparse_problem_matrix() -> torch.Tensor:
    """The toy's A (64×128, unit-norm columns, seed 0)."""
    a = torch.randn(*SPARSE_SHAPE, generator=torch.Generator().manual_seed(0))
    return a / a.norm(dim=0, keepdim=True)


def sparse_samples(matrix: torch.Tensor, count: int, generator: torch.Generator):
    """(y, u*) pairs: u* 10 % sparse, y = A u* + 0.01 n."""
    m = matrix.shape[1]
    codes = torch.randn(count, m, generator=generator) * (torch.rand(count, m, generator=generator) < 0.1)
    return codes @ matrix.T + 0.01 * torch.randn(count, matrix.shape[0], generator=generator), codes


def snr_db(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """10 log10(‖u*‖² / ‖u − u*‖²) averaged over rows."""
    return (10 * torch.log10((reference**2).sum(1) / ((estimate - reference) ** 2).sum(1))).mean()


@register_trainer("bmo_sparse", default_epochs=5, doc="BMO sparse-coding toy (64x128 lasso, K = 10)")
def train_bmo_sparse(settings: TrainSettings) -> dict:
    """Train the BMO toy; write resources/weights/bmo_sparse.pt + .log."""
    torch.manual_seed(settings.seed)
    model = BMOSparse(sparse_problem_matrix(), SPARSE_LAM, SPARSE_LAYERS)
    val_y, val_u = sparse_samples(model.matrix, 500, torch.Generator().manual_seed(99))

    def make_batch(generator, batch_size):
        return sparse_samples(model.matrix, batch_size, generator)

    def loss(net, batch):
        y, u = batch
        return ((net.run(y, SPARSE_LAYERS)[-1] - u) ** 2).sum(1).mean()

    def validate(net, device):
        est = net.run(val_y.to(device), SPARSE_LAYERS)[-1]
        return {"psnr": snr_db(est, val_u.to(device)), "mu": net.mu}

    spec = LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=2e-3,
        steps_per_epoch=200,
        batch_size=64,
        meta={"class": "BMOSparse", "layers": SPARSE_LAYERS, "lam": SPARSE_LAM},
        data={
            "train": "synthetic 10 % sparse codes, A 64x128 Gaussian, noise 0.01",
            "validation": "500 fixed samples; 'psnr' is the code SNR in dB",
        },
    )
    return train_loop(settings, model, spec)


def fixed_point(operator, y: torch.Tensor, prior, iterations: int = FIXED_POINT_ITERATIONS) -> torch.Tensor:
    """Fix(𝒯) = argmin ½‖Au − y‖² + g(u) by the registered FISTA (``iterations`` steps from Aᵀy), (N, H, W)."""
    from ...problem import Problem
    from ...registry import SOLVERS

    problem = Problem(operator=operator, y=y, x0=operator.adjoint(y))
    lane = SOLVERS.get_entry("fista").factory(problem, prior=prior, step_size=None)
    for _ in range(iterations):
        step = next(lane)
    return step.x


def fixed_point_pool(images, operator, prior, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """POOL random crops: observations y (N, H, W) and their fixed points u* (N, 1, H, W)."""
    ys, stars = [], []
    for _ in range(POOL // 64):
        clean = random_patches(images, 64, CROP, generator)
        y = operator.forward(clean[:, 0])
        y = y + NOISE * torch.randn(y.shape, generator=generator)
        with torch.no_grad():
            stars.append(fixed_point(operator, y, prior)[:, None])
        ys.append(y)
    return torch.cat(ys), torch.cat(stars)


def deconv_loss(net: BMODeconv, u0, operator, y, lipschitz, target) -> torch.Tensor:
    """½(‖u^K − u*‖² + mean_k ‖u^k − u*‖²) per pixel: reach the fixed point u* fast and stay near it."""
    iterates = net.trajectory(u0, operator, y, lipschitz)
    errors = torch.stack([((u - target) ** 2).mean() for u in iterates])
    return 0.5 * (errors[-1] + errors.mean())


@register_trainer("bmo_deconv", default_epochs=6, doc="BMO for deconvolution (Gaussian blur, K = 8)")
def train_bmo_deconv(settings: TrainSettings) -> dict:
    """Train BMO for deblurring; write resources/weights/bmo_deconv.pt + .log."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = BMODeconv()
    prior = model.prior()
    images = load_training_images()
    entry = DEGRADATIONS.get_entry("blur")
    params = entry.resolve(BLUR)
    train_op = entry.factory((1, CROP, CROP), params, torch.Generator().manual_seed(0)).to(dtype=torch.float32)
    validation = load_validation_image(96)
    val_op = entry.factory((1, 96, 96), params, torch.Generator().manual_seed(0)).to(dtype=torch.float32)
    val_y = val_op.forward(validation[None]) + NOISE * torch.randn(
        (1, 96, 96), generator=torch.Generator().manual_seed(5)
    )
    val_star = fixed_point(val_op, val_y, prior)[:, None]
    lip_train, lip_val = train_op.lipschitz(), val_op.lipschitz()

    pool_y, pool_star = fixed_point_pool(images, train_op, prior, torch.Generator().manual_seed(settings.seed + 1))

    def make_batch(generator, batch_size):
        index = torch.randint(len(pool_y), (batch_size,), generator=generator)
        y, star = pool_y[index], pool_star[index]
        turns, flip = int(torch.randint(4, (), generator=generator)), bool(torch.randint(2, (), generator=generator))
        y, star = torch.rot90(y, turns, (-2, -1)), torch.rot90(star, turns, (-2, -1))  # the kernel is symmetric:
        return (y.flip(-1), star.flip(-1)) if flip else (y, star)  # (y, u*) stays a pair

    def loss(net, batch):
        y, star = batch
        train_op.to(device=y.device)
        return deconv_loss(net, train_op.adjoint(y)[:, None], train_op, y, lip_train, star)

    def validate(net, device):
        val_op.to(device=device)
        y = val_y.to(device)
        out = net(val_op.adjoint(y)[:, None], val_op, y, lip_val)
        return {
            "psnr": batch_psnr(out[:, 0], val_star[:, 0].to(device)),
            "psnr_truth": batch_psnr(out[:, 0], validation[None].to(device)),
            "mu": net.mu,
            "s": net.step,
        }

    spec = LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        steps_per_epoch=100,
        batch_size=4,
        grad_clip=1.0,
        meta={"class": "BMODeconv", **model.config()},
        data={
            "train": f"{POOL} random {CROP}x{CROP} crops (+ 8 flips), Gaussian blur 1.6 (9x9), noise {NOISE}",
            "target": f"u* = {FIXED_POINT_ITERATIONS} FISTA iterations on the same objective",
            "validation": "camera (96 px); 'psnr' is PSNR(u^K, u*), 'psnr_truth' PSNR(u^K, x)",
        },
    )
    return train_loop(settings, model, spec)
