"""Trainer ``unrolled_admm``: one projector for four problems, 8 unrolled ADMM iterations (tied).

Problems (one drawn per batch, fresh mask each time, as in the BMVC 2019 setup):
pixelwise inpainting + denoising (keep 50 %, σ = 0.1, ρ = 0.3), centre box (side 0.3, ρ = 0.2),
scattered blocks (10 boxes of side 0.1, ρ = 0.3), ×2 box super-resolution (ρ = 0.5).
Data: random 48×48 crops of the catalogue training images. Loss: mean ‖z^8 − x*‖².
Validation: mean PSNR over the four problems on ``camera`` (96 px, fixed masks and noise).

CPU default: projector 5 convs × 16 features, 8 epochs × 100 steps, batch 4 (minutes; the shipped
weights: 4 epochs, resumed with ``--resume --epochs 8``). The
paper's scale (GPU): ``--device cuda --epochs 100 --steps-per-epoch 500 --batch-size 32`` with
64×64 crops and a wider projector (``FEATURES``).
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
from .net import UnrolledADMM

CROP = 48
FEATURES = 16
#: (label, degradation, params, noise σ, ρ)
PROBLEMS = (
    ("pixelwise inpainting + denoising", "inpaint", {"mode": "random", "keep_rate": 0.5}, 0.1, 0.3),
    ("centre box", "inpaint", {"mode": "center", "box_fraction": 0.3}, 0.0, 0.2),
    ("scattered blocks", "inpaint", {"mode": "blocks", "n_blocks": 10, "block_fraction": 0.1}, 0.0, 0.3),
    ("super-resolution x2", "sr", {"scale": 2, "method": "box"}, 0.0, 0.5),
)


def make_operator(index: int, size: int, generator: torch.Generator):
    """Operator of problem ``index`` of :data:`PROBLEMS` for size×size images (float32)."""
    _, name, params, _, _ = PROBLEMS[index]
    entry = DEGRADATIONS.get_entry(name)
    return entry.factory((1, size, size), entry.resolve(params), generator).to(dtype=torch.float32)


def observe(operator, clean: torch.Tensor, sigma: float, generator: torch.Generator):
    """(z⁰, Aᵀy) as (N, 1, H, W) images for clean images (N, 1, H, W)."""
    y = operator.forward(clean[:, 0])
    if sigma:
        y = y + sigma * torch.randn(y.shape, generator=generator, dtype=y.dtype)
    return operator.initial_estimate(y)[:, None], operator.adjoint(y)[:, None]


def unrolled_admm_loop_spec(model: UnrolledADMM, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec training ``model`` on :data:`PROBLEMS`."""
    val_gen = torch.Generator().manual_seed(11)
    size = validation.shape[-1]
    val_cases = []
    for i in range(len(PROBLEMS)):
        op = make_operator(i, size, val_gen)
        val_cases.append((op, *observe(op, validation[None, None], PROBLEMS[i][3], val_gen), PROBLEMS[i][4]))

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, CROP, generator)
        index = int(torch.randint(len(PROBLEMS), (1,), generator=generator))
        op = make_operator(index, CROP, generator)
        z0, aty = observe(op, clean, PROBLEMS[index][3], generator)
        return clean, z0, aty, op, PROBLEMS[index][4]

    def loss(net, batch):
        clean, z0, aty, op, rho = batch
        op.to(device=clean.device)
        return ((net(z0, aty, op, rho) - clean) ** 2).mean()

    def validate(net, device):
        scores = {}
        for (label, *_), (op, z0, aty, rho) in zip(PROBLEMS, val_cases):
            op.to(device=device)
            out = net(z0.to(device), aty.to(device), op, rho)
            scores[label.split()[0]] = batch_psnr(out[:, 0], validation[None].to(device))
        scores["psnr"] = sum(scores.values()) / len(scores)
        return scores

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=100,
        batch_size=4,
        grad_clip=1.0,
        meta={"class": "UnrolledADMM", "iterations": int(model.iterations), "features": FEATURES},
        data={
            "train": f"random {CROP}x{CROP} crops of the catalogue training images",
            "problems": [p[0] for p in PROBLEMS],
            "validation": "camera (96 px), fixed masks/noise",
        },
    )


@register_trainer(
    "unrolled_admm",
    default_epochs=8,
    doc="differentiable unrolled ADMM, one projector for inpainting/denoising/SR (8 tied iterations)",
)
def train_unrolled_admm(settings: TrainSettings) -> dict:
    """Train the unrolled-ADMM projector; write resources/weights/unrolled_admm.pt + .log."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = UnrolledADMM(8, FEATURES)
    validation = load_validation_image(96)
    return train_loop(settings, model, unrolled_admm_loop_spec(model, load_training_images(), validation))
