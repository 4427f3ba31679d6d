"""Trainer ``relaxed_podm``: Relaxed PODM (core.learned.relaxed_podm.net) for non-blind deblurring, end to end.

Data: random 48×48 grayscale patches of the catalogue training images (same list as the
denoiser), each blurred circularly by a kernel drawn from a fixed bank (16 Gaussian kernels,
σ ∈ [0.8, 2.5] px, and 32 random camera-shake kernels, path length 5–25 px and side ≤ 29 px,
from core.operators.kernels — the Levin et al. kernels are 13–27 px camera shakes), plus
Gaussian noise σ ~ U[0.5 %, 2 %] (one σ per batch).
Loss: ½·mean‖x^L − x‖² after the L stages. g = χ_Ω, the paper's Ω = {‖u‖₀ ≤ s, min o ≤ u ≤ max o}
with s = ⌈KEEP·n⌉ (:class:`core.learned.relaxed_podm.net.SparseBox`).
Validation: ``camera`` at 128 px, Gaussian (σ 1.6, 9×9) and one motion kernel, 1 % noise.

CPU default (about 45 minutes on one thread): 6 stages, 32 features, 20 epochs × 150 steps, batch 8.
GPU setting: 6 stages, 32 features, 96×96 patches, 40 epochs × 500 steps, batch 32.
"""

from __future__ import annotations

import math

import torch

from ...operators import kernels as kernel_lib
from ..training import register_trainer
from ..training.common import (
    TRAIN_IMAGES,
    LoopSpec,
    TrainSettings,
    batch_psnr,
    load_training_images,
    load_validation_image,
    random_patches,
    train_loop,
)
from .lane import KEEP
from .net import RelaxedPODM, SparseBox, kernel_otf

PATCH = 48
STAGES = 6
FEATURES = 32
MAX_KERNEL = 29
NOISE_RANGE = (0.005, 0.02)
VALIDATION_NOISE = 0.01


def kernel_bank(seed: int = 7) -> list[torch.Tensor]:
    """16 Gaussian and 32 camera-shake kernels (float32, odd sides ≤ MAX_KERNEL), fixed by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    bank = []
    for i in range(16):
        sigma = 0.8 + 1.7 * i / 15
        size = min(2 * math.ceil(3 * sigma) + 1, 17)
        bank.append(torch.as_tensor(kernel_lib.gaussian_kernel(sigma, size), dtype=torch.float32))
    while len(bank) < 48:
        length = 5.0 + 20.0 * float(torch.rand(1, generator=gen))
        k = kernel_lib.motion_kernel(length, gen, n_steps=500)
        if k.shape[0] <= MAX_KERNEL:
            bank.append(torch.as_tensor(k, dtype=torch.float32))
    return bank


def blur_circular(images: torch.Tensor, otf: torch.Tensor) -> torch.Tensor:
    """k ⊛ x (circular) for a batch (N, 1, H, W) with OTFs (N, 1, H, W//2+1)."""
    return torch.fft.irfft2(otf * torch.fft.rfft2(images), s=images.shape[-2:])


def rpodm_loop_spec(images, validation: torch.Tensor, model: RelaxedPODM, bank, patch: int = PATCH) -> LoopSpec:
    """LoopSpec training ``model`` on blurred noisy patches; validating on ``validation``."""
    otfs = torch.stack([kernel_otf(k, (patch, patch)) for k in bank])[:, None]  # (K, 1, P, P//2+1)
    val_kernels = [
        torch.as_tensor(kernel_lib.gaussian_kernel(1.6, 9), dtype=torch.float32),
        torch.as_tensor(
            kernel_lib.motion_kernel(11.0, torch.Generator().manual_seed(3), n_steps=500), dtype=torch.float32
        ),
    ]
    val_clean = validation[None, None]
    val_otfs = [kernel_otf(k, tuple(validation.shape))[None, None] for k in val_kernels]
    val_noise = torch.randn(val_clean.shape, generator=torch.Generator().manual_seed(99))

    def make_batch(generator: torch.Generator, batch_size: int):
        clean = random_patches(images, batch_size, patch, generator)
        otf = otfs[torch.randint(len(bank), (batch_size,), generator=generator)]
        sigma = NOISE_RANGE[0] + (NOISE_RANGE[1] - NOISE_RANGE[0]) * torch.rand((), generator=generator)
        observed = blur_circular(clean, otf) + sigma * torch.randn(clean.shape, generator=generator)
        return observed, otf, sigma, clean

    def run(net, observed, otf, sigma):
        lipschitz = (otf.abs() ** 2).amax(dim=(-2, -1), keepdim=True)
        return net(observed, otf, sigma, SparseBox.of_observation(KEEP, observed), lipschitz)

    def loss(net, batch):
        observed, otf, sigma, clean = batch
        return 0.5 * ((run(net, observed, otf, sigma) - clean) ** 2).mean()

    def validate(net, device):
        clean = val_clean.to(device)
        sigma = torch.tensor(VALIDATION_NOISE, device=device)
        out = {}
        for name, otf in zip(("gauss", "motion"), val_otfs):
            otf = otf.to(device)
            observed = blur_circular(clean, otf) + VALIDATION_NOISE * val_noise.to(device)
            out[f"psnr_{name}"] = batch_psnr(run(net, observed, otf, sigma), clean)
            out[f"psnr_{name}_input"] = batch_psnr(observed, clean)
        out["psnr"] = 0.5 * (out["psnr_gauss"] + out["psnr_motion"])
        return out

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=150,
        batch_size=8,
        grad_clip=1.0,
        meta={
            "class": "RelaxedPODM",
            **model.config(),
            "constraint": {"name": "sparse_box", "keep": KEEP, "box": "[min o, max o]"},
        },
        data={
            "train_images": list(TRAIN_IMAGES),
            "patch": patch,
            "kernels": f"16 Gaussian (sigma 0.8-2.5 px) + 32 camera-shake (length 5-25 px, side <= {MAX_KERNEL}), "
            "seed 7",
            "noise": f"gaussian, sigma ~ U{list(NOISE_RANGE)} per batch",
            "boundary": "circular",
            "validation": "camera 128 px; Gaussian 1.6 px 9x9 and motion 11 px (seed 3); noise 1 %",
        },
    )


@register_trainer(
    "relaxed_podm", doc="Relaxed PODM for non-blind deblurring (learned A, μ, filters, step)", default_epochs=20
)
def train_relaxed_podm(settings: TrainSettings) -> dict:
    """Train Relaxed PODM and write resources/weights/relaxed_podm.pt + relaxed_podm.log."""
    torch.manual_seed(settings.seed)
    model = RelaxedPODM(stages=STAGES, features=FEATURES)
    images = load_training_images()
    validation = load_validation_image(128)
    return train_loop(settings, model, rpodm_loop_spec(images, validation, model, kernel_bank()))
