"""Trainers ``ista_net_plus_r{10,25,50}``: ISTA-Net⁺ for 33×33 block CS at 10 / 25 / 50 %.

As the paper (§4.1): one fixed Φ per ratio — a Gaussian matrix with orthonormalised rows,
:func:`fixed_phi` (seed 0, the same draw a ``cs`` problem with seed 0 makes) — and x⁰ = Q_init y
with Q_init the least-squares map X Yᵀ(Y Yᵀ)⁻¹ from the training blocks
(:func:`core.learned.ista_net_plus.net.least_squares_init`). Φ and Q_init are buffers of the network,
so they are saved in the weights file (hashed in the manifest) and used by the lane.

Data: luminance of the catalogue training images (core.learned.training.common's ``TRAIN_IMAGES``,
never the benchmark sets). Q_init: all 33×33 blocks at stride 11, with the eight flips/rotations
(the Gram matrix symmetrised over the dihedral group). Training: random 66×66 crops (2×2 blocks, so
the convolutions see block borders as on whole images) with flips and rotations. Loss: symmetric
loss (ISTA-Net eq. 15, γ = 0.01). Validation: PSNR on ``camera`` (132 px, 4×4 blocks) with the same Φ.

The 10 % and 50 % trainers start their phases from the shipped ``ista_net_plus_r25`` weights when
those exist (ρ, θ and the transforms; Φ and Q_init are their own) — the log says so. The shipped
weights' settings are in their logs and ``bench/results/ista_net.md``. The paper's budget (200 epochs
of 88,912 blocks, batch 64 blocks) is ``--device cuda --epochs 200 --steps-per-epoch 1389
--batch-size 16`` (16 crops of 2×2 blocks per step). FISTA-Net's trainer keeps the older random-Φ
pipeline (:mod:`core.learned.fista_net.train`).
"""

from __future__ import annotations

import os

import torch

from ...operators.cs import BlockCS, orthonormal_rows
from ..training import register_trainer
from ..training.common import LoopSpec, TrainSettings, batch_psnr, random_patches, train_loop
from .net import ISTANetPlus, block_gram, data_gradient, least_squares_init, symmetric_loss

BLOCK = 33
PATCH = 2 * BLOCK
PHASES = 9
FEATURES = 32
RATIOS = (10, 25, 50)
PHI_SEED = 0
WARM_START = "ista_net_plus_r25"


def measurements(ratio: float) -> int:
    """m = round(ratio/100 · 1089), as core.operators.cs does."""
    return max(1, round(ratio / 100.0 * BLOCK * BLOCK))


def fixed_phi(ratio: float) -> torch.Tensor:
    """The network's Φ at ``ratio`` %: (m, 1089) float64 with orthonormal rows (seed ``PHI_SEED``)."""
    return orthonormal_rows(measurements(ratio), BLOCK * BLOCK, torch.Generator().manual_seed(PHI_SEED))


def training_gram(images, stride: int = 11) -> tuple[torch.Tensor, int]:
    """X Xᵀ over every 33×33 block at ``stride`` of ``images`` and its 8 flips/rotations; (Gram, N)."""
    gram, count = torch.zeros(BLOCK * BLOCK, BLOCK * BLOCK, dtype=torch.float64), 0
    for img in images:
        blocks = img.unfold(0, BLOCK, stride).unfold(1, BLOCK, stride).reshape(-1, BLOCK * BLOCK)
        gram += block_gram(blocks)
        count += blocks.shape[0]
    index = torch.arange(BLOCK * BLOCK).reshape(BLOCK, BLOCK)
    perms = [torch.rot90(f, r, dims=(0, 1)).reshape(-1) for f in (index, index.T) for r in range(4)]
    return sum(gram[p][:, p] for p in perms), 8 * count


def ista_net_loop_spec(model: ISTANetPlus, ratio: float, images, validation: torch.Tensor) -> LoopSpec:
    """LoopSpec training ``model`` (which holds Φ and Q_init) at sampling ``ratio`` (%)."""
    if model.phi is None or model.phi.shape[0] != measurements(ratio):
        raise ValueError(f"ISTA-Net⁺ trainer: the model needs the Φ of {ratio} % ({measurements(ratio)} rows)")
    phases, features = model.n_phases, model.features

    def run(net, clean):
        op = BlockCS(net.phi, BLOCK, tuple(clean[:, 0].shape))
        y = op.forward(clean[:, 0])
        return net(net.initial(op, y)[:, None], data_gradient(op, y))

    def make_batch(generator, batch_size):
        return (random_patches(images, batch_size, PATCH, generator),)

    def loss(net, batch):
        out, residuals = run(net, batch[0])
        return symmetric_loss(out, batch[0], residuals)

    def validate(net, device):
        clean = validation.to(device)[None, None]
        return {"psnr": batch_psnr(run(net, clean)[0][:, 0], clean[:, 0])}

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=100,
        batch_size=4,
        grad_clip=1.0,
        meta={"class": "ISTANetPlus", "phases": phases, "features": features, "ratio": ratio, "block": BLOCK},
        data={
            "train": f"random {PATCH}x{PATCH} crops (2x2 blocks, flips/rotations) of the catalogue training images",
            "validation": "camera (132 px), the network's Phi",
            "phi": f"fixed Gaussian with orthonormal rows, seed {PHI_SEED} (buffer 'phi' in the weights)",
            "x0": "Q_init y (buffer 'q_init': least squares X Y^T (Y Y^T)^-1 over the training blocks)",
        },
    )


def build_model(
    ratio: float, images, seed: int = 0, phases: int = PHASES, features: int = FEATURES
) -> tuple[ISTANetPlus, dict]:
    """A freshly initialised ISTA-Net⁺ with Φ and Q_init for ``ratio`` and G = 0; (model, notes)."""
    phi = fixed_phi(ratio)
    gram, count = training_gram(images)
    torch.manual_seed(seed)
    model = ISTANetPlus(phases, features, phi, least_squares_init(gram, phi))
    for phase in model.phases:  # G = 0: training starts from x⁰ = Q_init y and plain gradient steps
        torch.nn.init.zeros_(phase.tail.weight)
    return model, {"q_init_blocks": f"{count} blocks (stride 11, 8 flips/rotations)", "tail": "G initialised to 0"}


def warm_start(model: ISTANetPlus, name: str = WARM_START) -> str | None:
    """Copy the phases (not Φ, Q_init) of the shipped weights ``name`` into ``model``; its SHA-256 or None."""
    from ..weights import WeightsError, load_state, read_manifest

    try:
        state = load_state(name)
    except WeightsError:
        return None
    phases = {k: v for k, v in state.items() if k.startswith("phases.")}
    if phases.keys() != {k for k in model.state_dict() if k.startswith("phases.")}:
        return None
    model.load_state_dict(phases, strict=False)
    return read_manifest()[name]["sha256"]


def train_ista_net(settings: TrainSettings, ratio: float) -> dict:
    """Train ISTA-Net⁺ at ``ratio`` %; write weights (with Φ, Q_init) + log."""
    from ..training.common import load_training_images, load_validation_image

    images = load_training_images()
    model, notes = build_model(ratio, images, settings.seed)
    spec = ista_net_loop_spec(model, ratio, images, load_validation_image(132))
    spec.data.update(notes, host=f"{settings.device}: {settings.threads} thread(s), {os.cpu_count()}-core machine")
    if settings.init:
        spec.data.pop("tail")  # G comes from the earlier weights
        spec.data["init"] = f"the weights {settings.init} (settings.init in this log)"
    elif ratio != 25:
        digest = warm_start(model)
        spec.data["init"] = (
            f"phases from {WARM_START} (sha256 {digest})" if digest else "Xavier-normal (no 25 % weights found)"
        )
    else:
        spec.data["init"] = "Xavier-normal (G = 0), rho 0.5, theta 0.01"
    return train_loop(settings, model, spec)


def _register(ratio: int) -> None:
    @register_trainer(
        f"ista_net_plus_r{ratio}",
        default_epochs=10,
        doc=f"ISTA-Net+ (9 phases, {FEATURES} features, fixed Phi, Q_init), 33x33 block CS at {ratio} %",
    )
    def _train(settings: TrainSettings) -> dict:
        return train_ista_net(settings, ratio)


for _ratio in RATIOS:
    _register(_ratio)
