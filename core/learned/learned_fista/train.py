"""Trainers ``learned_fista_<degradation>``: the 3K scalars of learned FISTA, one set per degradation.

Problems: every built-in degradation at the parameters and noise level of its example preset
(:data:`PROBLEMS`; sessions/examples/*.toml), with a fresh operator (mask, Φ, noise) per batch.
Initialisation: FISTA with the preset's wavelet-ℓ1 weight λ (s_k = 1, FISTA's β_k, θ_k = λ/L),
so training starts from K FISTA iterations. Data: random 64×64 crops of the catalogue training
images (core.learned.training.common); validation: ``camera`` (128 px) with a fixed operator
and noise, whose log also shows FISTA's PSNR after K iterations (``fista_psnr``).
Loss: mean ‖x^K − x*‖² on the image.

CPU default: 6 epochs × 30 steps, batch 6, one thread (one to four minutes per degradation); the
shipped cs and sr weights were resumed to 12 epochs (`--resume --epochs 12`), the others are the default.
"""

from __future__ import annotations

import torch

from ...problem import add_noise
from ...registry import DEGRADATIONS
from ..training import register_trainer
from ..training.common import LoopSpec, TrainSettings, batch_psnr, random_patches, train_loop
from .net import LearnedFISTA, wavelet_shrink

STAGES = 10
CROP = 64
VALIDATION_SIZE = 128
WAVELET, LEVELS = "db4", 3
#: degradation -> (params, noise σ, initial λ): the example presets' settings
PROBLEMS = {
    "blur": ({"kernel": "gaussian", "kernel_sigma": 1.6, "kernel_size": 9}, 0.01, 0.002),
    "inpaint": ({"mode": "random", "keep_rate": 0.5}, 0.01, 0.005),
    "cs": ({"ratio": 25, "block": 33}, 0.005, 0.01),
    "sr": ({"scale": 2, "method": "bicubic"}, 0.005, 0.001),
    "mri": ({"mask": "cartesian", "ratio": 25, "center_fraction": 0.08}, 0.005, 0.005),
    "denoise": ({}, 0.1, 0.08),
    "sparse_sr": ({"scale": 2, "levels": 3, "wavelet": "db4"}, 0.0, 1e-4),
}


def make_operator(degradation: str, size: int, generator: torch.Generator):
    """The operator of ``degradation`` (its :data:`PROBLEMS` parameters) for size×size images, float32."""
    entry = DEGRADATIONS.get_entry(degradation)
    params = entry.resolve(PROBLEMS[degradation][0])
    return entry.factory((1, size, size), params, generator).to(dtype=torch.float32)


class Case:
    """One training or validation problem: operator, clean images, y, x⁰ (batch (N, 1, H, W))."""

    def __init__(self, degradation: str, clean: torch.Tensor, generator: torch.Generator):
        self.operator = make_operator(degradation, clean.shape[-1], generator)
        self.clean = clean
        sigma = PROBLEMS[degradation][1]
        self.y = add_noise(self.operator.forward(self.operator.from_image(clean)), sigma, generator)
        self.x0 = self.operator.initial_estimate(self.y)
        self.lipschitz = float(self.operator.lipschitz())
        self.shrink = wavelet_shrink(WAVELET, LEVELS, self.operator)

    def gradient(self, v: torch.Tensor) -> torch.Tensor:
        """Aᵀ(Av − y)."""
        return self.operator.adjoint(self.operator.forward(v) - self.y)

    def run(self, net: LearnedFISTA) -> torch.Tensor:
        """The network's image estimate after its K stages."""
        return self.operator.to_image(net(self.x0, self.gradient, self.shrink, self.lipschitz))


def learned_fista_loop_spec(degradation: str, model: LearnedFISTA, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec training ``model`` for ``degradation``."""
    params, sigma, lam = PROBLEMS[degradation]
    val_case = Case(degradation, validation[None, None], torch.Generator().manual_seed(11))
    with torch.no_grad():
        fista = LearnedFISTA.from_fista(model.stages, lam, val_case.lipschitz, WAVELET, LEVELS)
        fista_psnr = float(batch_psnr(val_case.run(fista), val_case.clean))

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, CROP, generator)
        return (Case(degradation, clean, generator),)

    def loss(net, batch):
        (case,) = batch
        return ((case.run(net) - case.clean) ** 2).mean()

    def validate(net, device):
        return {"psnr": batch_psnr(val_case.run(net), val_case.clean), "fista_psnr": fista_psnr}

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=0.03,
        lr_floor=0.05,
        steps_per_epoch=30,
        batch_size=6,
        meta={
            "class": "LearnedFISTA",
            "stages": model.stages,
            "wavelet": WAVELET,
            "levels": LEVELS,
            "degradation": degradation,
            "params": params,
            "noise_sigma": sigma,
            "lam": lam,
        },
        data={
            "train": f"random {CROP}x{CROP} crops of the catalogue training images, fresh operator and noise per batch",
            "problem": f"{degradation} {params}, noise sigma {sigma}",
            "initialisation": f"FISTA, l1 {WAVELET} (levels {LEVELS}), lambda {lam}",
            "validation": f"camera ({VALIDATION_SIZE} px), fixed operator and noise",
        },
    )


def train_learned_fista(settings: TrainSettings, degradation: str) -> dict:
    """Train the learned-FISTA scalars for ``degradation``; write weights + log."""
    from ..training.common import load_training_images, load_validation_image

    if settings.device != "cpu":
        raise ValueError("learned_fista trainers run on the CPU (3K scalars); use --device cpu")
    torch.manual_seed(settings.seed)
    lam = PROBLEMS[degradation][2]
    lipschitz = float(make_operator(degradation, CROP, torch.Generator().manual_seed(0)).lipschitz())
    model = LearnedFISTA.from_fista(STAGES, lam, lipschitz, WAVELET, LEVELS)
    spec = learned_fista_loop_spec(degradation, model, load_training_images(), load_validation_image(VALIDATION_SIZE))
    return train_loop(settings, model, spec)


def _register(degradation: str) -> None:
    params, sigma, _ = PROBLEMS[degradation]
    described = f" ({', '.join(f'{k} {v}' for k, v in params.items())})" if params else ""

    @register_trainer(
        f"learned_fista_{degradation}",
        default_epochs=6,
        doc=f"learned FISTA, {STAGES} stages (step, threshold, momentum): {degradation}{described} noise {sigma:g}",
    )
    def _train(settings: TrainSettings) -> dict:
        return train_learned_fista(settings, degradation)


for _degradation in PROBLEMS:
    _register(_degradation)
