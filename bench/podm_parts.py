"""PODM at 256² with the learned denoiser: milliseconds per stage, split by part, before and after
removing the repeated work (issue 11).

Problem: the Fig. 2 preset (ℓ0.8 sparse-coding SR ×2 on db4 coefficients, camera) at 256², PODM
with the learned ``dncnn`` as A (σ 15 → 2, demo c = 0.08), CPU, float32. One stage is timed part
by part, in the order core/solvers/podm.py runs them:

* **denoiser**: x_A = W D(W⁻¹x^{l−1}, σ_l) (to_image, the CNN, from_image);
* **normal solve**: x̃ = (DᵀD + μI)⁻¹(Dᵀy + μx_A) (3);
* **gradients**: ∇f(x̃), the residuals A x − y of x_G and of the feedback step and ∇f of the
  selected one (carried to the next stage);
* **prox**: the two GISA proxes (7) and (6);
* **check**: ψ, its norm and c‖x_G − x^{l−1}‖ (5);
* **objective**: Φ(x_G), Φ(x_fb) from the residuals and the torch.where selection;
* **extras**: the three intermediate images for the diagnostics view (W⁻¹ of x_A, x̃, x_G).

"before" is the implementation up to commit 75fb11d, written plainly below: ∇f(x^{l−1}) computed
again every stage, both objectives by problem.objective (one more forward each) and Φ(x^l)
computed once more by the engine's metrics; "after" is the solver generator itself (``podm``),
which hands Φ(x^l) to the engine. The two produce the same iterates (max difference printed).

Usage::

    python bench/podm_parts.py [--size 256] [--stages 20] [--threads 1] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.lane import build_solver  # noqa: E402
from core.lane_spec import LaneSpec, resolve_lane  # noqa: E402
from core.reproduce.common import build  # noqa: E402
from core.solvers._common import denoise_unknown, sigma_schedule  # noqa: E402

NOTES = [
    "What was removed: ∇f(x^{l−1}) for the feedback step is carried from the previous stage (the "
    "selected residual's adjoint), Φ(x_G) and Φ(x_fb) come from the residuals that ∇f needs anyway, "
    "and Φ(x^l) is handed to the engine (`info['objective']`) instead of being evaluated again: "
    "two forward operators per stage and the engine's Φ (the 'objective' row).",
    "What stays, and why: without a host sync the decision (5)/(6) cannot skip a branch, so the "
    "feedback step (one prox and one residual) is computed at every stage and selected by torch.where; "
    "the denoiser is three quarters of the stage, and its image of x_A is mapped to coefficients and "
    "back once more for the diagnostics extras.",
]
PARAMS = {"lam": 1e-4, "p": 0.8, "sigma_max": 15.0, "sigma_min": 2.0}
MU, C = 0.01, 0.08


class Timer:
    """Accumulates perf_counter seconds per part name (CPU: no synchronisation needed)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def mark(self, part: str) -> None:
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - self._t
        self._t = now


def stages_before(problem, prior, denoiser, gamma, sigma, timer: Timer, count: int):
    """The stage sequence before the refactor, part by part (iterates as the old solver)."""
    aty = problem.operator.adjoint(problem.y)
    x = problem.x0.clone()
    phi = problem.objective(x, prior)
    out = []
    for stage in range(1, count + 1):
        x_prev, phi_prev = x, phi
        timer.mark("other")
        x_a = denoise_unknown(problem, denoiser, x_prev, sigma(stage))
        timer.mark("denoiser")
        x_tilde = problem.operator.normal_solve(aty + MU * x_a, MU, x_a)
        timer.mark("normal solve")
        grad_tilde = problem.grad_fidelity(x_tilde)
        timer.mark("gradients")
        x_g = prior.prox(x_tilde - gamma * (grad_tilde + MU * (x_tilde - x_prev)), gamma)
        timer.mark("prox")
        grad_g = problem.grad_fidelity(x_g)
        timer.mark("gradients")
        psi = (x_tilde - x_g) / gamma - 0.5 * MU * (2 * x_tilde - x_g - x_prev) + 0.5 * MU * (x_g - x_prev)
        psi = psi + grad_g - grad_tilde
        check = psi.norm() <= C * (x_g - x_prev).norm()
        timer.mark("check")
        grad_prev = problem.grad_fidelity(x_prev)
        timer.mark("gradients")
        x_fb = prior.prox(x_prev - gamma * grad_prev, gamma)
        timer.mark("prox")
        phi_g, phi_fb = problem.objective(x_g, prior), problem.objective(x_fb, prior)
        accepted = check & (phi_g <= phi_prev)
        descends = phi_fb <= phi_prev
        x = torch.where(accepted, x_g, torch.where(descends, x_fb, x_prev))
        phi = torch.where(accepted, phi_g, torch.where(descends, phi_fb, phi_prev))
        problem.objective(x, prior)  # the engine's metric (no info["objective"] then)
        timer.mark("objective")
        [problem.to_image(t) for t in (x_a, x_tilde, x_g)]
        timer.mark("extras")
        out.append(x)
    return out


def stages_after(problem, prior, denoiser, count: int, timer: Timer):
    """The solver generator (timed as a whole per stage) and its iterates."""
    spec = resolve_lane(LaneSpec(solver="podm", prior="lp", denoiser="dncnn", params=PARAMS))
    steps, _, _ = build_solver(spec, problem)
    out = []
    for _ in range(count):
        timer.mark("other")
        out.append(next(steps).x)
        timer.mark("stage")
    return out


def parts_after(problem, prior, denoiser, gamma, sigma, timer: Timer, count: int):
    """The refactored stage of core/solvers/podm.py, part by part."""
    from core.solvers.podm import _fidelity

    adjoint = problem.operator.adjoint
    aty = adjoint(problem.y)
    x = problem.x0.clone()
    residual = problem.residual(x)
    grad = adjoint(residual)
    phi = _fidelity(residual) + prior.value(x)
    for stage in range(1, count + 1):
        x_prev, residual_prev, grad_prev, phi_prev = x, residual, grad, phi
        timer.mark("other")
        x_a = denoise_unknown(problem, denoiser, x_prev, sigma(stage))
        timer.mark("denoiser")
        x_tilde = problem.operator.normal_solve(aty + MU * x_a, MU, x_a)
        timer.mark("normal solve")
        grad_tilde = problem.grad_fidelity(x_tilde)
        timer.mark("gradients")
        x_g = prior.prox(x_tilde - gamma * (grad_tilde + MU * (x_tilde - x_prev)), gamma)
        timer.mark("prox")
        residual_g = problem.residual(x_g)
        grad_g = adjoint(residual_g)
        timer.mark("gradients")
        psi = (x_tilde - x_g) / gamma - 0.5 * MU * (2 * x_tilde - x_g - x_prev) + 0.5 * MU * (x_g - x_prev)
        psi = psi + grad_g - grad_tilde
        check = psi.norm() <= C * (x_g - x_prev).norm()
        timer.mark("check")
        x_fb = prior.prox(x_prev - gamma * grad_prev, gamma)
        timer.mark("prox")
        residual_fb = problem.residual(x_fb)
        timer.mark("gradients")
        phi_g = _fidelity(residual_g) + prior.value(x_g)
        phi_fb = _fidelity(residual_fb) + prior.value(x_fb)
        accepted = check & (phi_g <= phi_prev)
        descends = phi_fb <= phi_prev
        x = torch.where(accepted, x_g, torch.where(descends, x_fb, x_prev))
        residual = torch.where(accepted, residual_g, torch.where(descends, residual_fb, residual_prev))
        phi = torch.where(accepted, phi_g, torch.where(descends, phi_fb, phi_prev))
        timer.mark("objective")
        grad = adjoint(residual)
        timer.mark("gradients")
        [problem.to_image(t) for t in (x_a, x_tilde, x_g)]
        timer.mark("extras")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    problem = build("camera", "sparse_sr", args.size, scale=2, levels=3, wavelet="db4")
    spec = resolve_lane(LaneSpec(solver="podm", prior="lp", denoiser="dncnn", params=PARAMS))
    _, prior, denoiser = build_solver(spec, problem)
    gamma = 0.99 / (problem.lipschitz() + MU)
    sigma = sigma_schedule(15.0 / 255, 2.0 / 255, 30)
    with torch.no_grad():
        stages_before(problem, prior, denoiser, gamma, sigma, Timer(), 2)  # warm-up
        results = {}
        for name in ("before", "after-parts", "after"):
            best = None
            for _ in range(3):  # best of three runs per variant (a shared machine)
                timer = Timer()
                if name == "before":
                    iterates = stages_before(problem, prior, denoiser, gamma, sigma, timer, args.stages)
                elif name == "after-parts":
                    parts_after(problem, prior, denoiser, gamma, sigma, timer, args.stages)
                else:
                    after = stages_after(problem, prior, denoiser, args.stages, timer)
                total = sum(v for k, v in timer.seconds.items() if k != "other")
                if best is None or total < best[0]:
                    best = (total, dict(timer.seconds))
            results[name] = best
    diff = max(float((a - b).abs().max()) for a, b in zip(iterates, after))
    parts = ["denoiser", "normal solve", "gradients", "prox", "check", "objective", "extras"]
    ms = lambda name, part: 1e3 * results[name][1].get(part, 0.0) / args.stages  # noqa: E731
    lines = [
        f"# PODM ms/stage by part ({args.size}², dncnn, CPU {args.threads} thread(s), "
        f"best of 3 × {args.stages} stages)",
        "",
        f"`python bench/podm_parts.py --size {args.size} --stages {args.stages} --threads {args.threads}` on "
        f"{platform.machine()}, torch {torch.__version__}. 'before': the stage up to commit 75fb11d (plus the "
        "engine's own Φ evaluation); 'after': the current core/solvers/podm.py (Φ handed to the engine).",
        "",
        "| part | before ms | after ms |",
        "|---|---|---|",
    ]
    for part in parts:
        lines.append(f"| {part} | {ms('before', part):.2f} | {ms('after-parts', part):.2f} |")
    lines.append(
        f"| **total (parts)** | {1e3 * results['before'][0] / args.stages:.2f} | "
        f"{1e3 * results['after-parts'][0] / args.stages:.2f} |"
    )
    lines.append(f"| solver generator `podm` (one `next`) | | {ms('after', 'stage'):.2f} |")
    lines += ["", f"Largest difference between the before and after iterates over {args.stages} stages: {diff:.3g}."]
    for note in NOTES:
        lines += ["", note]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
