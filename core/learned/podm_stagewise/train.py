"""Trainers ``podm_stagewise_x{2,3,4}``: PODM's propagation A^l trained greedily, stage by stage (§4.1).

Problem class: :mod:`core.learned.podm_stagewise.problem_class` (the Fig. 2 preset: ℓ0.8 sparse-coding
SR on db4 coefficients, noise-free, μ = μ_opt = 1e-2). Data: random grayscale patches (64 px, 72 px for
×3) of the catalogue training images (core/learned/training/common.py; never ../shared/data),
each box-downsampled; x⁰ = W(bicubic(y)) as in the lane.

A^l is the unrolled proximal-point solver of net.py (θ_A^l: its step sizes and momenta).
Greedy stage-wise training: for l = 1 … L, A^l (initialised from A^{l−1}) is trained by Adam on
the PODM iterates x^{l−1} of the training patches, produced by the frozen stages < l *with* the
check (5), the safeguard and the feedback (6), exactly as the lane runs them. Loss of stage l:

    mean over patches of  log( ‖ψ^l‖ / ‖x_G^l − x^{l−1}‖ )

i.e. the check ratio of (5) (accepted when ≤ c). It is minimal (ratio 0) at the proximal-point step
x_G = argmin Φ + (κ/2)‖x − x^{l−1}‖² (module docstring of core/solvers/podm.py): a jump to a
critical point of Φ has ratio κ > c and would be rejected, so Φ(x_G) itself is not the loss.
After stage l is trained, the patches are advanced by one PODM stage and the next stage begins.
A checkpoint after every stage makes ``--resume`` continue (the iterates are recomputed from the
frozen stages). ``--epochs`` = number of stages L, ``--steps-per-epoch`` = Adam steps per stage.
Validation after each stage: ``camera`` (128 px), PODM run for 30 stages with the stages trained so far.
"""

from __future__ import annotations

import copy
import math
import platform
import time

import torch

from ...atomic import atomic_open, writable_folder
from ...operators.sparse_sr import SparseCodingSR
from ...problem import Problem
from ...registry import PRIORS
from ...solvers.podm import fidelity_and_optimality
from ..training import register_trainer
from ..training.common import (
    TRAIN_IMAGES,
    VALIDATION_IMAGE,
    TrainSettings,
    cosine_lr,
    load_training_images,
    load_validation_image,
    random_patches,
    write_log,
)
from ..weights import save_weights
from . import problem_class as pc
from .net import StagewisePropagation, strong_convexity_momentum

STAGES = 20
INNER = 6
PATCHES = 96
STEPS_PER_STAGE = 100
BATCH = 16
LR = 1e-2
VALIDATION_STAGES = 30
VALIDATION_SIZE = 128


def make_prior():
    """The trained problem class's prior g."""
    entry = PRIORS.get_entry("lp")
    return entry.factory(entry.resolve({k: v for k, v in pc.PRIOR.items() if k != "name"}))


def patch_problem(images: torch.Tensor, scale: int) -> Problem:
    """A batched noise-free sparse-coding SR problem on images (N, 1, P, P)."""
    operator = SparseCodingSR(tuple(images.shape[-3:]), scale, pc.WAVELET, pc.LEVELS)
    y = operator.downsample.forward(images)
    return Problem(operator, y, operator.initial_estimate(y), images)


def _per_sample_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


def _per_sample_phi(problem: Problem, prior, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    return 0.5 * (residual * residual).flatten(1).sum(1) + prior.lam * (x.abs() ** prior.p).flatten(1).sum(1)


def stage_ratio(problem, prior, model, stage, x_prev, aty, gamma):
    """(ratio ‖ψ‖/‖x_G − x^{l−1}‖ per sample, x_G, residual of x_G) of stage ``stage``."""
    x_a = model(stage, x_prev, problem, prior, gamma, pc.MU, pc.MU)
    _, x_g, residual_g, _, psi = fidelity_and_optimality(
        problem, prior, x_prev, x_a, aty, mu=pc.MU, mu_opt=pc.MU, gamma=gamma
    )
    step = _per_sample_norm(x_g - x_prev)
    return _per_sample_norm(psi) / step.clamp_min(1e-30), x_g, residual_g


@torch.no_grad()
def advance(problem, prior, model, stage, x_prev, aty, gamma, c):
    """One PODM stage (check (5), safeguard, feedback (6)) per sample; (x^l, accepted, ratio)."""
    ratio, x_g, residual_g = stage_ratio(problem, prior, model, stage, x_prev, aty, gamma)
    phi_prev = _per_sample_phi(problem, prior, x_prev, problem.residual(x_prev))
    phi_g = _per_sample_phi(problem, prior, x_g, residual_g)
    x_fb = prior.prox(x_prev - gamma * problem.grad_fidelity(x_prev), gamma)
    phi_fb = _per_sample_phi(problem, prior, x_fb, problem.residual(x_fb))
    accepted = (ratio <= c) & (phi_g <= phi_prev)
    keep_fb = phi_fb <= phi_prev
    shape = (-1,) + (1,) * (x_prev.dim() - 1)
    x = torch.where(accepted.view(shape), x_g, torch.where(keep_fb.view(shape), x_fb, x_prev))
    return x, accepted, ratio


@torch.no_grad()
def validate(model, scale: int, size: int | None = None, stages: int | None = None) -> dict:
    """Acceptance rate and Φ after ``stages`` PODM stages on the held-out catalogue image."""
    from ...solvers.podm import podm_stages
    from .lane import propagation_from

    size, stages = size or VALIDATION_SIZE, stages or VALIDATION_STAGES
    image = load_validation_image(size)
    side = (min(image.shape) // math.lcm(8, scale)) * math.lcm(8, scale)
    problem = patch_problem(image[:side, :side][None], scale)
    prior = make_prior()
    gamma = 0.99 / (problem.lipschitz() + pc.MU)
    accepted, phi = 0, float("nan")
    steps = podm_stages(
        problem,
        prior,
        propagation_from(model, problem, prior, gamma),
        mu=pc.MU,
        mu_opt=None,
        c=pc.C_DEFAULT,
        step_size=None,
        monotone=True,
    )
    for _, step in zip(range(stages), steps):
        accepted += int(step.info["accepted"])
        phi = float(step.info["objective"])
    return {"accept_rate": accepted / stages, "objective": phi}


def train_stagewise(settings: TrainSettings, scale: int) -> dict:
    """Greedy stage-wise training of A^1 … A^L for sparse-coding SR ×``scale``; writes weights + log."""
    device = settings.torch_device()
    if settings.out is not None:
        writable_folder(settings.out, "--out")
    if settings.epochs < 1:
        raise ValueError(f"--epochs (stages) must be at least 1, got {settings.epochs}")
    if device.type == "cpu":
        torch.set_num_threads(max(1, int(settings.threads)))
    torch.manual_seed(settings.seed)
    stages = int(settings.epochs)
    steps = int(settings.steps_per_epoch or STEPS_PER_STAGE)
    batch = int(settings.batch_size or BATCH)
    patch = 72 if scale == 3 else 64
    generator = torch.Generator().manual_seed(settings.seed * 100003 + scale)
    images = random_patches(load_training_images(), PATCHES, patch, generator).to(device)
    problem = patch_problem(images, scale)
    prior = make_prior()
    gamma = 0.99 / (problem.lipschitz() + pc.MU)
    model = StagewisePropagation(
        stages=stages, inner=INNER, levels=pc.LEVELS, momentum=strong_convexity_momentum(pc.MU, gamma)
    ).to(device)
    aty = problem.operator.adjoint(problem.y)
    done, wall, history = 0, 0.0, []
    ckpt_path = settings.checkpoint_path
    if settings.resume and ckpt_path.exists():
        try:
            ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
            done, wall, history = int(ckpt["stages_done"]), float(ckpt["wall"]), list(ckpt["history"])
            if done > stages:
                raise ValueError(f"the checkpoint has {done} trained stages, more than --epochs {stages}")
            trained = {k: v for k, v in ckpt["model"].items() if int(k.split(".")[1]) < done}
            missing = {k for k in model.state_dict() if int(k.split(".")[1]) < done} - set(trained)
            if missing:
                raise KeyError(sorted(missing)[0])
            model.load_state_dict(trained, strict=False)
        except Exception as exc:
            raise ValueError(
                f"--resume: checkpoint {ckpt_path} cannot be used ({type(exc).__name__}); delete it"
            ) from None
    x = problem.x0.clone()
    for stage in range(1, done + 1):  # the frozen stages' iterates
        x, _, _ = advance(problem, prior, model, stage, x, aty, gamma, pc.C_DEFAULT)
    cancelled = False
    for stage in range(done + 1, stages + 1):
        t0 = time.perf_counter()
        if stage > 1:
            model.nets[stage - 1].load_state_dict(copy.deepcopy(model.nets[stage - 2].state_dict()))
        net = model.net(stage)
        optimizer = torch.optim.Adam(net.parameters(), lr=LR)
        losses = []
        for i in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(LR, 0.05, i, steps)
            index = torch.randint(PATCHES, (batch,), generator=generator).to(device)
            sub = Problem(problem.operator, problem.y[index], problem.x0[index], images[index])
            ratio, _, _ = stage_ratio(sub, prior, model, stage, x[index], aty[index], gamma)
            loss = torch.log(ratio.clamp_min(1e-12)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            if settings.progress and (i + 1) % 25 == 0:
                print(f"  stage {stage} step {i + 1}: loss {sum(losses[-25:]) / 25:.3f}", flush=True)
            if settings.should_stop is not None and settings.should_stop():
                cancelled = True
                break
        if cancelled:
            break
        x, accepted, ratio = advance(problem, prior, model, stage, x, aty, gamma, pc.C_DEFAULT)
        wall += time.perf_counter() - t0
        val = validate(model.cpu(), scale) if device.type == "cpu" else validate(copy.deepcopy(model).cpu(), scale)
        record = {
            "stage": stage,
            "loss": sum(losses[-20:]) / max(len(losses[-20:]), 1),
            "train_accept": float(accepted.float().mean()),
            "train_ratio_median": float(ratio.median()),
            "val_accept_rate": val["accept_rate"],
            "val_objective": val["objective"],
            "seconds": wall,
        }
        history.append(record)
        if settings.progress or settings.on_epoch is None:
            print(
                f"{settings.name} stage {stage}/{stages}: loss {record['loss']:.3f} train accept "
                f"{record['train_accept']:.2f} median ratio {record['train_ratio_median']:.2e} (c {pc.C_DEFAULT}) "
                f"val accept {val['accept_rate']:.2f} val Φ {val['objective']:.6f} ({wall:.0f} s)",
                flush=True,
            )
        with atomic_open(ckpt_path, "wb") as handle:
            torch.save({"model": model.state_dict(), "stages_done": stage, "wall": wall, "history": history}, handle)
        if settings.on_epoch is not None:
            settings.on_epoch(record)
    summary = {
        "name": settings.name,
        "settings": {
            "stages": stages,
            "steps_per_stage": steps,
            "batch_size": batch,
            "lr": LR,
            "optimizer": "Adam per stage, cosine decay; stage l warm-started from l-1",
            "device": settings.device,
            "threads": settings.threads,
            "seed": settings.seed,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
        },
        "architecture": {"class": "StagewisePropagation", **model.config()},
        "data": {
            "train_images": list(TRAIN_IMAGES),
            "patches": PATCHES,
            "patch": patch,
            "problem": {"degradation": "sparse_sr", "scale": scale, "wavelet": pc.WAVELET, "levels": pc.LEVELS},
            "prior": pc.PRIOR,
            "mu": pc.MU,
            "c": pc.C_DEFAULT,
            "validation": f"{VALIDATION_IMAGE} 128 px, {VALIDATION_STAGES} PODM stages",
        },
        "history": history,
        "final_validation": {k[4:]: v for k, v in history[-1].items() if k.startswith("val_")} if history else {},
        "wall_seconds": wall,
        "cancelled": cancelled,
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if not cancelled:
        model.to("cpu")
        meta = {
            **model.config(),
            "problem_class": {
                "scale": scale,
                "wavelet": pc.WAVELET,
                "levels": pc.LEVELS,
                "prior": pc.PRIOR,
                "mu": pc.MU,
            },
            "training": {k: summary[k] for k in ("settings", "final_validation", "wall_seconds", "parameters")},
        }
        save_weights(settings.name, model, meta, settings.weights_dir)
        write_log(settings.weights_dir / f"{settings.name}.log", summary)
    return summary


def _register(scale: int):
    @register_trainer(
        pc.weights_name(scale),
        doc=f"PODM propagation A^l trained stage by stage for l0.8 sparse-coding SR x{scale} (§4.1)",
        default_epochs=STAGES,
    )
    def train(settings: TrainSettings) -> dict:
        return train_stagewise(settings, scale)

    return train


train_x2, train_x3, train_x4 = (_register(s) for s in pc.SCALES)
