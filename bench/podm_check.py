"""What PODM's check (5) with c < μ/2 asks of the propagation A on the Fig. 2 problem.

Problem: the Fig. 2 preset (ℓ0.8 sparse-coding SR ×2 on db4 coefficients, λ = 1e-4, camera at
128 px), PODM with μ = μ_opt = 1e-2 and c = 4.5e-3 < μ/2 (Proposition 1). By its computable form,
ψ = ∇f(x_G) + u + μ(x_G − x^{l−1}) with u ∈ ∂g(x_G) (core/solvers/podm.py), so (5) accepts x_G only
when it is close to the proximal-point step P(x^{l−1}) = argmin Φ + (μ/2)‖x − x^{l−1}‖². Measured:

1. FISTA: Φ and PSNR after 200 iterations (the targets), and the iteration where FISTA itself gets
   within 0.1 % of its Φ_200.
2. PODM whose A is the *exact* proximal point (100 FISTA iterations on the subproblem per stage,
   x_A = ((DᵀD + μI)P − Dᵀy)/μ so that x̃ = P): the ceiling of any trained A.
3. The same with 10 inner iterations (an A as accurate as 10 FISTA iterations of the subproblem),
   and the shipped trained A's unrolled solver with its initial (untrained) step sizes and momenta.
4. Sensitivity: x_A = x^{l−1} + (1 + ε·n) ⊙ (x_A* − x^{l−1}) with n ~ N(0, 1) elementwise, ε = 1, 3,
   10 %: the check ratio ‖ψ‖/‖x_G − x^{l−1}‖ (accepted when ≤ c).
5. The shipped stage-wise trained A (podm_stagewise_x2) and dncnn: median check ratio, acceptance.

Every row also gives the wall time per stage (one thread), beside FISTA's per iteration.

Usage::

    python bench/podm_check.py [--size 128] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.lane import build_solver  # noqa: E402
from core.lane_spec import LaneSpec, resolve_lane  # noqa: E402
from core.learned.podm_stagewise.lane import load_stagewise, propagation_from  # noqa: E402
from core.learned.podm_stagewise.net import StagewisePropagation, strong_convexity_momentum  # noqa: E402
from core.reproduce.common import build, image_psnr  # noqa: E402
from core.solvers.podm import fidelity_and_optimality, podm_stages  # noqa: E402

MU, C = 0.01, 0.0045
PRIOR = {"lam": 1e-4, "p": 0.8}


def proximal_point(problem, prior, x_prev, gamma, iterations):
    """FISTA on Φ + (μ/2)‖x − x_prev‖², from x_prev."""
    z, x, t = x_prev.clone(), x_prev.clone(), 1.0
    for _ in range(iterations):
        x_new = prior.prox(z - gamma * (problem.grad_fidelity(z) + MU * (z - x_prev)), gamma)
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        z, x, t = x_new + (t - 1.0) / t_new * (x_new - x), x_new, t_new
    return x


def exact_propagation(problem, prior, gamma, iterations):
    """A with x̃ = F(x_A) = P(x^{l−1}) (P by ``iterations`` inner FISTA steps)."""
    op, aty = problem.operator, problem.operator.adjoint(problem.y)

    def propagate(stage, x_prev):
        p = proximal_point(problem, prior, x_prev, gamma, iterations)
        return (op.adjoint(op.forward(p)) + MU * p - aty) / MU

    return propagate


def run(problem, prior, steps, count):
    """(accepted stages, Φ per stage, PSNR per stage, check ratios)."""
    acc, phis, psnrs, ratios = 0, [], [], []
    for _, step in zip(range(count), steps):
        acc += int(step.info["accepted"])
        phis.append(float(step.info.get("objective", problem.objective(step.x, prior))))
        psnrs.append(image_psnr(problem.to_image(step.x), problem.x_true))
        ratios.append(float(step.info["opt_error"]) / max(float(step.info["opt_bound"]), 1e-30))
    return acc, np.array(phis), np.array(psnrs), np.array(ratios)


def first(values, condition) -> str:
    """First 1-based index where ``condition`` holds, or "—"."""
    hits = np.flatnonzero(condition(values))
    return str(int(hits[0]) + 1) if hits.size else "—"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    problem = build("camera", "sparse_sr", args.size, scale=2, levels=3, wavelet="db4")
    lane = lambda solver, **p: build_solver(  # noqa: E731
        resolve_lane(
            LaneSpec(solver=solver, prior="lp", denoiser=None if solver == "fista" else "dncnn", params={**PRIOR, **p})
        ),
        problem,
    )
    gamma = 0.99 / (problem.lipschitz() + MU)
    lines = [f"# PODM's check with c < μ/2 on the Fig. 2 problem (camera {args.size} px)", ""]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fista, prior, _ = lane("fista")
        f_phi, f_psnr = [], []
        t_fista = time.perf_counter()
        for _, step in zip(range(200), fista):
            f_phi.append(float(problem.objective(step.x, prior)))
            f_psnr.append(image_psnr(problem.to_image(step.x), problem.x_true))
        ms_fista = 1e3 * (time.perf_counter() - t_fista) / 200
        f_phi, f_psnr = np.array(f_phi), np.array(f_psnr)
        target_phi, target_psnr = f_phi[-1], f_psnr[-1]
        x0_psnr = image_psnr(problem.to_image(problem.x0), problem.x_true)
        reach = lambda phis: first(phis, lambda v: v <= target_phi * 1.001)  # noqa: E731
        reach_psnr = lambda ps: first(ps, lambda v: np.abs(v - target_psnr) <= 0.05)  # noqa: E731

        def timed_run(steps, count):
            """(seconds, *run(...)); the seconds include the per-stage PSNR and objective reads."""
            t = time.perf_counter()
            result = run(problem, prior, steps, count)
            return (time.perf_counter() - t, *result)

        def row(label, count, seconds, accepted, phis, psnrs, ratios) -> str:
            """One table row; the check's figures up to the stage Φ reaches FISTA's Φ_200 (all if never)."""
            reached = reach(phis)
            upto = int(reached) if reached != "—" else count
            before = int(np.sum(ratios[:upto] <= 1.0))
            return (
                f"| {label} | {count} | {accepted} | {before} of {upto} | {reached} | {reach_psnr(psnrs)} | "
                f"{np.median(ratios[:upto]) * C:.2e} | {1e3 * seconds / count:.1f} |"
            )

        lines += [
            f"FISTA: Φ_200 = {target_phi:.6f}, PSNR_200 = {target_psnr:.2f} dB; within 0.1 % of Φ_200 at "
            f"iteration {reach(f_phi)}; {ms_fista:.1f} ms per iteration (with the same reads as the rows below). "
            f"x⁰ (bicubic): PSNR {x0_psnr:.2f} dB.",
            "",
            "| propagation A | stages | accepted | stages where (5) holds, up to Φ ≤ 1.001·Φ_FISTA200 | "
            "first stage Φ ≤ 1.001·Φ_FISTA200 | first stage within 0.05 dB of PSNR_FISTA200 | "
            "median ‖ψ‖/‖x_G − x^{l−1}‖ over those stages (c = 4.5e-3) | ms per stage |",
            "|---|---|---|---|---|---|---|---|",
        ]
        trained = load_stagewise("podm_stagewise_x2")
        untrained = StagewisePropagation(
            stages=1, inner=trained.inner, levels=trained.levels, momentum=strong_convexity_momentum(MU, gamma)
        )
        k = trained.inner
        cases = [
            ("exact proximal point (100 inner FISTA iterations)", exact_propagation(problem, prior, gamma, 100), 40),
            ("proximal point, 10 inner FISTA iterations", exact_propagation(problem, prior, gamma, 10), 40),
            (
                f"untrained: {k} unrolled accelerated steps, steps γ, β = (1 − √(μγ))/(1 + √(μγ))",
                propagation_from(untrained, problem, prior, gamma),
                200,
            ),
        ]
        for label, propagate, count in cases:
            steps = podm_stages(problem, prior, propagate, mu=MU, mu_opt=None, c=C, step_size=None, monotone=True)
            lines.append(row(label, count, *timed_run(steps, count)))
        for label, solver, params in [
            (f"stage-wise trained (podm_stagewise_x2, {k} unrolled steps)", "podm_stagewise", {}),
            ("dncnn (σ 15 → 2)", "podm", {"c": C, "sigma_max": 15.0, "sigma_min": 2.0}),
        ]:
            steps = lane(solver, **params)[0]
            lines.append(row(label, 200, *timed_run(steps, 200)))
        lines += ["", "Sensitivity of the check to the accuracy of x_A (exact x_A* perturbed by ε elementwise):", ""]
        lines += [
            "| stage | ε = 0 | ε = 1 % | ε = 3 % | ε = 10 % | ‖x_A* − x^{l−1}‖ | ‖P − x^{l−1}‖ |",
            "|---|---|---|---|---|---|---|",
        ]
        aty = problem.operator.adjoint(problem.y)
        x = problem.x0
        for stage in (1, 2, 3):
            p = proximal_point(problem, prior, x, gamma, 300)
            x_a = (problem.operator.adjoint(problem.operator.forward(p)) + MU * p - aty) / MU
            noise = torch.randn(x_a.shape, generator=torch.Generator().manual_seed(stage))
            row = [str(stage)]
            for eps in (0.0, 0.01, 0.03, 0.1):
                xe = x + (1.0 + eps * noise) * (x_a - x)
                _, x_g, _, _, psi = fidelity_and_optimality(problem, prior, x, xe, aty, mu=MU, mu_opt=MU, gamma=gamma)
                row.append(f"{float(psi.norm() / (x_g - x).norm()):.1e}")
            row += [f"{float((x_a - x).norm()):.3f}", f"{float((p - x).norm()):.3f}"]
            lines.append("| " + " | ".join(row) + " |")
            x = p
    lines += [
        "",
        f"`python bench/podm_check.py --size {args.size}`, {time.perf_counter() - t0:.0f} s, CPU 1 thread, "
        f"{platform.machine()}, torch {torch.__version__}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
