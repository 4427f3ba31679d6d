"""The shared training loop: seeded, resumable, progress bar, checkpoint per epoch, log file.

The model is initialised from ``settings.seed``; epoch ``e``'s batches come from a CPU generator
seeded with ``seed·100003 + e``; an atomic checkpoint after every epoch lets ``--resume`` continue
exactly. Training data: random patches of catalogue images (never the benchmark sets).
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...atomic import atomic_open, atomic_write_text, writable_folder
from ...images import load_image
from ...metrics import psnr
from ...paths import in_checkout, out_dir, user_data_dir, weights_dir
from ..weights import save_weights


@dataclass
class TrainSettings:
    """What ``python -m core train`` (or the GUI) asks a trainer to do.

    Attributes
    ----------
    name : str
        Network / weights name.
    epochs : int
    device : {"cpu", "cuda"}
    out : Path or None
        Weights folder (default resources/weights).
    resume : bool
        Continue from the checkpoint of the last finished epoch when there is one.
    init : str or None
        Start from the shipped weights of this name (fine-tuning: same architecture and buffers);
        the log records their SHA-256 and the training they came from. Ignored on ``--resume``.
    seed : int
    steps_per_epoch, batch_size : int or None
        Override the trainer's defaults (tests use tiny values).
    threads : int
        ``torch.set_num_threads`` on CPU.
    progress : bool
        Show a tqdm progress bar.
    should_stop : callable or None
        Polled after every step; returning True stops after saving nothing new (the last
        epoch checkpoint stays), used by the GUI's cancel button.
    on_epoch : callable or None
        Called with each epoch's record (dict) after its checkpoint is written.
    on_step : callable or None
        Called with ``(step_in_epoch, steps_per_epoch, loss)`` after every step.
    """

    name: str
    epochs: int
    device: str = "cpu"
    out: Path | None = None
    resume: bool = False
    init: str | None = None
    seed: int = 0
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    threads: int = 2
    progress: bool = True
    should_stop: Callable[[], bool] | None = None
    on_epoch: Callable[[dict], None] | None = None
    on_step: Callable[[int, int, float], None] | None = None

    @property
    def weights_dir(self) -> Path:
        """``out``, else the shipped weights folder in a checkout, else the user's data folder."""
        if self.out is not None:
            return Path(self.out)
        return weights_dir() if in_checkout() else user_data_dir() / "weights"

    @property
    def checkpoint_path(self) -> Path:
        """``out/checkpoints/NAME.ckpt.pt`` (repo ``out/`` for the shipped weights folder)."""
        base = out_dir() if self.out is None else Path(self.out)
        return base / "checkpoints" / f"{self.name}.ckpt.pt"

    def torch_device(self) -> torch.device:
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"--device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available")
        return torch.device(self.device)


@dataclass
class LoopSpec:
    """How one network is trained by :func:`train_loop`.

    Attributes
    ----------
    make_batch : callable
        ``make_batch(generator, batch_size) -> tuple of CPU tensors`` (uses only ``generator``).
    loss : callable
        ``loss(model, batch_on_device) -> 0-d tensor``.
    validate : callable
        ``validate(model, device) -> dict`` with at least ``"psnr"`` (no grad, eval mode).
    lr : float
        Adam learning rate; cosine decay to ``lr·lr_floor`` over all steps.
    steps_per_epoch, batch_size : int
        Defaults (``TrainSettings`` may override).
    meta : dict
        Architecture (constructor arguments) stored with the weights.
    data : dict
        Description of the training / validation data for the log.
    """

    make_batch: Callable
    loss: Callable
    validate: Callable
    lr: float = 1e-3
    lr_floor: float = 0.05
    steps_per_epoch: int = 200
    batch_size: int = 16
    grad_clip: float | None = None
    meta: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def _move(batch, device):
    return tuple(b.to(device) if isinstance(b, Tensor) else b for b in batch)


def cosine_lr(base: float, floor: float, step: int, total: int) -> float:
    """Cosine decay from ``base`` to ``base·floor`` over ``total`` steps."""
    t = min(step / max(total, 1), 1.0)
    return base * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))


def train_loop(settings: TrainSettings, model: torch.nn.Module, spec: LoopSpec) -> dict:
    """Train ``model`` by Adam on ``spec``'s batches; checkpoint, validate, save weights and log.

    Returns
    -------
    dict
        Summary (also written to ``NAME.log`` and the manifest meta): settings, data, history
        (one record per epoch: loss, validation figures, seconds), final validation figures,
        wall time, ``cancelled``.
    """
    from tqdm import tqdm

    device = settings.torch_device()
    if settings.out is not None:
        writable_folder(settings.out, "--out")
    if settings.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {settings.epochs}")
    if device.type == "cpu":
        torch.set_num_threads(max(1, int(settings.threads)))
    steps = int(settings.steps_per_epoch or spec.steps_per_epoch)
    batch_size = int(settings.batch_size or spec.batch_size)
    total_steps = steps * settings.epochs
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    start_epoch, global_step, wall, history, resumes = 0, 0, 0.0, [], []
    ckpt_path = settings.checkpoint_path
    init = None
    if settings.init and not (settings.resume and ckpt_path.exists()):
        from ..weights import init_from_weights

        init = init_from_weights(model, settings.init, settings.weights_dir)
    if settings.resume and ckpt_path.exists():
        try:
            ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            start_epoch, global_step = int(ckpt["epoch"]), int(ckpt["step"])
            wall, history = float(ckpt["wall"]), list(ckpt["history"])
            resumes = [*ckpt.get("resumes", []), {"after_epoch": start_epoch, "epochs": settings.epochs}]
        except Exception as exc:  # unpickling refused, truncated file, wrong keys or shapes
            raise ValueError(
                f"--resume: checkpoint {ckpt_path} cannot be used ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'unreadable'}); delete it to start "
                "afresh"
            ) from None
    cancelled = False
    for epoch in range(start_epoch, settings.epochs):
        t0 = time.perf_counter()
        generator = torch.Generator().manual_seed(settings.seed * 100003 + epoch)
        model.train()
        losses = []
        last_psnr = history[-1]["val_psnr"] if history else float("nan")
        bar = tqdm(
            range(steps),
            desc=f"{settings.name} {epoch + 1}/{settings.epochs}",
            disable=not settings.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for i in bar:
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(spec.lr, spec.lr_floor, global_step, total_steps)
            batch = _move(spec.make_batch(generator, batch_size), device)
            loss = spec.loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if spec.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
            optimizer.step()
            global_step += 1
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3e}", val_psnr=f"{last_psnr:.2f}")
            if settings.on_step is not None:
                settings.on_step(i + 1, steps, losses[-1])
            if settings.should_stop is not None and settings.should_stop():
                cancelled = True
                break
        bar.close()
        if cancelled:
            break
        model.eval()
        with torch.no_grad():
            val = {k: float(v) for k, v in spec.validate(model, device).items()}
        model.train()
        wall += time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            **{f"val_{k}": v for k, v in val.items()},
            "seconds": wall,
        }
        history.append(record)
        if settings.progress or settings.on_epoch is None:
            tqdm.write(
                f"{settings.name} epoch {epoch + 1}/{settings.epochs}: loss {record['loss']:.4e}  "
                + "  ".join(f"val {k} {v:.4f}" for k, v in val.items())
                + f"  ({wall:.0f} s)"
            )
        with atomic_open(ckpt_path, "wb") as handle:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch + 1,
                    "step": global_step,
                    "wall": wall,
                    "history": history,
                    "resumes": resumes,
                },
                handle,
            )
        if settings.on_epoch is not None:
            settings.on_epoch(record)
    summary = {
        "name": settings.name,
        "settings": {
            "epochs": settings.epochs,
            "device": settings.device,
            "seed": settings.seed,
            "steps_per_epoch": steps,
            "batch_size": batch_size,
            "lr": spec.lr,
            "optimizer": "Adam, cosine decay",
            "threads": settings.threads,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "resumed": resumes,
            **({"init": init} if init else {}),
        },
        "architecture": spec.meta,
        "data": spec.data,
        "history": history,
        "final_validation": {k[4:]: v for k, v in history[-1].items() if k.startswith("val_")} if history else {},
        "wall_seconds": wall,
        "cancelled": cancelled,
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if not cancelled:
        model.to("cpu")
        save_weights(
            settings.name,
            model,
            {
                **spec.meta,
                "training": {k: summary[k] for k in ("settings", "final_validation", "wall_seconds", "parameters")},
            },
            settings.weights_dir,
        )
        write_log(settings.weights_dir / f"{settings.name}.log", summary)
    return summary


def write_log(path: Path, summary: dict) -> None:
    """Human-readable training log followed by the full summary as JSON."""
    lines = [
        f"# training log: {summary['name']}",
        f"wall time: {summary['wall_seconds']:.1f} s, parameters: {summary['parameters']}",
        "data: " + json.dumps(summary["data"], sort_keys=True),
        "settings: " + json.dumps(summary["settings"], sort_keys=True),
        "architecture: " + json.dumps(summary["architecture"], sort_keys=True),
        "epochs:",
    ]
    for rec in summary["history"]:
        lines.append("  " + "  ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()))
    lines.append("final validation: " + json.dumps(summary["final_validation"], sort_keys=True))
    lines.append("")
    lines.append("--- json ---")
    lines.append(json.dumps(summary, indent=1, sort_keys=True))
    atomic_write_text(path, "\n".join(lines) + "\n")


# --- data: random patches of catalogue images -------------------------------------------------


def random_patches(images: Sequence[Tensor], count: int, size: int, generator: torch.Generator) -> Tensor:
    """``count`` random ``size``×``size`` crops (random image, position, flip, 90° rotation).

    Parameters
    ----------
    images : sequence of Tensor
        Grayscale images (H, W), each at least ``size`` on both sides.
    count, size : int
    generator : torch.Generator
        The only source of randomness.

    Returns
    -------
    Tensor
        Shape (count, 1, size, size).
    """
    out = []
    which = torch.randint(len(images), (count,), generator=generator)
    for n in range(count):
        img = images[int(which[n])]
        h, w = img.shape[-2:]
        if h < size or w < size:
            raise ValueError(f"training image of shape {(h, w)} is smaller than the patch size {size}")
        i = int(torch.randint(h - size + 1, (1,), generator=generator))
        j = int(torch.randint(w - size + 1, (1,), generator=generator))
        patch = img[i : i + size, j : j + size]
        rot, flip = (int(v) for v in torch.randint(4, (2,), generator=generator))
        patch = torch.rot90(patch, rot, dims=(0, 1))
        if flip % 2:
            patch = torch.flip(patch, dims=(1,))
        out.append(patch)
    return torch.stack(out)[:, None].contiguous()


def batch_psnr(estimate: Tensor, reference: Tensor) -> Tensor:
    """Mean over the batch of per-image PSNR (data range 1, estimate clipped to [0, 1])."""
    return psnr(estimate, reference, image_dims=tuple(range(1, estimate.dim())), mse_floor=1e-12).mean()


def settings_dict(settings: TrainSettings) -> dict:
    """JSON-friendly view of the settings (callables dropped)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items() if not callable(v)}


# --- data: catalogue images only (never ../shared/data) -----------------------------------------
#: Training images (scikit-image catalogue); ``camera`` is held out for validation.
TRAIN_IMAGES = (
    "astronaut",
    "coffee",
    "chelsea",
    "moon",
    "brick",
    "grass",
    "gravel",
    "coins",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "page",
    "text",
    "clock",
)
VALIDATION_IMAGE = "camera"


def load_training_images(names=TRAIN_IMAGES, max_side: int = 512) -> list[torch.Tensor]:
    """Grayscale catalogue images as float32 tensors (H, W), longer side at most ``max_side``."""
    images = []
    for name in names:
        img = load_image(name, grayscale=True)
        if max(img.shape) > max_side:
            img = load_image(name, grayscale=True, size=max_side)
        images.append(torch.as_tensor(img, dtype=torch.float32))
    return images


def load_validation_image(size: int) -> Tensor:
    """The held-out validation image (grayscale, longer side ``size``) as a float32 tensor (H, W)."""
    return torch.as_tensor(load_image(VALIDATION_IMAGE, grayscale=True, size=size), dtype=torch.float32)
