"""Trainers ``unrolled_admm`` (one projector for four problems, the paper's setup) and
``unrolled_admm_<key>`` (``core.learned.unrolled_admm.problems``) (one projector per problem, Diamond et al.'s unrolled
optimisation), 8 unrolled ADMM iterations with tied weights.

Problems (fresh mask each time, as in the BMVC 2019 setup): pixelwise inpainting + denoising
(keep 50 %, σ = 0.1, ρ = 0.3), centre box (side 0.3, ρ = 0.2), scattered blocks (10 boxes of side
0.1, ρ = 0.3), ×2 box super-resolution (ρ = 0.5); ρ belongs to the problem and is not learned.
``unrolled_admm`` draws one problem per batch; a per-problem trainer only its own.
Data: random 48×48 crops of the catalogue training images. Loss: mean ‖z^8 − x*‖² (15).
Validation: PSNR on ``camera`` (96 px, fixed masks and noise), the mean over the trained problems.

Why per problem: trained on the four problems, the small projector (5 convs × 16 features, an
11×11-pixel view; the paper's is an encoder–decoder with a global dense layer) learns to fill and
smooth — what the inpainting problems need, and free there, since the z-update puts the observed
pixels back (AᵀA = I on them) — and applies it to the smooth bicubic input of ×2 SR, whose
z-update restores only the block means (AᵀA = I/4 on its range, a third of them per iteration at
ρ = 0.5): P_ω(x*) is at 27 dB on a clean image and SR ends several dB below bicubic. Balancing the
problems in dB, a noise-level input channel and a term keeping P_ω(x*) = x* did not remove that
trade-off in CPU-sized training.

CPU default: projector 5 convs × 16 features, batch 4; ``unrolled_admm`` 8 epochs × 100 steps
(the shipped weights: 4 epochs, resumed with ``--resume --epochs 8``), a per-problem one 4 epochs
× 100 steps: SR from the identity projector (lr 10⁻³), the three inpainting problems fine-tuned
from ``unrolled_admm`` (lr 3·10⁻⁴; from scratch, 400 steps left them below it). The paper's scale
(GPU): ``--device cuda --epochs 100 --steps-per-epoch 500 --batch-size 32`` with 64×64 crops and
a wider projector (``FEATURES``).
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
from ..weights import load_state, sha256_file, weights_path
from .net import UnrolledADMM
from .problems import ONE_NETWORK, PROBLEMS

CROP = 48
FEATURES = 16


def make_operator(index: int, size: int, generator: torch.Generator):
    """Operator of problem ``index`` of :data:`PROBLEMS` for size×size images (float32)."""
    problem = PROBLEMS[index]
    entry = DEGRADATIONS.get_entry(problem.degradation)
    return entry.factory((1, size, size), entry.resolve(problem.params), generator).to(dtype=torch.float32)


def observe(operator, clean: torch.Tensor, sigma: float, generator: torch.Generator):
    """(z⁰, Aᵀy) as (N, 1, H, W) images for clean images (N, 1, H, W)."""
    y = operator.forward(clean[:, 0])
    if sigma:
        y = y + sigma * torch.randn(y.shape, generator=generator, dtype=y.dtype)
    return operator.initial_estimate(y)[:, None], operator.adjoint(y)[:, None]


def unrolled_admm_loop_spec(
    model: UnrolledADMM,
    images,
    validation: torch.Tensor,
    problems: tuple[int, ...] | None = None,
    lr: float = 1e-3,
    init: str | None = None,
) -> LoopSpec:
    """LoopSpec training ``model`` on :data:`PROBLEMS` (or on the indices ``problems`` of it);
    ``init`` only describes (in the log) the weights ``model`` starts from."""
    chosen = tuple(range(len(PROBLEMS))) if problems is None else tuple(problems)
    val_gen = torch.Generator().manual_seed(11)
    size = validation.shape[-1]
    val_cases = []
    for i in range(len(PROBLEMS)):
        op = make_operator(i, size, val_gen)
        val_cases.append((op, *observe(op, validation[None, None], PROBLEMS[i].sigma, val_gen), PROBLEMS[i].rho))

    def make_batch(generator, batch_size):
        clean = random_patches(images, batch_size, CROP, generator)
        index = chosen[int(torch.randint(len(chosen), (1,), generator=generator))]
        op = make_operator(index, CROP, generator)
        z0, aty = observe(op, clean, PROBLEMS[index].sigma, generator)
        return clean, z0, aty, op, PROBLEMS[index].rho

    def loss(net, batch):
        clean, z0, aty, op, rho = batch
        op.to(device=clean.device)
        return ((net(z0, aty, op, rho) - clean) ** 2).mean()

    def validate(net, device):
        scores = {}
        for i in chosen:
            label, (op, z0, aty, rho) = PROBLEMS[i].label, val_cases[i]
            op.to(device=device)
            out = net(z0.to(device), aty.to(device), op, rho)
            scores[label.split()[0]] = batch_psnr(out[:, 0], validation[None].to(device))
        scores["psnr"] = sum(scores.values()) / len(scores)
        return scores

    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=lr,
        lr_floor=0.05,
        steps_per_epoch=100,
        batch_size=4,
        grad_clip=1.0,
        meta={"class": "UnrolledADMM", "iterations": int(model.iterations), "features": FEATURES},
        data={
            "train": f"random {CROP}x{CROP} crops of the catalogue training images",
            "problems": [PROBLEMS[i].label for i in chosen],
            "validation": "camera (96 px), fixed masks/noise",
            "init": init or "identity projector (last layer zero)",
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


def _register_per_problem(index: int) -> None:
    key, label = PROBLEMS[index].key, PROBLEMS[index].label

    @register_trainer(
        f"unrolled_admm_{key}",
        default_epochs=4,
        doc=f"differentiable unrolled ADMM, projector for {label} only (8 tied iterations)",
    )
    def train_one(settings: TrainSettings) -> dict:
        """Train the projector of one problem; write resources/weights/unrolled_admm_KEY.pt + .log."""
        from ..training.common import load_training_images, load_validation_image

        torch.manual_seed(settings.seed)
        model, init, lr = UnrolledADMM(8, FEATURES), None, 1e-3
        if PROBLEMS[index].degradation == "inpaint":  # fine-tune the projector trained on all four
            state = load_state(ONE_NETWORK, settings.weights_dir)
            model.load_state_dict(state)
            init = (
                f"the weights '{ONE_NETWORK}' (sha256 {sha256_file(weights_path(ONE_NETWORK, settings.weights_dir))})"
            )
            lr = 3e-4
        validation = load_validation_image(96)
        spec = unrolled_admm_loop_spec(model, load_training_images(), validation, (index,), lr, init)
        return train_loop(settings, model, spec)


for _index in range(len(PROBLEMS)):
    _register_per_problem(_index)
