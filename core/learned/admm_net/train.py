"""Trainer ``admm_net``: Deep ADMM-Net (5 stages, 8 filters) for CS-MRI on the project's masks.

Data: random 64×64 crops of the catalogue training images as real "MR images"; every batch
draws a mask from core.operators.mri (radial, cartesian or gaussian; ratio U[15, 40] %), so one
network serves all of them. Loss: NMSE ‖x̂ − x‖/‖x‖ (the paper's). Validation: PSNR on ``camera``
(128 px) with a radial 20 % mask.

CPU default: 4 epochs × 100 steps, batch 4 (a few minutes). The paper trains 256×256 brain MR
images with L-BFGS; a GPU setting closer to it: ``--device cuda --epochs 50 --batch-size 16``.
"""

from __future__ import annotations

import torch

from ...operators.mri import mri_factory
from ..training import register_trainer
from ..training.common import (
    LoopSpec,
    TrainSettings,
    batch_psnr,
    random_patches,
    train_loop,
)
from .net import ADMMNet

CROP = 64
MASKS = ("radial", "cartesian", "gaussian")


def random_mri_operator(shape: tuple[int, int], generator: torch.Generator):
    """An MRI operator with a random mask kind and ratio in [15, 40] %."""
    kind = MASKS[int(torch.randint(len(MASKS), (1,), generator=generator))]
    ratio = 15.0 + 25.0 * float(torch.rand(1, generator=generator))
    return mri_factory((1, *shape), {"mask": kind, "ratio": ratio, "center_fraction": 0.08}, generator)


def admm_net_loop_spec(model: ADMMNet, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec training ``model`` on random-mask MRI of crops of ``images``."""
    val_op = mri_factory(
        (1, *validation.shape),
        {"mask": "radial", "ratio": 20.0, "center_fraction": 0.08},
        torch.Generator().manual_seed(3),
    )

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, CROP, generator)
        op = random_mri_operator((CROP, CROP), generator)
        return clean, op.adjoint(op.forward(clean.double())).float(), op.symmetric_mask.float()

    def loss(net, batch):
        clean, aty, mask_sym = batch
        err = (net(aty, mask_sym) - clean).flatten(1).norm(dim=1) / clean.flatten(1).norm(dim=1)
        return err.mean()

    def validate(net, device):
        op = val_op
        clean = validation[None, None].double()
        aty = op.adjoint(op.forward(clean)).float().to(device)
        out = net(aty, op.symmetric_mask.float().to(device))
        return {"psnr": batch_psnr(out[:, 0], validation[None].to(device))}

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=2e-3,
        lr_floor=0.05,
        steps_per_epoch=100,
        batch_size=4,
        meta={"class": "ADMMNet", "stages": model.n_stages, "filters": model.rho.shape[1]},
        data={
            "train": "random 64x64 crops of the catalogue training images (real images)",
            "masks": "radial / cartesian / gaussian, ratio U[15, 40] %, one per batch",
            "validation": "camera (128 px), radial 20 %",
        },
    )


@register_trainer("admm_net", default_epochs=4, doc="Deep ADMM-Net (5 stages, 8 DCT-initialised filters), CS-MRI")
def train_admm_net(settings: TrainSettings) -> dict:
    """Train ADMM-Net; write resources/weights/admm_net.pt + .log."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = ADMMNet()
    validation = load_validation_image(128)
    return train_loop(settings, model, admm_net_loop_spec(model, load_training_images(), validation))
