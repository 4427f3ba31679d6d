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

FIXED_POINT = 1500  # FISTA iterations for u*


def largest_drop(psnr: np.ndarray, start: int = 5) -> float:
    """Largest fall of PSNR below its running maximum from iteration ``start`` (1-based) on."""
    tail = psnr[start - 1 :]
    return float(np.max(np.maximum.accumulate(tail) - tail)) if len(tail) > 1 else 0.0


def lane_psnrs(lane, problem, last: int) -> np.ndarray:
    """PSNR of iterates 1 … ``last`` of a solver generator."""
    out = []
    for step in lane:
        out.append(image_psnr(step.x, problem.x_true))
        if step.k >= last:
            break
    return np.array(out)


def deconv_trajectory(image: str, size: int, last: int) -> tuple[list, tuple]:
    """Table row and PSNR-gap curve of the shipped BMO lane on one deblurring problem, with the
    PSNR course of ISTA and FISTA on the same objective (their semi-convergence)."""
    from ..weights import cached_network
    from .lane import _architecture, bmo

    net = cached_network(_architecture, "bmo_deconv")
    prior, config = net.prior(), net.config()
    prior_params = {"lam": config["lam"], "wavelet": config["wavelet"], "levels": config["levels"]}
    problem = build(image, "blur", size, 0.01, kernel="gaussian", kernel_sigma=1.6, kernel_size=9)
    star = run_lane(solver("fista", problem, "l1_wavelet", prior_params), FIXED_POINT).x
    psnrs, objectives, distances, iterates = [], [], [], {}
    for step in bmo(problem, weights="bmo_deconv", net=net):
        psnrs.append(image_psnr(step.x, problem.x_true))
        objectives.append(float(problem.objective(step.x, prior)))
        distances.append(float((step.x - star).pow(2).mean().sqrt()))
        if step.k in (8, last):
            iterates[step.k] = step.x
        if step.k >= last:
            break
    ista = lane_psnrs(solver("ista", problem, "l1_wavelet", prior_params), problem, last)
    fista = lane_psnrs(solver("fista", problem, "l1_wavelet", prior_params), problem, last)
    p_star = image_psnr(star, problem.x_true)
    psnr = np.array(psnrs)
    increases = int((np.diff(np.array(objectives)) > 1e-6 * abs(objectives[-1])).sum())
    trained = int(net.trained_layers)
    away = int((np.diff(np.array(distances[trained - 1 :])) > 1e-9).sum())
    row = [
        image_psnr(problem.x0, problem.x_true),
        psnr[7],
        psnr[-1],
        f"{ista[-1]:.2f} / {fista[-1]:.2f}",
        p_star,
        f"{psnr[-1] - p_star:+.2f}",
        f"{largest_drop(psnr):.2f}",
        f"{largest_drop(ista):.2f} / {largest_drop(fista):.2f}",
        f"{ista.max() - p_star:+.2f} / {fista.max() - p_star:+.2f}",
        str(increases),
        str(away),
        f"{distances[-1]:.1e}",
    ]
    return row, (np.arange(1, len(psnr) + 1), psnr - p_star)


@register_reproducer("bmo", doc="BMO: sparse-coding toy and deconvolution, convergence past the trained layers")
@torch.no_grad()
def reproduce_bmo(out_dir: Path, quick: bool) -> list[Path]:
    """Distance to Fix(𝒯) vs k for ISTA, a plain learned net and BMO; deconvolution PSNR vs k."""
    from ..lista.net import fista_codes
    from ..weights import cached_network, load_state
    from .lane import _architecture
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
    images = [(label, image, 128) for label, image in images] + ([] if quick else [("camera (preset)", "camera", 256)])
    last = 50 if quick else 300
    deconv_rows, curves = [], {}
    deconv_k = cached_network(_architecture, "bmo_deconv").trained_layers
    for label, image, size in images:
        row, curve = deconv_trajectory(image, size, last)
        deconv_rows.append([label] + row)
        curves[label] = curve
    panels.append(
        line_panel(
            curves,
            {lab: c for lab, c in zip(curves, ("#1f77b4", "#d62728", "#2ca02c", "#9467bd"))},
            "deconvolution: BMO PSNR(u^k) - PSNR(u*) vs k",
        )
    )
    png = save_panels(panels, out_dir / "bmo.png")
    deconv = markdown_table(
        [
            "image",
            "observation",
            "BMO k = 8 (trained K)",
            f"BMO k = {last}",
            f"ISTA / FISTA {last} it.",
            f"u* (FISTA {FIXED_POINT} it.)",
            f"BMO k = {last} − u*",
            "largest PSNR drop, k ≥ 5",
            "same for ISTA / FISTA",
            "ISTA / FISTA peak − u*",
            "Φ increases, k ≥ 2",
            f"‖u^k − u*‖ increases, k ≥ {deconv_k}",
            f"‖u^{last} − u*‖/√n",
        ],
        deconv_rows,
    )
    text = (
        f"# BMO (ICML 2022, Algorithm 1){' — quick mode' if quick else ''}\n\n"
        "## Sparse coding toy\nA 64×128 Gaussian (unit columns), 10 % sparse codes, noise 0.01, λ = 0.05, "
        f"200 test problems; u* = lasso solution (5000 FISTA iterations); all methods trained/run with K = {K}.\n\n"
        + toy
        + "\nBMO is better than ISTA at k = K and keeps converging to the lasso solution past K (past K "
        "the iteration is ISTA itself, restarted closer to u*); the same learned layer iterated alone "
        "(no training map) does not converge to u*.\n\n"
        f"## Deconvolution ({source} at 128 px and the blur preset's camera at 256 px; Gaussian blur σ 1.6, "
        "noise 1 %)\n\n"
        "Objective Φ(u) = ½‖Au − y‖² + λ‖Wu‖₁ with the weights' λ = 0.002, db4, 3 levels — the blur preset's "
        "FISTA lane; 𝒯 = one proximal-gradient step on Φ and u* = Fix(𝒯) its minimiser. The PSNR "
        "columns are in dB against the clean image.\n\n"
        + deconv
        + "\nThe learned correction enters with the weight μ_k = μ/(1 + k/K)² for k ≤ K, halved at every "
        "step past K (→ 0, summable), from u⁰ = Aᵀy, so past K the iteration is 𝒯 and u^k converges to u*; "
        "N_ω is trained to bring u^K close to u* (the lower level has the single solution u*, so a loss "
        "against the clean image would only make u^K overshoot u* and the untrained layers fall back).\n\n"
        "Why the PSNR is not monotone. 𝒯 is a proximal-gradient step with step 1/L, an averaged operator, "
        "so past K the iterates approach u* monotonically in distance (Fejér monotone: the ‖u^k − u*‖ "
        "column) and Φ never increases — what BMO's analysis promises. The PSNR against the clean image "
        "is another matter: on this objective ISTA and FISTA themselves semi-converge — their PSNR "
        "peaks above that of their limit u* (the 'peak − u*' column) and then falls to it (the 'same for "
        "ISTA / FISTA' column) — because the wavelet-ℓ1 minimiser with λ = 0.002 keeps noise that the "
        "early iterates have not fitted yet (larger λ lowers PSNR(u*) and keeps the dip: 0.10–0.16 dB in 600 "
        "ISTA iterations on the preset's camera at λ = 0.002 … 0.01). BMO's tail is 𝒯, so a trajectory that reaches "
        "the PSNR of u* from below and passes it must come back down to PSNR(u*): a PSNR curve that "
        "rises monotonically and converges to u* would need u^K on u* already, or a training map whose "
        "fixed point is the best restoration (the paper's 𝒯 contains a learned denoiser). BMO's PSNR "
        "falls only above PSNR(u*), on its way back to u*, by about as much as ISTA's within the same "
        "iterations (FISTA, further along, falls 2–5 times more). Past K it moves at ISTA's speed: at k = "
        "300 it is where ISTA is, so within 0.2 dB of u* only where ISTA is (Monarch: +0.36 dB, FISTA is "
        "there already); the trained layers buy the first iterations, not the tail.\n\n"
        "Paper (Butterfly / Leaves / Starfish, σ = 1 %): BMO 33.67 / 35.39 / 33.98 dB, where the training "
        "map itself contains a large learned network, so its fixed point is a learned restoration; here "
        "𝒯 is the classical wavelet-ℓ1 step and the dB are those of its minimiser — compare the "
        "convergence, not the dB.\n\n![curves](bmo.png)\n"
    )
    return [write_text(out_dir / "bmo.md", text), png]
