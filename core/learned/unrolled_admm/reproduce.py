"""Reproduction ``unrolled_admm``: 8 tied unrolled ADMM iterations vs the same network run to
convergence vs ADMM + wavelet-ℓ1 on the four OneNet problems.

Writes ``bench/results/unrolled_admm.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...reproduce import markdown_table, register_reproducer, write_text
from ...reproduce.common import benchmark_images, build, image_psnr, run_lane, solver

#: (label, degradation, params, σ, OneNet tolerance on RMS(x − z), wavelet λ)
ONENET_PROBLEMS = (
    ("pixelwise inpainting + denoising", "inpaint", {"mode": "random", "keep_rate": 0.5}, 0.1, 3e-3, 0.05),
    ("block (centre) inpainting", "inpaint", {"mode": "center", "box_fraction": 0.3}, 0.0, 1e-5, 0.05),
    ("scattered inpainting", "inpaint", {"mode": "blocks", "n_blocks": 10, "block_fraction": 0.1}, 0.0, 1e-4, 0.03),
    ("super-resolution x2", "sr", {"scale": 2, "method": "box"}, 0.0, 2e-3, 0.05),
)


@register_reproducer(
    "unrolled_admm", doc="unrolled ADMM (8 tied iterations) vs the same net run to convergence vs ADMM + wavelet-l1"
)
@torch.no_grad()
def reproduce_unrolled_admm(out_dir: Path, quick: bool) -> list[Path]:
    """PSNR and iteration counts on 64×64 images for the four OneNet problems."""
    from .lane import default_rho

    source, images = benchmark_images("Set11", 2 if quick else 11, 64)
    max_iter = 60 if quick else 300
    rows, below = [], []
    for label, name, params, sigma, tol, lam in ONENET_PROBLEMS:
        res = {key: [] for key in ("unrolled", "plugin", "plugin_it", "wavelet", "wavelet_it", "x0")}
        for seed, (_, image) in enumerate(images):
            problem = build(image, name, 64, sigma, seed, **params)
            n = problem.x0.numel() ** 0.5
            res["x0"].append(image_psnr(problem.x0, problem.x_true))
            res["unrolled"].append(image_psnr(run_lane(solver("unrolled_admm", problem), 8).x, problem.x_true))
            step = run_lane(
                solver("unrolled_admm", problem),
                max_iter,
                stop=lambda s: float(s.info["primal_residual"]) < tol,  # noqa: B023  (used in this iteration)
            )
            res["plugin"].append(image_psnr(step.x, problem.x_true))
            res["plugin_it"].append(step.k)
            lane = solver(
                "admm", problem, "l1_wavelet", {"lam": lam, "wavelet": "db4", "levels": 3}, rho=default_rho(problem)
            )
            step = run_lane(lane, max_iter, stop=lambda s: float(s.info["primal_residual"]) / n < 1e-4)  # noqa: B023
            res["wavelet"].append(image_psnr(step.x, problem.x_true))
            res["wavelet_it"].append(step.k)
        m = {k: float(np.mean(v)) for k, v in res.items()}
        if max(m["unrolled"], m["plugin"], m["wavelet"]) < m["x0"]:
            below.append(label)
        rows.append(
            [
                label,
                m["x0"],
                m["unrolled"],
                8,
                m["plugin"],
                f"{m['plugin_it']:.1f}",
                m["wavelet"],
                f"{m['wavelet_it']:.1f}",
            ]
        )
    table = markdown_table(
        [
            "problem",
            "x⁰ PSNR",
            "unrolled ADMM PSNR",
            "it.",
            "same net to convergence PSNR",
            "it.",
            "ADMM + wavelet-ℓ1 PSNR",
            "it.",
        ],
        rows,
    )
    text = (
        f"# Differentiable unrolled ADMM, one network ({source}, {len(images)} images at 64 px, grey)"
        f"{' — quick mode' if quick else ''}\n\n"
        "Unrolled: the shipped projector, 8 ADMM iterations (as trained). 'To convergence': the same "
        f"network iterated as a plain plug-in prior until RMS(x − z) < OneNet's tolerance (max {max_iter}). "
        "Wavelet-ℓ1: project ADMM with db4 ℓ1 (λ 0.05, 0.03 for scattered blocks), stop at "
        f"RMS(x − z) < 1e-4 (max {max_iter}). ρ as in OneNet (0.3 / 0.2 / 0.3 / 0.5).\n\n"
        + table
        + "\nPaper (MS-Celeb 64×64, PID / BI / SI / SR): unrolled 26.87 / 28.59 / 30.66 / 28.19 dB in 8–13 "
        "iterations; OneNet 25.39 / 24.41 / 25.23 / 27.15 dB in 14–222; wavelet-ℓ1 20.81 / 17.70 / 28.60 / "
        "28.66 dB in 18–68. Our data (grey natural images, a 5-layer projector trained minutes on CPU) "
        "differ, so only the ordering and the iteration counts compare.\n"
    )
    if below:
        text += (
            "\nx⁰ is the operator's initial estimate (zero filling for inpainting, bicubic upsampling for SR). "
            f"On {', '.join(below)} none of the ADMM variants beats x⁰ here: with ρ from OneNet and the exact "
            "box-average adjoint (AᵀA = I/4 on its range) the prior step dominates and over-smooths.\n"
        )
    return [write_text(out_dir / "unrolled_admm.md", text)]
