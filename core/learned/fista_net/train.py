"""Trainer ``fista_net``: FISTA-Net for 33×33 block CS at 25 %, with ISTA-Net⁺'s data pipeline.

Random-Φ data pipeline (:func:`random_phi_loop_spec`: a fresh Φ per batch, x⁰ = Φᵀy), ISTA-Net⁺'s
symmetric loss and validation on a fixed Φ; the shipped weights were trained 4 epochs on CPU.
"""

from __future__ import annotations

import torch

from ...operators.cs import BlockCS, orthonormal_rows
from ..ista_net_plus.net import data_gradient, symmetric_loss
from ..ista_net_plus.train import BLOCK, measurements
from ..training import register_trainer
from ..training.common import LoopSpec, TrainSettings, batch_psnr, random_patches, train_loop
from .net import FISTANet

FEATURES = 8


def random_phi_loop_spec(ratio: float, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec with a fresh random Φ per batch and x⁰ = Φᵀy, 33×33 crops, ISTA-Net⁺'s symmetric loss."""
    m = measurements(ratio)
    val_op = BlockCS(
        orthonormal_rows(m, BLOCK * BLOCK, torch.Generator().manual_seed(7)), BLOCK, (1,) + tuple(validation.shape)
    ).to(dtype=torch.float32)

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, BLOCK, generator)
        return clean, orthonormal_rows(m, BLOCK * BLOCK, generator).float()

    def loss(net, batch):
        clean, phi = batch
        op = BlockCS(phi, BLOCK, (clean.shape[0], BLOCK, BLOCK))
        y = op.forward(clean[:, 0])
        out, residuals = net(op.adjoint(y)[:, None], data_gradient(op, y))
        return symmetric_loss(out, clean, residuals)

    def validate(net, device):
        op = val_op.to(device=device)
        clean = validation.to(device)[None]
        y = op.forward(clean)
        out, _ = net(op.adjoint(y)[:, None], data_gradient(op, y))
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
        data={
            "train": "random 33x33 crops of the catalogue training images, fresh Phi per batch",
            "validation": "camera (132 px), fixed Phi",
            "x0": "Phi^T y",
        },
    )


@register_trainer(
    "fista_net", default_epochs=4, doc="FISTA-Net (6 phases, shared 8-feature block), 33x33 block CS at 25 %"
)
def train_fista_net(settings: TrainSettings) -> dict:
    """Train FISTA-Net on block CS at 25 % with the ISTA-Net⁺ data pipeline (symmetric loss)."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = FISTANet(6, FEATURES)
    validation = load_validation_image(132)
    spec = random_phi_loop_spec(25, load_training_images(), validation)
    spec.meta = {"class": "FISTANet", "phases": 6, "features": FEATURES, "ratio": 25, "block": BLOCK}
    return train_loop(settings, model, spec)
