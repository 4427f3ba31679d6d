"""Build the :class:`~core.problem.Problem` a config describes: image → operator → noisy y → x⁰."""
from __future__ import annotations

import numpy as np
import torch

from .config import ProblemSpec
from .problem import Problem
from .registry import DEGRADATIONS

#: Seed offset of the noise generator (masks/kernels use ``seed``, noise ``seed + NOISE_SEED_OFFSET``).
NOISE_SEED_OFFSET = 7919


def resolve_device(device: str) -> torch.device:
    """``torch.device`` for a config's device string; a clear error if CUDA is asked but absent."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("[run] key 'device' = 'cuda' but no CUDA device is available; use device = 'cpu'")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"[run] key 'device' must be 'cpu' or 'cuda', got {device!r}")
    return torch.device(device)


def resolve_dtype(dtype: str) -> torch.dtype:
    """``torch.float32`` / ``torch.float64`` for a config's dtype string."""
    table = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in table:
        raise ValueError(f"[run] key 'dtype' must be one of {sorted(table)}, got {dtype!r}")
    return table[dtype]


#: Every image is cropped to a multiple of this, so that wavelet priors (up to 3 levels) apply.
BASE_MULTIPLE = 8


def crop_multiple(spec: ProblemSpec) -> int:
    """Side lengths are cropped to multiples of this.

    The least common multiple of :data:`BASE_MULTIPLE`, the SR scale (``sr``, ``sparse_sr``)
    and 2**levels (``sparse_sr``).
    """
    params = spec.params
    multiple = BASE_MULTIPLE
    if spec.degradation in ("sr", "sparse_sr"):
        multiple = int(np.lcm(multiple, int(params.get("scale", 1))))
    if spec.degradation == "sparse_sr":
        multiple = int(np.lcm(multiple, 2 ** int(params.get("levels", 0))))
    return multiple


def load_ground_truth(spec: ProblemSpec, rgb: np.ndarray | None = None) -> np.ndarray:
    """The ground-truth image as float64 (C, H, W) in [0, 1], cropped to :func:`crop_multiple`.

    For colour images with ``color_mode = "rgb"`` C = 3; otherwise C = 1 (grey, or Y of YCbCr
    for ``color_mode = "y"``; use :func:`load_rgb` for the colour original).
    """
    rgb = load_rgb(spec) if rgb is None else rgb
    if rgb.ndim == 2:
        return rgb[None]
    if spec.color_mode == "rgb":
        return np.moveaxis(rgb, -1, 0)
    from .images import rgb_to_ycbcr

    return np.asarray(rgb_to_ycbcr(rgb), dtype=np.float64)[..., 0][None]


def load_rgb(spec: ProblemSpec) -> np.ndarray:
    """The image as float64 (H, W) (grey) or (H, W, 3), centre-cropped to :func:`crop_multiple`."""
    from .images import load_image

    try:
        return load_image(spec.image, size=spec.size, grayscale=spec.grayscale, multiple_of=crop_multiple(spec))
    except ValueError as exc:
        raise ValueError(f"[problem] key 'image' = {spec.image!r}: {exc}") from None


def build_problem(spec: ProblemSpec, device: str | torch.device = "cpu",
                  dtype: str | torch.dtype = "float32") -> Problem:
    """Build the problem ``y = A x + σ n`` described by ``spec``.

    Parameters
    ----------
    spec : ProblemSpec
        Resolved problem section (``spec.params`` holds every degradation parameter).
    device : str or torch.device
        "cpu" or "cuda" (ValueError if CUDA is absent).
    dtype : str or torch.dtype
        float32 or float64 for the run; the operator is built in float64 on CPU first.

    Returns
    -------
    Problem
        With ``x_true`` (image, (C, H, W)), ``y``, ``x0 = A.initial_estimate(y)`` and, in
        colour mode "y", ``display["cbcr"]`` (chroma of the x⁰ estimate of each chroma channel)
        and ``display["cbcr_true"]`` for showing results in colour.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    dtype = resolve_dtype(dtype) if isinstance(dtype, str) else dtype
    entry = DEGRADATIONS.get_entry(spec.degradation)
    rgb = load_rgb(spec)
    x_true = torch.from_numpy(np.ascontiguousarray(load_ground_truth(spec, rgb)))
    operator_generator = torch.Generator().manual_seed(int(spec.seed))
    noise_generator = torch.Generator().manual_seed(int(spec.seed) + NOISE_SEED_OFFSET)
    try:
        operator = entry.factory(tuple(x_true.shape), dict(spec.params), operator_generator)
    except ValueError as exc:
        raise ValueError(f"[problem.params] of degradation '{spec.degradation}': {exc}") from None
    x0_unknown = operator.from_image(x_true)
    y = add_noise(operator.forward(x0_unknown), spec.noise_sigma, noise_generator)
    x0 = operator.initial_estimate(y)
    display = {}
    if x_true.shape[0] == 1 and rgb.ndim == 3:  # colour image solved on its Y channel
        display = chroma_display(spec, operator, noise_generator, rgb)
    problem = Problem(operator=operator, y=y, x0=x0, x_true=x_true, noise_sigma=float(spec.noise_sigma),
                      spec={"image": spec.image, "degradation": spec.degradation, **spec.params},
                      display=display)
    return problem.to(device, dtype)


def add_noise(clean: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``clean + σ n`` with n ~ N(0, 1) (complex data: n = (n_re + i n_im)/√2, so E|n|² = 1)."""
    if sigma == 0:
        return clean
    if clean.is_complex():
        real = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        imag = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        noise = torch.complex(real, imag).to(clean.dtype) / np.sqrt(2.0)
    else:
        noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64).to(clean.dtype)
    return clean + sigma * noise


def chroma_display(spec: ProblemSpec, operator, generator: torch.Generator, rgb: np.ndarray) -> dict:
    """Chroma for showing a luminance-only result in colour.

    The Cb and Cr channels go through the same degradation (and noise); their x⁰ estimate
    (bicubic, zero-filled, ...) is what the Y result is recombined with, like the usual
    "SR on Y, bicubic on CbCr" practice.
    """
    from .images import rgb_to_ycbcr

    ycbcr = np.asarray(rgb_to_ycbcr(rgb), dtype=np.float64)
    estimates = []
    for channel in (1, 2):
        truth = torch.from_numpy(np.ascontiguousarray(ycbcr[..., channel]))[None]
        observed = add_noise(operator.forward(operator.from_image(truth)), spec.noise_sigma, generator)
        estimates.append(operator.to_image(operator.initial_estimate(observed)))
    cbcr_true = torch.from_numpy(np.ascontiguousarray(np.moveaxis(ycbcr[..., 1:], -1, 0)))
    return {"cbcr": torch.cat(estimates, dim=0), "cbcr_true": cbcr_true}


def display_image(problem: Problem, image: torch.Tensor, *, chroma: str = "cbcr") -> np.ndarray:
    """An image-space tensor (C, H, W) as a float32 numpy display image (H, W) or (H, W, 3).

    In colour mode "y" a one-channel result is recombined with ``problem.display[chroma]``
    (Cb, Cr) and converted to RGB. Values are not clipped (viewers set explicit levels).
    """
    image = image.detach()
    if image.shape[0] == 1 and chroma in problem.display:
        from .images import ycbcr_to_rgb

        cbcr = problem.display[chroma].to(device=image.device, dtype=image.dtype)
        ycbcr = torch.cat([image, cbcr], dim=0).cpu().numpy()
        return np.asarray(ycbcr_to_rgb(np.moveaxis(ycbcr, 0, -1)), dtype=np.float32)
    array = image.cpu().numpy().astype(np.float32)
    return array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
