"""Trainers ``ista_net_plus_r{10,25,50}``: ISTA-Net⁺ for 33×33 block CS at 10 / 25 / 50 %.

Data: random 33×33 crops (flips, rotations) of the catalogue training images
(core.learned.training.common's ``TRAIN_IMAGES``); every batch draws a fresh random Φ with orthonormal
rows (core.operators.cs.orthonormal_rows), so the network does not depend on one Φ and runs on any
problem's Φ; x⁰ = Φᵀy. Loss: symmetric loss (ISTA-Net eq. 15, γ = 0.01). Validation: PSNR on
``camera`` (132 px, 4×4 blocks) with a fixed Φ.

CPU default: 9 phases × 8 features, 10 epochs × 100 steps, batch 8 (≈ 8 min per ratio on one
free core; the shared machine is slower). The paper's setting (GPU): ``--device cuda --epochs 200 --steps-per-epoch 1400
--batch-size 64`` with ``FEATURES = 32``. The shipped ISTA-Net⁺ weights were trained 4 epochs and
resumed (``--resume --epochs 10``) to 10.
"""

from __future__ import annotations

import torch

from ...operators.cs import BlockCS, orthonormal_rows
from ..training import register_trainer
from ..training.common import (
    LoopSpec,
    TrainSettings,
    batch_psnr,
    random_patches,
    train_loop,
)
from .net import ISTANetPlus, symmetric_loss

BLOCK = 33
PHASES = 9
FEATURES = 8
RATIOS = (10, 25, 50)


def measurements(ratio: float) -> int:
    """m = round(ratio/100 · 1089), as core.operators.cs does."""
    return max(1, round(ratio / 100.0 * BLOCK * BLOCK))


def block_cs_gradient(operator, y):
    """x ↦ Aᵀ(Ax − y) for images x of shape (N, 1, H, W) (channels-as-batch layout)."""
    return lambda x: operator.adjoint(operator.forward(x[:, 0]) - y)[:, None]


def ista_net_loop_spec(model: ISTANetPlus, ratio: float, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec training ``model`` at sampling ``ratio`` (%)."""
    m = measurements(ratio)
    val_op = BlockCS(
        orthonormal_rows(m, BLOCK * BLOCK, torch.Generator().manual_seed(7)), BLOCK, (1,) + tuple(validation.shape)
    ).to(dtype=torch.float32)

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, BLOCK, generator)
        phi = orthonormal_rows(m, BLOCK * BLOCK, generator).float()
        return clean, phi

    def loss(net, batch):
        clean, phi = batch
        op = BlockCS(phi, BLOCK, (clean.shape[0], BLOCK, BLOCK))
        y = op.forward(clean[:, 0])
        out, residuals = net(op.adjoint(y)[:, None], block_cs_gradient(op, y))
        return symmetric_loss(out, clean, residuals)

    def validate(net, device):
        op = val_op.to(device=device)
        clean = validation.to(device)[None]
        y = op.forward(clean)
        out, _ = net(op.adjoint(y)[:, None], block_cs_gradient(op, y))
        return {"psnr": batch_psnr(out[:, 0], clean)}

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=100,
        batch_size=8,
        grad_clip=1.0,
        meta={"class": "ISTANetPlus", "phases": model.n_phases, "features": FEATURES, "ratio": ratio, "block": BLOCK},
        data={
            "train": "random 33x33 crops of the catalogue training images, fresh Phi per batch",
            "validation": "camera (132 px), fixed Phi",
            "x0": "Phi^T y",
        },
    )


def train_ista_net(settings: TrainSettings, ratio: float) -> dict:
    """Train ISTA-Net⁺ at ``ratio`` %; write weights + log."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = ISTANetPlus(PHASES, FEATURES)
    validation = load_validation_image(132)
    return train_loop(settings, model, ista_net_loop_spec(model, ratio, load_training_images(), validation))


def _register(ratio: int) -> None:
    @register_trainer(
        f"ista_net_plus_r{ratio}",
        default_epochs=10,
        doc=f"ISTA-Net+ (9 phases, {FEATURES} features), 33x33 block CS at {ratio} %",
    )
    def _train(settings: TrainSettings) -> dict:
        return train_ista_net(settings, ratio)


for _ratio in RATIOS:
    _register(_ratio)
