"""Reproduction ``denoiser``: PSNR of the learned ``dncnn`` denoiser on Set12 vs classical ones.

Images: ../shared/data/Set12 (12 grey images) when present, else six catalogue images not used
in training. Noise: σ = 15, 25, 50 (/255), one fixed seed per image and σ. Baselines: the
project's ``tv`` (ROF, 100 FGP iterations) and ``wavelet`` (BayesShrink, db4) denoisers, each
with its ``strength`` tuned per σ on the catalogue image ``camera`` (never on the test set), and
BM3D (the ``bm3d`` package, the benchmark's anchor: ``pip install .[bench]``; not a runtime
dependency; the column says so when it is not installed) with the true σ.
Writes bench/results/denoiser.md.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ...images import load_image
from ...metrics import psnr as metric_psnr
from ...registry import DENOISERS
from ...reproduce import markdown_table, register_reproducer, shared_dataset, write_text

SIGMAS = (15, 25, 50)
FALLBACK_IMAGES = ("camera", "coins", "moon", "page", "text", "clock")
STRENGTH_GRID = (0.35, 0.5, 0.7, 1.0, 1.4)


def psnr(estimate: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB, data range 1, estimate clipped to [0, 1]."""
    estimate, clean = (
        torch.from_numpy(np.asarray(estimate, np.float64)),
        torch.from_numpy(np.asarray(clean, np.float64)),
    )
    return float(metric_psnr(estimate, clean, image_dims=tuple(range(clean.dim())), mse_floor=1e-12))


def noisy_copy(clean: np.ndarray, sigma255: int, seed: int) -> np.ndarray:
    """clean + (σ/255)·n with n ~ N(0, 1) from a seeded generator."""
    return clean + (sigma255 / 255.0) * np.random.default_rng(seed).standard_normal(clean.shape)


def apply_denoiser(denoiser, noisy: np.ndarray, sigma255: int) -> np.ndarray:
    x = torch.as_tensor(noisy[None], dtype=torch.float32)
    return denoiser(x, sigma255 / 255.0)[0].numpy()


def bm3d_denoiser():
    """``(noisy, σ255) -> estimate`` by the ``bm3d`` package's BM3D with the true σ, or None."""
    try:
        import bm3d
    except ImportError:
        return None
    return lambda noisy, sigma255: np.asarray(bm3d.bm3d(noisy, sigma255 / 255.0), np.float64)


def tune_strength(name: str, extra: dict, tune_image: np.ndarray, sigma255: int) -> float:
    """The grid strength with the best PSNR on ``tune_image`` at σ."""
    noisy = noisy_copy(tune_image, sigma255, seed=999)
    scores = {}
    for s in STRENGTH_GRID:
        den = DENOISERS.get_entry(name).factory({"denoiser_strength": s, **extra})
        scores[s] = psnr(apply_denoiser(den, noisy, sigma255), tune_image)
    return max(scores, key=scores.get)


def test_images(quick: bool) -> tuple[str, list[tuple[str, np.ndarray]]]:
    folder = shared_dataset("Set12")
    if folder is not None:
        files = sorted(folder.glob("*.png"))[: 3 if quick else None]
        return "Set12", [(f.stem, load_image(f, grayscale=True)) for f in files]
    names = FALLBACK_IMAGES[: 2 if quick else None]
    return "catalogue", [(n, load_image(n, grayscale=True, size=256)) for n in names]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


@register_reproducer("denoiser", doc="learned dncnn vs TV, wavelet and BM3D denoising PSNR on Set12, σ = 15/25/50")
def reproduce_denoiser(out_dir: Path, quick: bool) -> list[Path]:
    """Write ``denoiser.md``: per-image and mean PSNR for noisy / TV / wavelet / dncnn."""
    dataset, images = test_images(quick)
    tune = load_image("camera", grayscale=True, size=128 if quick else 256)
    learned = DENOISERS.get_entry("dncnn").factory({"denoiser_weights": "dncnn"})
    anchor = bm3d_denoiser()
    methods = ("noisy", "tv", "wavelet", "bm3d", "dncnn")
    extras = {
        "tv": {"denoiser_iters": 100 if not quick else 50},
        "wavelet": {"denoiser_wavelet": "db4", "denoiser_levels": 3},
    }
    results: dict[tuple[str, int], list[list[float]]] = {}
    strengths: dict[tuple[str, int], float] = {}
    seconds = {m: 0.0 for m in methods}
    for sigma in SIGMAS:
        # name -> (noisy, σ255) -> estimate; a method missing here (BM3D not installed) reads nan
        runners = {"dncnn": partial(apply_denoiser, learned), **({"bm3d": anchor} if anchor else {})}
        for name in ("tv", "wavelet"):
            params = {k: v for k, v in extras[name].items() if k in {p.name for p in DENOISERS.get_entry(name).params}}
            strengths[(name, sigma)] = tune_strength(name, params, tune, sigma)
            denoiser = DENOISERS.get_entry(name).factory({"denoiser_strength": strengths[(name, sigma)], **params})
            runners[name] = partial(apply_denoiser, denoiser)
        for idx, (label, clean) in enumerate(images):
            noisy = noisy_copy(clean, sigma, seed=1000 * sigma + idx)
            row = [psnr(noisy, clean)]
            for name in methods[1:]:
                t0 = time.perf_counter()
                row.append(psnr(runners[name](noisy, sigma), clean) if name in runners else float("nan"))
                seconds[name] += time.perf_counter() - t0
            results.setdefault((label, sigma), []).append(row)
    header = ["image"] + [f"{m} σ={s}" for s in SIGMAS for m in methods]
    rows = []
    for label, _ in images:
        rows.append([label] + [v for s in SIGMAS for v in results[(label, s)][0]])
    n, ours = len(methods), methods.index("dncnn")
    means = [float(np.mean([results[(label, s)][0][i] for label, _ in images])) for s in SIGMAS for i in range(n)]
    rows.append(["**mean**"] + means)
    summary = markdown_table(
        [
            "σ (/255)",
            "noisy",
            "TV (tuned)",
            "wavelet BayesShrink (tuned)",
            "BM3D",
            "dncnn (ours)",
            "dncnn − TV",
            "dncnn − BM3D",
        ],
        [
            [s, *block, block[ours] - block[methods.index("tv")], block[ours] - block[methods.index("bm3d")]]
            for s, block in ((s, means[n * i : n * i + n]) for i, s in enumerate(SIGMAS))
        ],
    )
    anchor_note = (
        "BM3D: the `bm3d` package's `bm3d(noisy, σ)` with the true σ (version "
        + _version("bm3d")
        + "); it is the benchmark's anchor, not a dependency of the workbench."
        if anchor
        else "BM3D: **not installed** (`pip install .[bench]` adds the `bm3d` package); its column is nan."
    )
    n_calls = len(images) * len(SIGMAS)
    text = (
        f"# Denoising benchmark ({dataset}{', quick mode' if quick else ''})\n\n"
        "Generated by `python -m core reproduce denoiser`. PSNR in dB (data range 1, output clipped to "
        "[0, 1]), Gaussian noise with a fixed seed per image and σ. The learned `dncnn` "
        "(resources/weights/dncnn.pt, trained on catalogue images only) is one noise-level-aware network "
        "for all σ. TV and wavelet strengths are tuned per σ on the catalogue image `camera`: "
        + ", ".join(f"{n} σ={s}: {strengths[(n, s)]}" for n in ("tv", "wavelet") for s in SIGMAS)
        + ". "
        + anchor_note
        + "\n\n"
        "## Mean PSNR\n\n"
        + summary
        + "\n## Per image\n\n"
        + markdown_table(header, rows)
        + "\n"
        + "Mean time per image (CPU): "
        + ", ".join(f"{m} {seconds[m] / n_calls:.2f} s" for m in methods[1:])
        + ".\n"
        + "For reference, IRCNN/DnCNN (64 channels, 400×400 BSD patches, GPU-trained) report ≈ 32.9 / 30.4 / 27.2 dB "
        "mean on Set12 at σ = 15 / 25 / 50; our CPU-trained 24-channel network is smaller and trained for "
        "minutes, so it is expected to stay below those figures (and below BM3D, which the issue asks it to "
        "match: that needs the GPU budget, `python -m core train dncnn --device cuda`).\n"
    )
    return [write_text(Path(out_dir) / ("denoiser_quick.md" if quick else "denoiser.md"), text)]
