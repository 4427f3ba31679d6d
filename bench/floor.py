"""Per-iteration cost of ISTA/FISTA against a bare-torch floor, measured interleaved in one run.

For FISTA and ISTA with an ℓ1 prior on orthonormal wavelet coefficients (Haar and db4, 3
levels) on a Gaussian blur (σ = 2) at 256² and 512², three implementations are stepped side by
side in one process, one iteration of each in turn (the order rotates every iteration):

* **floor**: the algorithm written plainly in this file with bare torch: circular convolution
  with ``rfft2``/``irfft2``, the periodised wavelet transform by reshape (Haar) or by circular
  padding and strided slices (db4), the soft threshold;
* **step**: the project's solver generator (:func:`core.lane.build_solver`), ``next(steps)``;
* **engine**: :class:`core.engine.Run` with one lane, ``run.step()``: the solver step plus every
  metric (rel_change, rec_error, PSNR, SSIM, objective), the history and the divergence check.

It prints the median milliseconds per iteration, the ratios step/floor and engine/step, and
the largest difference between the floor's and the project's iterates over the run (they
compute the same iterates up to float rounding).

Usage::

    python bench/floor.py [--iterations N] [--threads T] [--sizes 256 512] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import Config  # noqa: E402
from core.engine import Run  # noqa: E402
from core.lane import build_solver  # noqa: E402
from core.lane_spec import resolve_lane  # noqa: E402
from core.registry import load_all  # noqa: E402
from core.wavelets import wavelet_filters  # noqa: E402

LAM = 0.01
LEVELS = 3
KERNEL = {"kernel": "gaussian", "kernel_sigma": 2.0, "kernel_size": 13}
TARGET_STEP, TARGET_ENGINE = 1.25, {256: 1.5, 512: 1.3}


# --- the floor: plain bare-torch implementations ---------------------------------------------
class FloorBlur:
    """A x = k ⊛ x (circular) by the real FFT; kernel centre rolled to the origin."""

    def __init__(self, kernel: torch.Tensor, shape, dtype):
        height, width = shape
        padded = torch.zeros(height, width, dtype=torch.float64)
        padded[: kernel.shape[0], : kernel.shape[1]] = kernel
        padded = torch.roll(padded, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), (0, 1))
        otf = torch.fft.rfft2(padded)
        self.lipschitz = float((otf.abs() ** 2).max())
        complex_dtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        self.otf = otf.to(complex_dtype)
        self.otf_conj = otf.conj().to(complex_dtype)
        self.shape = shape

    def forward(self, x):
        return torch.fft.irfft2(torch.fft.rfft2(x) * self.otf, s=self.shape)

    def adjoint(self, y):
        return torch.fft.irfft2(torch.fft.rfft2(y) * self.otf_conj, s=self.shape)


def haar_level(x):
    """One periodised Haar level by reshape: [[LL, LH], [HL, HH]] of (..., H, W)."""
    h, w = x.shape[-2:]
    q = x.reshape(*x.shape[:-2], h // 2, 2, w // 2, 2)
    a, b, c, d = q[..., 0, :, 0], q[..., 0, :, 1], q[..., 1, :, 0], q[..., 1, :, 1]
    top = torch.cat([(a + b + c + d) * 0.5, (a - b + c - d) * 0.5], -1)
    bottom = torch.cat([(a + b - c - d) * 0.5, (a - b - c + d) * 0.5], -1)
    return torch.cat([top, bottom], -2)


def haar_level_inverse(c):
    h, w = c.shape[-2:]
    h2, w2 = h // 2, w // 2
    ll, lh, hl, hh = c[..., :h2, :w2], c[..., :h2, w2:], c[..., h2:, :w2], c[..., h2:, w2:]
    out = torch.empty_like(c).reshape(*c.shape[:-2], h2, 2, w2, 2)
    out[..., 0, :, 0] = (ll + lh + hl + hh) * 0.5
    out[..., 0, :, 1] = (ll - lh + hl - hh) * 0.5
    out[..., 1, :, 0] = (ll + lh - hl - hh) * 0.5
    out[..., 1, :, 1] = (ll - lh - hl + hh) * 0.5
    return out.reshape(c.shape)


class FilterLevel:
    """One periodised level of a general orthonormal filter bank, by padding and strided slices.

    Along an axis of length N: a[k] = Σ_j h[j] x[(2k + F/2 − j) mod N], likewise d with g.
    """

    def __init__(self, wavelet: str):
        self.lo, self.hi = wavelet_filters(wavelet)
        self.taps = len(self.lo)

    def _analysis(self, x):  # along the last axis
        n, taps = x.shape[-1], self.taps
        left, right = taps // 2 - 1, taps // 2
        xp = torch.cat([x[..., n - left :], x, x[..., :right]], -1)
        out = x.new_empty(x.shape)
        a, d = out[..., : n // 2], out[..., n // 2 :]
        torch.mul(xp[..., taps - 1 : taps - 1 + n : 2], self.lo[0], out=a)
        torch.mul(xp[..., taps - 1 : taps - 1 + n : 2], self.hi[0], out=d)
        for j in range(1, taps):
            tap = xp[..., taps - 1 - j : taps - 1 - j + n : 2]
            a.add_(tap, alpha=self.lo[j])
            d.add_(tap, alpha=self.hi[j])
        return out

    def _synthesis(self, c):  # adjoint along the last axis
        n, taps = c.shape[-1], self.taps
        left = taps // 2 - 1
        a, d = c[..., : n // 2], c[..., n // 2 :]
        xp = c.new_zeros(*c.shape[:-1], n + taps - 2)
        for j in range(taps):
            tap = xp[..., taps - 1 - j : taps - 1 - j + n : 2]
            tap.add_(a, alpha=self.lo[j]).add_(d, alpha=self.hi[j])
        out = xp[..., left : left + n].clone()
        out[..., n - left :] += xp[..., :left]
        out[..., : taps // 2 - 1] += xp[..., left + n :]
        return out

    def forward(self, x):
        y = self._analysis(x)
        return self._analysis(y.transpose(-1, -2)).transpose(-1, -2)

    def inverse(self, c):
        y = self._synthesis(c.transpose(-1, -2)).transpose(-1, -2)
        return self._synthesis(y)


class FloorWavelet:
    """Multi-level periodised 2-D DWT in pyramid layout (the LL quadrant transformed again)."""

    def __init__(self, wavelet: str, levels: int):
        self.levels = levels
        if wavelet == "haar":
            self.level, self.level_inverse = haar_level, haar_level_inverse
        else:
            bank = FilterLevel(wavelet)
            self.level, self.level_inverse = bank.forward, bank.inverse

    def forward(self, x):
        out = x.clone()
        h, w = x.shape[-2:]
        for _ in range(self.levels):
            out[..., :h, :w] = self.level(out[..., :h, :w])
            h, w = h // 2, w // 2
        return out

    def inverse(self, c):
        out = c.clone()
        h, w = c.shape[-2] >> (self.levels - 1), c.shape[-1] >> (self.levels - 1)
        for _ in range(self.levels):
            out[..., :h, :w] = self.level_inverse(out[..., :h, :w])
            h, w = 2 * h, 2 * w
        return out


def floor_solver(name: str, blur: FloorBlur, wavelet: FloorWavelet, y, x0):
    """Bare ISTA / FISTA on ½‖k ⊛ x − y‖² + λ‖Wx‖₁ with γ = 1/L; yields x^k."""
    gamma = 1.0 / blur.lipschitz
    threshold = LAM * gamma

    def prox_grad(v):
        v = v - gamma * blur.adjoint(blur.forward(v) - y)
        c = wavelet.forward(v)
        return wavelet.inverse(torch.sign(c) * torch.clamp(c.abs() - threshold, min=0.0))

    x_prev, v, t = x0.clone(), x0.clone(), 1.0
    while True:
        x = prox_grad(v)
        if name == "ista":
            v = x
        else:
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            v = x + ((t - 1.0) / t_next) * (x - x_prev)
            x_prev, t = x, t_next
        yield x


# --- the measurement -------------------------------------------------------------------------
def make_config(size: int, solver: str, wavelet: str) -> Config:
    return Config.from_dict(
        {
            "problem": {"image": "camera", "size": size, "degradation": "blur", "noise_sigma": 0.01, "params": KERNEL},
            "lanes": [
                {"solver": solver, "prior": "l1_wavelet", "params": {"lam": LAM, "wavelet": wavelet, "levels": LEVELS}}
            ],
            "run": {"device": "cpu", "dtype": "float32", "keep_iterates": 50},
        }
    )


def measure(size: int, solver: str, wavelet: str, iterations: int, warmup: int = 3) -> dict:
    """Median ms/iteration of floor, step and engine, stepped interleaved; max iterate difference."""
    config = make_config(size, solver, wavelet)
    run = Run(config)
    problem = run.problem
    steps, _, _ = build_solver(resolve_lane(config.lanes[0]), problem)
    blur = FloorBlur(problem.operator.kernel, problem.y.shape[-2:], problem.y.dtype)
    floor = floor_solver(solver, blur, FloorWavelet(wavelet, LEVELS), problem.y, problem.x0)
    times = {"floor": [], "step": [], "engine": []}
    max_diff = 0.0
    with torch.no_grad():
        for i in range(warmup + iterations):
            order = ("floor", "step", "engine")[i % 3 :] + ("floor", "step", "engine")[: i % 3]
            for part in order:
                start = time.perf_counter()
                if part == "floor":
                    x_floor = next(floor)
                elif part == "step":
                    x_step = next(steps).x
                else:
                    run.step()
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    times[part].append(1e3 * elapsed)
            max_diff = max(max_diff, float((x_floor - x_step).abs().max()))
    engine_x = run.lanes[0].x
    max_diff_engine = float((engine_x - x_step).abs().max())
    medians = {part: statistics.median(values) for part, values in times.items()}
    return {**medians, "max_diff": max_diff, "max_diff_engine": max_diff_engine, "status": run.lanes[0].status}


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| solver | wavelet | size | floor ms | step ms | engine ms | step/floor | engine/step "
        "| max abs diff floor vs step | targets |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        step_ratio, engine_ratio = r["step"] / r["floor"], r["engine"] / r["step"]
        ok_step = "met" if step_ratio <= TARGET_STEP else "not met"
        ok_engine = "met" if engine_ratio <= TARGET_ENGINE[r["size"]] else "not met"
        lines.append(
            f"| {r['solver']} | {r['wavelet']} | {r['size']} | {r['floor']:.2f} | {r['step']:.2f} "
            f"| {r['engine']:.2f} | {step_ratio:.2f} | {engine_ratio:.2f} | {r['max_diff']:.1e} "
            f"| step {ok_step}, engine {ok_engine} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=40, help="measured iterations per case")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--solvers", nargs="+", default=["fista", "ista"])
    parser.add_argument("--wavelets", nargs="+", default=["haar", "db4"])
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_all()
    header = (
        f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
        f"{platform.processor() or platform.machine()}; median of {args.iterations} iterations "
        f"(after 3 warm-up), floor/step/engine interleaved"
    )
    print(header)
    print(
        f"{'solver':<7}{'wavelet':<8}{'size':>5}{'floor':>9}{'step':>9}{'engine':>9}"
        f"{'step/floor':>12}{'engine/step':>13}{'max|diff|':>11}"
    )
    rows = []
    for size in args.sizes:
        for wavelet in args.wavelets:
            for solver in args.solvers:
                r = {
                    "solver": solver,
                    "wavelet": wavelet,
                    "size": size,
                    **measure(size, solver, wavelet, args.iterations),
                }
                rows.append(r)
                print(
                    f"{solver:<7}{wavelet:<8}{size:>5}{r['floor']:>9.2f}{r['step']:>9.2f}{r['engine']:>9.2f}"
                    f"{r['step'] / r['floor']:>12.2f}{r['engine'] / r['step']:>13.2f}{r['max_diff']:>11.1e}",
                    flush=True,
                )
                if r["max_diff_engine"] != 0.0:
                    print(f"  note: engine and step iterates differ by {r['max_diff_engine']:.1e}")
    if args.markdown:
        args.markdown.write_text(header + "\n\n" + "\n".join(table(rows)) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
