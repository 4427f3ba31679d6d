"""Reproduction ``bmo``: sparse-coding toy and deconvolution, convergence past the trained layers.

Writes ``bench/results/bmo.md`` and ``bmo.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...reproduce import markdown_table, register_reproducer, write_text
from ...reproduce.common import benchmark_images, build, image_psnr, run_lane, solver
from ...reproduce.plot import line_panel, save_panels


@register_reproducer("bmo", doc="BMO: sparse-coding toy and deconvolution, convergence past the trained layers")
@torch.no_grad()
def reproduce_bmo(out_dir: Path, quick: bool) -> list[Path]:
    """Distance to Fix(𝒯) vs k for ISTA, a plain learned net and BMO; deconvolution PSNR vs k."""
    from ..lista.net import fista_codes
    from ..weights import load_state
    from .net import BMOSparse
    from .train import sparse_samples

    iterations = 200 if quick else 1000
    net = BMOSparse.from_state_dict(load_state("bmo_sparse")).double()
    y, truth = sparse_samples(net.matrix.float(), 200, torch.Generator().manual_seed(2022))
    y, truth = y.double(), truth.double()
    lasso, _ = fista_codes(y, net.matrix, float(net.lam), 5000)
    K = int(net.layers)
    series, rows = {}, []
    for mode, label in (("ista", "ISTA (T only)"), ("learned", "learned net only (ENA)"), ("bmo", "BMO")):
        its = net.run(y, iterations, mode)
        dist = np.array([float(((u - lasso) ** 2).sum(1).mean().sqrt()) for u in its])
        err = np.array([float(((u - truth) ** 2).sum(1).mean().sqrt()) for u in its])
        series[label] = (np.arange(1, iterations + 1), np.minimum(dist, 100.0))  # plot clipped at 100
        rows.append([label] + [f"{v:.3g}" for v in (err[K - 1], dist[K - 1], dist[4 * K - 1], dist[-1])])
    toy = markdown_table(
        ["method", f"‖u^K − u_true‖ (K={K})", "‖u^K − u*‖", f"‖u^{4 * K} − u*‖", f"‖u^{iterations} − u*‖"], rows
    )
    panels = [
        line_panel(
            series,
            {"ISTA (T only)": "#1f77b4", "learned net only (ENA)": "#d62728", "BMO": "#2ca02c"},
            "sparse coding: ||u^k - u*|| (clipped at 100)",
            log_y=True,
        )
    ]
    source, images = benchmark_images("Set11", 1 if quick else 3, 128)
    deconv_rows, curves = [], {}
    for label, image in images:
        problem = build(image, "blur", 128, 0.01, kernel="gaussian", kernel_sigma=1.6, kernel_size=9)
        psnrs, resid = [], []
        lane = solver("bmo", problem)
        for step in lane:
            psnrs.append(image_psnr(step.x, problem.x_true))
            resid.append(float(step.info["fixed_point_residual"]))
            if step.k >= (50 if quick else 300):
                break
        fista = run_lane(
            solver("fista", problem, "l1_wavelet", {"lam": 0.002, "wavelet": "haar", "levels": 3}), 50 if quick else 300
        )
        deconv_rows.append(
            [
                label,
                image_psnr(problem.x0, problem.x_true),
                psnrs[7],
                psnrs[-1],
                image_psnr(fista.x, problem.x_true),
                f"{resid[7]:.1e}",
                f"{resid[-1]:.1e}",
            ]
        )
        curves[label] = (np.arange(1, len(resid) + 1), np.array(resid))
    panels.append(
        line_panel(
            curves,
            {lab: c for lab, c in zip(curves, ("#1f77b4", "#d62728", "#2ca02c"))},
            "deconvolution: BMO fixed-point residual vs k",
            log_y=True,
        )
    )
    png = save_panels(panels, out_dir / "bmo.png")
    deconv = markdown_table(
        [
            "image",
            "observation",
            "BMO k = 8 (trained K)",
            f"BMO k = {len(psnrs)}",
            f"FISTA wavelet-ℓ1 ({len(psnrs)} it.)",
            "residual k = 8",
            f"residual k = {len(psnrs)}",
        ],
        deconv_rows,
    )
    text = (
        f"# BMO (ICML 2022, Algorithm 1){' — quick mode' if quick else ''}\n\n"
        "## Sparse coding toy\nA 64×128 Gaussian (unit columns), 10 % sparse codes, noise 0.01, λ = 0.05, "
        f"200 test problems; u* = lasso solution (5000 FISTA iterations); all methods trained/run with K = {K}.\n\n"
        + toy
        + "\nBMO is better than ISTA at k = K and keeps converging to the lasso solution past K; "
        "the same learned layer iterated alone (no training map) is not a convergent scheme.\n\n"
        f"## Deconvolution ({source}, 128 px, Gaussian blur σ 1.6, noise 1 %)\n\n"
        + deconv
        + "\nPaper (Butterfly / Leaves / Starfish, σ = 1 %): BMO 33.67 / 35.39 / 33.98 dB with a large "
        "learned network; ours is a 5-layer CNN trained minutes on CPU — compare the behaviour (the "
        "fixed-point residual ‖u^k − 𝒯(u^{k−1})‖ keeps decreasing past K), not the dB. In our reading the "
        "learned step fades (summable s_k), so past K the iterates converge to the wavelet-ℓ1 fixed point and the "
        "PSNR gained at k = K is not kept (it dips and then tends to the FISTA value).\n\n![curves](bmo.png)\n"
    )
    return [write_text(out_dir / "bmo.md", text), png]
