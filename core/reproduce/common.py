"""Helpers shared by the image benchmarks of the learned methods: test images, problems, lanes, PSNR."""

from __future__ import annotations

import torch

from ..metrics import psnr
from . import shared_dataset


def benchmark_images(folder: str, count: int, size: int | None, fallback=("camera", "astronaut", "coffee")):
    """(label, image source, size) from ../shared/data/``folder`` (first ``count``), else catalogue."""
    path = shared_dataset(folder)
    if path is not None:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".bmp"))
        return folder, [(f.stem, str(f)) for f in files[:count]]
    return "catalogue", [(n, n) for n in fallback[:count]]


def build(image: str, degradation: str, size: int | None, sigma: float = 0.0, seed: int = 0, **params):
    """A float32 CPU problem for ``image`` (grey)."""
    from ..config import ProblemSpec
    from ..problem import build_problem
    from ..registry import DEGRADATIONS

    spec = ProblemSpec(
        image=image,
        size=size,
        degradation=degradation,
        noise_sigma=sigma,
        seed=seed,
        params=DEGRADATIONS.get_entry(degradation).resolve(params),
    )
    return build_problem(spec, dtype="float32")


def image_psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    """PSNR (data range 1) of x clipped to [0, 1]."""
    return float(psnr(x, ref, image_dims=tuple(range(x.dim()))))


def run_lane(lane, iterations: int, stop=None):
    """Advance a solver generator up to ``iterations`` steps (or until ``stop(step)``); last Step."""
    step = None
    for step in lane:
        if step.k >= iterations or (stop is not None and stop(step)) or step.info.get("ended") is True:
            break
    return step


def solver(name: str, problem, prior_name: str | None = None, prior_params: dict | None = None, **params):
    """A solver generator with an optional registered prior, built as the engine builds a lane."""
    from ..lane import build_solver
    from ..lane_spec import LaneSpec, resolve_lane

    spec = resolve_lane(LaneSpec(solver=name, prior=prior_name, params={**(prior_params or {}), **params}))
    return build_solver(spec, problem)[0]
