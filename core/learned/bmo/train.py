"""Trainers ``bmo_sparse`` (sparse-coding toy) and ``bmo_deconv`` (image deconvolution).

Both run Algorithm 1 of BMO: the K inner steps (training variables u) are unrolled and the
hyper-training variables ω (N_ω, μ, s₀) are updated by Adam on the supervised loss of u^K.

``bmo_sparse``: A ∈ R^{64×128} Gaussian with unit columns (seed 0), u* 10 % sparse with N(0, 1)
entries, y = A u* + 0.01 n, λ = 0.05, K = 10; loss mean ‖u^K − u*‖². CPU default 5 × 200 steps.
``bmo_deconv``: Gaussian blur (σ = 1.6, 9×9) + noise σ = 0.01 on random 48×48 crops of the
catalogue training images, λ = 0.002 (Haar ℓ1), K = 8, N_ω = 5 convs × 16 features; loss
mean ‖u^K − x‖². CPU default 4 × 100 steps, batch 4. GPU: ``--device cuda --epochs 50
--batch-size 32``.
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


@register_trainer("bmo_deconv", default_epochs=4, doc="BMO for deconvolution (Gaussian blur, K = 8)")
def train_bmo_deconv(settings: TrainSettings) -> dict:
    """Train BMO for deblurring; write resources/weights/bmo_deconv.pt + .log."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = BMODeconv()
    images = load_training_images()
    entry = DEGRADATIONS.get_entry("blur")
    params = entry.resolve(BLUR)
    train_op = entry.factory((1, CROP, CROP), params, torch.Generator().manual_seed(0)).to(dtype=torch.float32)
    validation = load_validation_image(96)
    val_op = entry.factory((1, 96, 96), params, torch.Generator().manual_seed(0)).to(dtype=torch.float32)
    val_y = val_op.forward(validation[None]) + NOISE * torch.randn(
        (1, 96, 96), generator=torch.Generator().manual_seed(5)
    )
    lip_train, lip_val = train_op.lipschitz(), val_op.lipschitz()

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, CROP, generator)
        y = train_op.forward(clean[:, 0])
        return clean, y + NOISE * torch.randn(y.shape, generator=generator)

    def loss(net, batch):
        clean, y = batch
        train_op.to(device=clean.device)
        u0 = train_op.adjoint(y)[:, None].clamp(0, 1)
        return ((net(u0, train_op, y, lip_train) - clean) ** 2).mean()

    def validate(net, device):
        val_op.to(device=device)
        y = val_y.to(device)
        out = net(val_op.adjoint(y)[:, None].clamp(0, 1), val_op, y, lip_val)
        return {"psnr": batch_psnr(out[:, 0], validation[None].to(device)), "mu": net.mu}

    spec = LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        steps_per_epoch=100,
        batch_size=4,
        grad_clip=1.0,
        meta={"class": "BMODeconv", "layers": int(model.layers), "lam": float(model.lam)},
        data={
            "train": f"random {CROP}x{CROP} crops, Gaussian blur 1.6 (9x9), noise {NOISE}",
            "validation": "camera (96 px)",
        },
    )
    return train_loop(settings, model, spec)
