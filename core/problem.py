"""The inverse problem a run solves (operator, observation, ground truth, x⁰) and how a config's
``[problem]`` section builds it: image → operator → noisy y → x⁰."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .config import ProblemSpec
from .device import resolve_device, resolve_dtype
from .display import chroma_display
from .operators.base import Operator
from .registry import DEGRADATIONS

#: Seed offset of the noise generator (masks/kernels use ``seed``, noise ``seed + NOISE_SEED_OFFSET``).
NOISE_SEED_OFFSET = 7919


class BuildCancelled(Exception):
    """A build stopped between two of its stages because its ``should_stop()`` returned True."""


def check_stop(should_stop) -> None:
    """Raise :class:`BuildCancelled` when ``should_stop`` (a callable, or None) says so."""
    if should_stop is not None and should_stop():
        raise BuildCancelled("problem build cancelled")


@dataclass
class Problem:
    """One inverse problem y = A x + n.

    Attributes
    ----------
    operator : Operator
        Forward model A acting on the unknown.
    y : Tensor
        Observation (real, or complex for MRI).
    x0 : Tensor
        Initial estimate in the unknown's space (Aᵀy, bicubic, zero-filled, ...).
    x_true : Tensor or None
        Ground-truth *image* (C, H, W) when known.
    noise_sigma : float
        Standard deviation of the additive Gaussian noise (intensity scale [0, 1]).
    spec : dict
        The resolved problem section of the config (for display and sessions).
    """

    operator: Operator
    y: Tensor
    x0: Tensor
    x_true: Tensor | None = None
    noise_sigma: float = 0.0
    spec: dict[str, Any] = field(default_factory=dict)
    # extra display data (e.g. chroma channels for Y-only solving)
    display: dict[str, Any] = field(default_factory=dict)

    def to_image(self, z: Tensor) -> Tensor:
        """Unknown → image (identity except sparse-coding SR, where α ↦ W⁻¹α)."""
        return self.operator.to_image(z)

    def from_image(self, x: Tensor) -> Tensor:
        """Image → unknown (used by modules that act on images, e.g. PODM's denoiser)."""
        return self.operator.from_image(x)

    # f(x) = ½‖Ax − y‖² ---------------------------------------------------------------
    def residual(self, x: Tensor) -> Tensor:
        """A x − y."""
        return self.operator.forward(x) - self.y

    def fidelity(self, x: Tensor) -> Tensor:
        """f(x) = ½‖Ax − y‖² as a 0-d tensor (``Operator.residual_norm_sq``)."""
        return 0.5 * self.operator.residual_norm_sq(x, self.y)

    @staticmethod
    def fidelity_of_residual(r: Tensor) -> Tensor:
        """½‖r‖² for a residual r = Ax − y the caller already has (0-d tensor)."""
        return 0.5 * (r.abs() ** 2 if r.is_complex() else r * r).sum()

    def grad_fidelity(self, x: Tensor) -> Tensor:
        """∇f(x) = Aᵀ(Ax − y)."""
        return self.operator.adjoint(self.residual(x))

    def objective(self, x: Tensor, prior=None) -> Tensor:
        """Φ(x) = f(x) + g(x) (g omitted when ``prior`` is None)."""
        value = self.fidelity(x)
        if prior is not None:
            value = value + prior.value(x)
        return value

    def lipschitz(self) -> float:
        """L_f = ‖A‖₂²."""
        return self.operator.lipschitz()

    def to(self, device=None, dtype=None) -> Problem:
        """Move operator and tensors in place; returns self."""
        self.operator.to(device, dtype)

        def move(t):
            if not isinstance(t, Tensor):
                return t
            if t.is_complex():
                cd = None if dtype is None else (torch.complex128 if dtype == torch.float64 else torch.complex64)
                return t.to(device=device, dtype=cd)
            return t.to(device=device, dtype=dtype)

        self.y = move(self.y)
        self.x0 = move(self.x0)
        self.x_true = move(self.x_true)
        self.display = {k: move(v) for k, v in self.display.items()}
        return self


#: Every image is cropped to a multiple of this, so that wavelet priors (up to 3 levels) apply.
BASE_MULTIPLE = 8


def crop_multiple(spec: ProblemSpec) -> int:
    """Side lengths are cropped to multiples of this.

    The least common multiple of :data:`BASE_MULTIPLE` and what the degradation declares it
    needs of the image (its registry entry's ``image_multiple(params)``, e.g. the SR scale).
    """
    entry = DEGRADATIONS.get_entry(spec.degradation)
    needs = entry.extra.get("image_multiple")
    return int(np.lcm(BASE_MULTIPLE, int(needs(spec.params)) if needs is not None else 1))


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
    from .colour import rgb_to_ycbcr

    return np.asarray(rgb_to_ycbcr(rgb), dtype=np.float64)[..., 0][None]


def load_rgb(spec: ProblemSpec) -> np.ndarray:
    """The image as float64 (H, W) (grey) or (H, W, 3), centre-cropped to :func:`crop_multiple`."""
    from .images import load_image

    try:
        return load_image(spec.image, size=spec.size, grayscale=spec.grayscale, multiple_of=crop_multiple(spec))
    except ValueError as exc:
        raise ValueError(f"[problem] key 'image' = {spec.image!r}: {exc}") from None


def build_problem(
    spec: ProblemSpec, device: str | torch.device = "cpu", dtype: str | torch.dtype = "float32", should_stop=None
) -> Problem:
    """Build the problem ``y = A x + σ n`` described by ``spec``.

    Parameters
    ----------
    spec : ProblemSpec
        Resolved problem section (``spec.params`` holds every degradation parameter).
    device : str or torch.device
        "cpu" or "cuda" (ValueError if CUDA is absent).
    dtype : str or torch.dtype
        float32 or float64 for the run; the operator is built in float64 on CPU first.
    should_stop : callable, optional
        Asked between the stages (image load, operator, degradation, x⁰, colour display); when
        it returns True the build raises :class:`BuildCancelled`.

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
    check_stop(should_stop)
    rgb = load_rgb(spec)
    x_true = torch.from_numpy(np.ascontiguousarray(load_ground_truth(spec, rgb)))
    check_stop(should_stop)
    operator_generator = torch.Generator().manual_seed(int(spec.seed))
    noise_generator = torch.Generator().manual_seed(int(spec.seed) + NOISE_SEED_OFFSET)
    try:
        operator = entry.factory(tuple(x_true.shape), dict(spec.params), operator_generator)
    except ValueError as exc:
        raise ValueError(f"[problem.params] of degradation '{spec.degradation}': {exc}") from None
    check_stop(should_stop)
    x0_unknown = operator.from_image(x_true)
    y = add_noise(operator.forward(x0_unknown), spec.noise_sigma, noise_generator)
    check_stop(should_stop)
    x0 = initial_point(operator, y, x0_unknown, spec.init)
    display = {}
    if x_true.shape[0] == 1 and rgb.ndim == 3:  # colour image solved on its Y channel

        def degrade(channel: torch.Tensor) -> torch.Tensor:
            check_stop(should_stop)
            observed = add_noise(operator.forward(operator.from_image(channel)), spec.noise_sigma, noise_generator)
            return operator.to_image(operator.initial_estimate(observed))

        display = chroma_display(rgb, degrade)
    problem = Problem(
        operator=operator,
        y=y,
        x0=x0,
        x_true=x_true,
        noise_sigma=float(spec.noise_sigma),
        spec={"image": spec.image, "degradation": spec.degradation, **spec.params},
        display=display,
    )
    check_stop(should_stop)
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


def initial_point(operator, y: torch.Tensor, like: torch.Tensor, init: str) -> torch.Tensor:
    """x⁰ for ``init`` = "default" (the operator's estimate), "zeros" or "adjoint" (Aᵀy)."""
    if init == "zeros":
        return torch.zeros_like(like)
    if init == "adjoint":
        return operator.adjoint(y)
    if init != "default":
        raise ValueError(f"[problem] key 'init' must be 'default', 'zeros' or 'adjoint', got {init!r}")
    return operator.initial_estimate(y)
