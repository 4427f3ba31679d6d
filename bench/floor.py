"""Per-iteration cost of the classical solvers against bare-torch floors, measured interleaved.

For ISTA and FISTA with an ℓ1 prior on orthonormal wavelet coefficients (Haar and db4, 3 levels),
ADMM with the same prior and with total variation, and PnP-HQS with the TV (ROF) denoiser, on a
Gaussian blur (σ = 2) at 256² and 512², three implementations are stepped side by side in one
process, one iteration of each in turn (the order rotates every iteration):

* **floor**: the algorithm written plainly with bare torch in ``bench/floors.py``;
* **step**: the project's solver generator (:func:`core.lane.build_solver`), ``next(steps)``;
* **engine**: :class:`core.engine.Run` with the same lane, ``run.step()``: the solver step plus
  every metric (rel_change, rec_error, PSNR, SSIM, objective), the history, the kept iterate and
  the divergence/convergence check.

With ``--ablation`` two more engines join the rotation, one with the image metrics (rel_change,
rec_error, PSNR, SSIM: one compiled pass, core/fused_metrics.py) replaced by constants and one with
every metric replaced by a constant, which splits engine − step into the image metrics, the
objective (where the engine computes it) and the lane's bookkeeping (each the median of
per-iteration differences), measured under the same load.

It prints the median milliseconds per iteration, the ratios step/floor and engine/step and the
largest difference between the floor's and the project's iterates over the run (they compute
the same iterates up to float rounding). Times are CPU time of the process
(``time.process_time``) by default: on a shared machine that leaves out the time the process
waits for a core, which wall time (``--clock wall``) includes.

A second part measures memory: bytes of history per iteration (the lane's metric buffer and
step times, ``Run.memory_bytes``) and the growth of the resident set over a long run of cheap
iterations (ISTA, Haar, 64²).

With ``--gui SIZE ...`` a third part measures, in the same run, the live window's iteration rate
against headless (the real window, offscreen, on bench/gui_rate.py's config: the default problem
with ISTA and ADMM lanes added; interleaved segments). bench/gui_rate.py measures the rest of
the window's targets (repaints, edits, autosave, a long run).

Usage::

    python bench/floor.py [--iterations N] [--threads T] [--sizes 256 512] [--cases ...]
                          [--memory-iterations N] [--clock cpu|wall] [--markdown PATH] [--ablation]
                          [--gui 64 512] [--gui-seconds S] [--gui-rounds R]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floors  # noqa: E402

import core.lane  # noqa: E402
from core.config import Config  # noqa: E402
from core.engine import Run  # noqa: E402
from core.lane import build_solver  # noqa: E402
from core.lane_spec import resolve_lane  # noqa: E402
from core.metrics import applicable_metrics  # noqa: E402
from core.registry import load_all  # noqa: E402

LAM = 0.01
LEVELS = 3
RHO = 0.1
TV_ITERS = 20  # the TV prior's default inner FGP iterations
PNP = {"denoiser_strength": 1.0, "denoiser_iters": 50, "sigma_max": 49.0, "sigma_min": 5.0, "schedule_iters": 30}
KERNEL = {"kernel": "gaussian", "kernel_sigma": 2.0, "kernel_size": 13}
NOISE = 0.01
TARGET_STEP, TARGET_ENGINE = 1.25, {256: 1.5, 512: 1.3}

#: case name -> (lane table of the config, function building the floor generator)
CASES = {}


def _case(name, lane, floor):
    CASES[name] = (lane, floor)


def _wavelet_lane(solver, wavelet, **params):
    return {
        "solver": solver,
        "prior": "l1_wavelet",
        "params": {"lam": LAM, "wavelet": wavelet, "levels": LEVELS, **params},
    }


for _solver in ("fista", "ista"):
    for _wavelet in ("haar", "db4"):
        _case(
            f"{_solver}/{_wavelet}",
            _wavelet_lane(_solver, _wavelet),
            lambda blur, y, x0, s=_solver, w=_wavelet: floors.pg_solver(
                s, blur, floors.l1_wavelet_prox(floors.FloorWavelet(w, LEVELS), LAM), y, x0
            ),
        )
for _wavelet in ("haar", "db4"):
    _case(
        f"admm/{_wavelet}",
        _wavelet_lane("admm", _wavelet, rho=RHO),
        lambda blur, y, x0, w=_wavelet: floors.admm_solver(
            blur, floors.l1_wavelet_prox(floors.FloorWavelet(w, LEVELS), LAM), y, x0, RHO
        ),
    )
_case(
    "admm/tv",
    {"solver": "admm", "prior": "tv", "params": {"lam": LAM, "tv_iters": TV_ITERS, "rho": RHO}},
    lambda blur, y, x0: floors.admm_solver(blur, floors.tv_prox(LAM, TV_ITERS), y, x0, RHO),
)
_case(
    "pnp_hqs/tv",
    {"solver": "pnp_hqs", "denoiser": "tv", "params": dict(PNP)},
    lambda blur, y, x0: floors.pnp_hqs_solver(
        blur,
        y,
        x0,
        NOISE,
        PNP["denoiser_strength"],
        PNP["denoiser_iters"],
        (PNP["sigma_max"], PNP["sigma_min"], PNP["schedule_iters"], 1.0 / 3.0),
    ),
)


def make_config(size: int, lane: dict, keep_iterates: int = 50, image: str = "camera") -> Config:
    return Config.from_dict(
        {
            "problem": {"image": image, "size": size, "degradation": "blur", "noise_sigma": NOISE, "params": KERNEL},
            "lanes": [lane],
            "run": {"device": "cpu", "dtype": "float32", "keep_iterates": keep_iterates},
        }
    )


class _ConstantImageMetrics:
    """A metric context whose image metrics are constants (the ablation's engine without them)."""

    def __init__(self, context):
        self._value = torch.zeros(())

    def image_metrics(self, x, x_old):
        names = ("rec_error", "psnr", "ssim") + (() if x_old is None else ("rel_change",))
        return {name: self._value for name in names}


def _constant_metrics(problem, prior, x_new, x_old, info=None, context=None, *, image=None, image_old=None):
    """``applicable_metrics`` replaced by constants (the objective still taken from ``info``)."""
    value = torch.zeros((), dtype=x_new.dtype)
    out = {name: value for name in ("rel_change", "rec_error", "psnr", "ssim")}
    out["objective"] = (info or {}).get("objective", value)
    return out


def measure(
    size: int, case: str, iterations: int, warmup: int = 3, clock=time.process_time, ablation: bool = False
) -> dict:
    """Median ms/iteration of floor, step and engine, stepped interleaved; max iterate difference.

    ``ablation`` adds two engines to the rotation: one whose image metrics are constants
    ("no_image") and one whose metrics are all constants ("no_metrics": only the lane's
    bookkeeping remains).
    """
    lane, make_floor = CASES[case]
    config = make_config(size, lane)
    run = Run(config)
    problem = run.problem
    steps, _, _ = build_solver(resolve_lane(config.lanes[0]), problem)
    blur = floors.FloorBlur(problem.operator.kernel, problem.y.shape[-2:], problem.y.dtype)
    floor = make_floor(blur, problem.y, problem.x0)
    parts = ("floor", "step", "engine") + (("no_image", "no_metrics") if ablation else ())
    extra = {name: Run(make_config(size, lane), problem=problem) for name in parts[3:]}
    if ablation:
        extra["no_image"].lanes[0].context = _ConstantImageMetrics(extra["no_image"].lanes[0].context)
    times = {part: [] for part in parts}
    max_diff = 0.0
    with torch.no_grad():
        for i in range(warmup + iterations):
            shift = i % len(parts)
            for part in parts[shift:] + parts[:shift]:
                start = clock()
                if part == "floor":
                    x_floor = next(floor)
                elif part == "step":
                    x_step = next(steps).x
                elif part == "engine":
                    run.step()
                elif part == "no_metrics":
                    core.lane.applicable_metrics = _constant_metrics
                    try:
                        extra[part].step()
                    finally:
                        core.lane.applicable_metrics = applicable_metrics
                else:
                    extra[part].step()
                elapsed = clock() - start
                if i >= warmup:
                    times[part].append(1e3 * elapsed)
            max_diff = max(max_diff, float((x_floor - x_step).abs().max()))
    max_diff_engine = float((run.lanes[0].x - x_step).abs().max())
    medians = {part: statistics.median(values) for part, values in times.items()}
    if ablation:  # medians of the per-iteration differences (paired: the same iteration of each)

        def paired(a, b):
            return statistics.median(x - y for x, y in zip(times[a], times[b]))

        medians["split"] = {
            "image": paired("engine", "no_image"),
            "objective": paired("no_image", "no_metrics"),
            "lane": paired("no_metrics", "step"),
        }
    return {**medians, "max_diff": max_diff, "max_diff_engine": max_diff_engine, "status": run.lanes[0].status}


def _rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def measure_memory(iterations: int, size: int = 64) -> dict:
    """History bytes per iteration and resident-set growth over ``iterations`` cheap steps.

    ISTA + Haar at 64², tolerance 0 (the lane never stops), the default keep_iterates.
    """
    lane = _wavelet_lane("ista", "haar")
    config = make_config(size, lane, keep_iterates=Config.from_dict({"lanes": [lane]}).run.keep_iterates)
    config.run.tolerance = 0.0
    run = Run(config)
    lane_ = run.lanes[0]
    marks = sorted({max(iterations // 10, 1), iterations // 2, iterations})
    samples, start = [], time.perf_counter()
    base_rss = _rss_bytes()
    done = 0
    for mark in marks:
        run.step(mark - done)
        done = mark
        samples.append((mark, _rss_bytes(), run.memory_bytes(), lane_.history.count))
    seconds = time.perf_counter() - start
    (k1, rss1, _, _), (k2, rss2, _, _) = samples[0], samples[-1]
    history = lane_.history
    used = history.count * len(history.names) * history.buffer.element_size() + history.count * 8
    held = history.nbytes() + 8 * history.count  # the buffer's capacity, and the step times
    return {
        "iterations": iterations,
        "size": size,
        "seconds": seconds,
        "rows": len(history.names),
        "bytes_per_iteration_used": used / history.count,
        "bytes_per_iteration_held": held / history.count,
        "rss_start": base_rss,
        "rss_end": rss2,
        "rss_growth_per_iteration": (rss2 - rss1) / max(k2 - k1, 1),
        "samples": samples,
        "status": lane_.status,
    }


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| case | size | floor ms | step ms | engine ms | step/floor | engine/step "
        "| max abs diff floor vs step | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        step_ratio, engine_ratio = r["step"] / r["floor"], r["engine"] / r["step"]
        ok_step = "met" if step_ratio <= TARGET_STEP else f"not met (+{step_ratio / TARGET_STEP - 1:.0%})"
        target = TARGET_ENGINE[r["size"]] if r["size"] in TARGET_ENGINE else TARGET_ENGINE[512]
        ok_engine = "met" if engine_ratio <= target else f"not met (+{engine_ratio / target - 1:.0%})"
        lines.append(
            f"| {r['case']} | {r['size']} | {r['floor']:.2f} | {r['step']:.2f} "
            f"| {r['engine']:.2f} | {step_ratio:.2f} | {engine_ratio:.2f} | {r['max_diff']:.1e} "
            f"| step {ok_step}, engine {ok_engine} |"
        )
    return lines


def _ablation_text(r: dict) -> str:
    """Where the engine's time beyond the step goes (medians of per-iteration differences, ms)."""
    split = r["split"]
    return (
        f"engine − step {r['engine'] - r['step']:.2f} ms: image metrics {split['image']:.2f}, "
        f"objective {split['objective']:.2f}, lane {split['lane']:.2f}"
    )


def ablation_table(rows: list[dict]) -> list[str]:
    lines = [
        "| case | size | step ms | engine ms | engine without image metrics | engine without metrics "
        "| image metrics | objective | lane | image metrics / step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        split = r["split"]
        lines.append(
            f"| {r['case']} | {r['size']} | {r['step']:.2f} | {r['engine']:.2f} | {r['no_image']:.2f} "
            f"| {r['no_metrics']:.2f} | {split['image']:.2f} | {split['objective']:.2f} | {split['lane']:.2f} "
            f"| {split['image'] / r['step']:.2f} |"
        )
    return lines


def memory_lines(m: dict) -> list[str]:
    mib = 1024 * 1024
    lines = [
        f"memory: {m['iterations']} iterations of ISTA/Haar at {m['size']}² in {m['seconds']:.0f} s "
        f"(status: {m['status']})",
        f"  history per iteration: {m['bytes_per_iteration_used']:.0f} B written "
        f"({m['rows']} float64 rows + 8 B step time), {m['bytes_per_iteration_held']:.0f} B held "
        "(buffer capacity doubles when full)",
        f"  RSS {m['rss_start'] / mib:.1f} MiB at the start, {m['rss_end'] / mib:.1f} MiB at the end; "
        f"growth from iteration {m['samples'][0][0]} to {m['samples'][-1][0]}: "
        f"{m['rss_growth_per_iteration']:.0f} B per iteration",
    ]
    for k, rss, held, _ in m["samples"]:
        lines.append(f"    k = {k:>7}: RSS {rss / mib:8.1f} MiB, Run.memory_bytes {held / 1024:8.1f} KiB")
    return lines


def gui_ratios(sizes: list[int], seconds: float, rounds: int) -> list[tuple[int, float, float]]:
    """(size, headless it/s, window it/s) medians of ``rounds`` interleaved segments: the real
    window (offscreen) playing bench/gui_rate.py's config (default problem + ISTA and ADMM lanes)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import gui_rate  # bench/gui_rate.py, next to this file

    from workbench.app import make_app

    app = make_app()
    out = []
    for size in sizes:
        config = gui_rate.bench_config(size, iterations=10**7)
        window = gui_rate.make_window(config, None, 1.0)
        headless, windowed = [], []
        for _ in range(rounds):
            headless.append(gui_rate.headless_rate(config, seconds))
            windowed.append(gui_rate.window_rate(app, window, seconds)[0])
        gui_rate.close(app, window)
        out.append((size, statistics.median(headless), statistics.median(windowed)))
        print(
            f"GUI {size}²: headless {out[-1][1]:.1f} it/s, window {out[-1][2]:.1f} it/s, "
            f"window/headless {out[-1][2] / out[-1][1]:.2f} (target ≥ 0.9)",
            flush=True,
        )
    return out


def gui_table(gui: list[tuple[int, float, float]]) -> list[str]:
    lines = ["| size | headless it/s | window it/s | window/headless (target ≥ 0.9) |", "|---:|---:|---:|---:|"]
    lines += [f"| {size} | {h:.1f} | {w:.1f} | {w / h:.2f} |" for size, h, w in gui]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=40, help="measured iterations per case")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES), help="none: memory only")
    parser.add_argument("--memory-iterations", type=int, default=20000, help="0 skips the memory part")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall time")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--gui",
        type=int,
        nargs="*",
        default=[],
        metavar="SIZE",
        help="also the live window's rate against headless at these sizes (offscreen, bench/gui_rate.py's config)",
    )
    parser.add_argument("--gui-seconds", type=float, default=5.0, help="length of each GUI segment")
    parser.add_argument("--gui-rounds", type=int, default=3, help="headless/window segment pairs per size")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also step engines without image metrics and without any metric (where the engine's extra time goes)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_all()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    header = (
        f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
        f"{platform.processor() or platform.machine()}; {args.clock} time, median of {args.iterations} "
        "iterations (after 3 warm-up), floor/step/engine interleaved"
    )
    print(header)
    print(
        f"{'case':<12}{'size':>5}{'floor':>9}{'step':>9}{'engine':>9}"
        f"{'step/floor':>12}{'engine/step':>13}{'max|diff|':>11}"
    )
    # memory first, in the fresh process, so that the resident set is not the timing cases' heap
    memory = measure_memory(args.memory_iterations) if args.memory_iterations > 0 else None
    if memory:
        print("\n".join(memory_lines(memory)), flush=True)
    rows = []
    for size in args.sizes:
        for case in args.cases:
            r = {
                "case": case,
                "size": size,
                **measure(size, case, args.iterations, clock=clock, ablation=args.ablation),
            }
            rows.append(r)
            print(
                f"{case:<12}{size:>5}{r['floor']:>9.2f}{r['step']:>9.2f}{r['engine']:>9.2f}"
                f"{r['step'] / r['floor']:>12.2f}{r['engine'] / r['step']:>13.2f}{r['max_diff']:>11.1e}",
                flush=True,
            )
            if args.ablation:
                print(f"  {_ablation_text(r)}", flush=True)
            if r["max_diff_engine"] != 0.0:
                print(f"  note: engine and step iterates differ by {r['max_diff_engine']:.1e}")
    gui = gui_ratios(args.gui, args.gui_seconds, args.gui_rounds) if args.gui else []
    if args.markdown:
        text = header + "\n\n" + ("\n".join(table(rows)) + "\n" if rows else "")
        if gui:
            text += "\n" + "\n".join(gui_table(gui)) + "\n"
        if args.ablation:
            text += "\n" + "\n".join(ablation_table(rows)) + "\n"
        if memory:
            text += "\n```\n" + "\n".join(memory_lines(memory)) + "\n```\n"
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
