"""Trainer ``dncnn``: the noise-level-aware dilated CNN denoiser (core.learned.dncnn.net).

Data: random 40×40 grayscale patches of scikit-image catalogue images (``TRAIN_IMAGES``),
augmented by flips and 90° rotations; each patch gets Gaussian noise with σ ~ U[0, 50/255].
Loss: ½·mean‖D(x + σn, σ) − x‖². Validation: PSNR on the held-out ``camera`` image (256 px)
at σ = 15, 25, 50 /255 with fixed noise.

CPU default (≈15 min on 2 free cores): 24 features, 5 epochs × 200 steps, batch 10.
The shipped weights were then continued with ``--resume --epochs 12`` (a warm restart of the
cosine schedule, 1400 more steps); the log next to the weights lists every epoch.
GPU setting (documented, closer to IRCNN): ``--device cuda`` with 64 features, 50 epochs ×
1000 steps, batch 64 (edit ``FEATURES``/pass ``steps_per_epoch``/``batch_size`` in settings).
"""

from __future__ import annotations

import torch

from ..training import register_trainer
from ..training.common import (  # noqa: F401
    TRAIN_IMAGES,
    VALIDATION_IMAGE,
    LoopSpec,
    TrainSettings,
    batch_psnr,
    load_training_images,
    load_validation_image,
    random_patches,
    train_loop,
)
from .net import DilatedDenoiser

VALIDATION_SIGMAS = (15 / 255, 25 / 255, 50 / 255)
SIGMA_MAX = 50 / 255
PATCH = 40
FEATURES = 24


def denoiser_loop_spec(
    images: list[torch.Tensor], validation: torch.Tensor, model: DilatedDenoiser, patch: int = PATCH
) -> LoopSpec:
    """LoopSpec for training ``model`` on noisy patches of ``images``; validate on ``validation``."""
    val_clean = validation[None, None]
    noise_gen = torch.Generator().manual_seed(12345)
    val_noise = torch.randn(val_clean.shape, generator=noise_gen)

    def make_batch(generator: torch.Generator, batch_size: int):
        clean = random_patches(images, batch_size, patch, generator)
        sigma = torch.rand(batch_size, generator=generator) * SIGMA_MAX
        noisy = clean + sigma.view(-1, 1, 1, 1) * torch.randn(clean.shape, generator=generator)
        return noisy, sigma, clean

    def loss(net, batch):
        noisy, sigma, clean = batch
        return 0.5 * ((net(noisy, sigma) - clean) ** 2).mean()

    def validate(net, device):
        clean = val_clean.to(device)
        out = {}
        for s in VALIDATION_SIGMAS:
            noisy = clean + s * val_noise.to(device)
            out[f"psnr{round(s * 255)}"] = batch_psnr(net(noisy, s), clean)
        out["psnr"] = out[f"psnr{round(VALIDATION_SIGMAS[1] * 255)}"]
        return out

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=200,
        batch_size=10,
        meta={"class": "DilatedDenoiser", **model.config()},
        data={
            "train_images": list(TRAIN_IMAGES),
            "patch": patch,
            "noise": "gaussian, sigma ~ U[0, 50/255]",
            "augmentation": "flips, 90-degree rotations",
            "validation": f"{VALIDATION_IMAGE} (256 px), sigma 15/25/50 /255, fixed noise seed",
        },
    )


@register_trainer("dncnn", doc="noise-level-aware dilated residual CNN denoiser (IRCNN style)", default_epochs=5)
def train_dncnn(settings: TrainSettings) -> dict:
    """Train the ``dncnn`` denoiser and write resources/weights/dncnn.pt + dncnn.log."""
    torch.manual_seed(settings.seed)
    model = DilatedDenoiser(channels=1, features=FEATURES)
    images = load_training_images()
    validation = load_validation_image(256)
    return train_loop(settings, model, denoiser_loop_spec(images, validation, model))
