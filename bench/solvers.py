"""Per-iteration cost of every classical solver, bare and with the engine's metrics.

For each non-learned solver, on blur and SR at 256² and 512², one run measures per iteration
(a) the bare step (the generator's ``next()``) and (b) step + all metrics (PSNR, SSIM, errors,
objective) as the engine computes them; medians are printed with their ratio.

Usage::

    python bench/solvers.py [--quick] [--device cpu|cuda] [--iterations N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Config  # noqa: E402
from core.lane import build_solver  # noqa: E402
from core.lane_spec import LaneSpec, resolve_lane  # noqa: E402
from core.metrics import compute_metrics, context_for  # noqa: E402
from core.problem import build_problem  # noqa: E402
from core.registry import SOLVERS, load_all  # noqa: E402

#: prior / denoiser used with each solver that takes one
PRIOR, DENOISER = "l1_wavelet", "tv"
PROBLEMS = {"blur": {"kernel": "gaussian"}, "sr": {"scale": 2}}


def make_steps(problem, solver: str):
    """The solver's generator and its prior, built as the engine builds a lane."""
    entry = SOLVERS.get_entry(solver)
    lane = resolve_lane(
        LaneSpec(
            solver=solver,
            prior=PRIOR if entry.extra.get("needs_prior") else None,
            denoiser=DENOISER if entry.extra.get("needs_denoiser") else None,
        )
    )
    steps, prior, _ = build_solver(lane, problem)
    return steps, prior


def time_solver(problem, solver: str, iterations: int, warmup: int = 2) -> tuple[float, float]:
    """Median milliseconds per iteration: (bare step, step + metrics), measured in one run."""
    synchronize = torch.cuda.synchronize if problem.y.is_cuda else (lambda: None)
    steps, prior = make_steps(problem, solver)
    context = context_for(problem.x_true)
    x_old = problem.x0
    bare, full = [], []
    with torch.no_grad():
        for i in range(warmup + iterations):
            synchronize()
            start = time.perf_counter()
            step = next(steps)
            synchronize()
            stepped = time.perf_counter()
            compute_metrics(problem, prior, step.x, x_old, step.info, context=context)
            synchronize()
            done = time.perf_counter()
            x_old = step.x
            if i >= warmup:
                bare.append(1e3 * (stepped - start))
                full.append(1e3 * (done - start))
    return statistics.median(bare), statistics.median(full)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256² only, 5 iterations")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args(argv)
    load_all()
    sizes = (256,) if args.quick else (256, 512)
    iterations = 5 if args.quick else args.iterations
    solvers = sorted(
        name for name, entry in SOLVERS.items() if not entry.extra.get("learned") and not name.startswith("_")
    )
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, median of {iterations} iterations")
    print(f"{'degradation':<12}{'size':>6}  {'solver':<14}{'step ms':>10}{'+metrics ms':>13}{'ratio':>8}")
    for degradation, params in PROBLEMS.items():
        for size in sizes:
            spec = Config.from_dict(
                {
                    "problem": {
                        "image": "camera",
                        "size": size,
                        "degradation": degradation,
                        "noise_sigma": 0.01,
                        "params": params,
                    }
                }
            ).problem
            problem = build_problem(spec, args.device, "float32")
            for solver in solvers:
                bare, full = time_solver(problem, solver, iterations)
                print(
                    f"{degradation:<12}{size:>6}  {solver:<14}{bare:>10.2f}{full:>13.2f}{full / bare:>8.2f}", flush=True
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
