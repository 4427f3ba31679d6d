"""Per-iteration quality metrics, computed in torch on the iterate's device with no host sync.

Images are (H, W) or (..., C, H, W); PSNR and SSIM reduce over the last three dimensions
(the last two for a 2-D image), so a batch (N, C, H, W) gives one value per image.
Every function returns tensors (0-d for a single image).

``ssim`` reproduces ``skimage.metrics.structural_similarity(x, ref, data_range=1)`` with its
defaults: a 7×7 uniform window, K1 = 0.01, K2 = 0.03, sample covariance (× 49/48), averaged
over the valid region (skimage's filter output cropped by (7 − 1)//2 = 3 on each side, which is
exactly where the window lies inside the image, so an unpadded 7×7 window mean gives the same
numbers). Colour images average over channels like skimage's ``channel_axis``.

The window means are separable box sums (7 consecutive samples summed along W, then along H,
each one ``sum`` over a strided window view), computed for three maps of x (x, x² and x·ref
with the reference's terms folded in) in one stacked pass; the reference's own means and the
constants that depend only on it are cached. For a CPU image of the reference's shape the compiled
one-pass kernel of :mod:`core.fused_metrics` gives the same SSIM, rel_change, rec_error and PSNR.
"""

from __future__ import annotations

import math
import weakref

import torch
from torch import Tensor

from . import fused_metrics

METRIC_NAMES = ("rel_change", "rec_error", "psnr", "ssim", "objective", "opt_error", "opt_bound", "accepted")
SSIM_WINDOW = 7
SSIM_K1, SSIM_K2 = 0.01, 0.03
#: SSIM map elements evaluated together (a band of rows whose temporaries fit a CPU core's cache)
SSIM_BAND_ELEMENTS = 65536


def _nan(like: Tensor) -> Tensor:
    return torch.full((), float("nan"), dtype=_real_dtype(like), device=like.device)


def _real_dtype(t: Tensor) -> torch.dtype:
    return t.real.dtype if t.is_complex() else (t.dtype if t.is_floating_point() else torch.get_default_dtype())


def _image_dims(t: Tensor) -> tuple[int, ...]:
    """Dimensions one image spans: (H, W) for 2-D input, (C, H, W) otherwise."""
    return (-2, -1) if t.dim() == 2 else (-3, -2, -1)


def _window_sum(t: Tensor) -> Tensor:
    """7×7 window sums over the valid region of every (H, W) plane; leading dims kept.

    Separable: sums of 7 consecutive samples along W (a strided window view reduced by one
    ``sum``), then along H; the output is (..., H − 6, W − 6).
    """
    return t.unfold(-1, SSIM_WINDOW, 1).sum(-1).unfold(-2, SSIM_WINDOW, 1).sum(-1)


def _window_mean(t: Tensor) -> Tensor:
    """7×7 uniform mean over the valid region of every (H, W) plane (the window sums / 49)."""
    return _window_sum(t).mul_(1.0 / SSIM_WINDOW**2)


def _ssim_terms(ref: Tensor, data_range: float) -> dict[str, Tensor]:
    """The reference-only terms of :meth:`MetricContext.ssim` (see its comments)."""
    window = SSIM_WINDOW**2
    cov_norm = window / (window - 1)  # sample covariance, NP/(NP−1)
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    k = c2 / cov_norm + c1
    mu_y = _window_mean(ref)

    def scalar(value: float) -> Tensor:
        return torch.tensor(value, dtype=ref.dtype, device=ref.device)

    return {
        "c1": scalar(c1),
        "ssim_scale": scalar(1.0 / window),
        "ssim_k": scalar(k / window),
        "ssim_xx": (ref * ref + k) / window,
        "ssim_mu2": 2.0 * mu_y,
        "ssim_mu_yy": mu_y * mu_y + c1,
    }


def _check_ssim_shape(t: Tensor, name: str) -> None:
    if t.dim() < 2 or min(t.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"{name} must be an image at least {SSIM_WINDOW}×{SSIM_WINDOW} for SSIM, got shape {tuple(t.shape)}"
        )


class MetricContext:
    """Reference-dependent quantities cached once per ground truth.

    Parameters
    ----------
    ref : Tensor
        Reference image, (H, W) or (..., C, H, W).
    data_range : float
        Intensity range R (1 for [0, 1] images).

    Notes
    -----
    Caches ‖ref‖ and the reference-only SSIM terms (2 μ_y, μ_y² + C1, the maps added to x² and
    x·ref before the window sums; per device and dtype), so each iteration needs one stacked
    window pass over three maps of x only.
    """

    def __init__(self, ref: Tensor, data_range: float = 1.0):
        self.ref = ref
        self.data_range = float(data_range)
        self._cache: dict[tuple, dict[str, Tensor]] = {}

    def cache_for(self, like: Tensor) -> dict[str, Tensor]:
        key = (like.device, like.dtype)
        if key not in self._cache:
            ref = self.ref.to(device=like.device, dtype=like.dtype)
            entry = {"ref": ref, "ref_norm": torch.linalg.vector_norm(ref).clamp_min(torch.finfo(ref.dtype).tiny)}
            pixels = math.prod(ref.shape[d] for d in _image_dims(ref))
            entry["clip_low"], entry["clip_high"] = -ref, self.data_range - ref
            entry["psnr_offset"] = 10.0 * math.log10(self.data_range**2 * pixels)
            if ref.dim() >= 2 and min(ref.shape[-2:]) >= SSIM_WINDOW:
                entry.update(_ssim_terms(ref, self.data_range))
            self._cache[key] = entry
        return self._cache[key]

    def _check(self, x: Tensor) -> None:
        if x.shape[-self.ref.dim() :] != self.ref.shape:
            raise ValueError(f"image shape {tuple(x.shape)} does not match the reference {tuple(self.ref.shape)}")

    def psnr(self, x: Tensor) -> Tensor:
        """PSNR = 10 log₁₀(R² / MSE) in dB, with x clipped to [0, R] first (ref is not clipped)."""
        return self.errors(x)[1]

    def errors(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(rec_error, psnr)`` of x from one difference e = x − ref.

        rec_error = ‖e‖ / ‖ref‖ over all elements; PSNR from clip(e, −ref, R − ref), which is
        exactly clip(x, 0, R) − ref (rounding is monotone), as 10 log₁₀(R²·N) − 10 log₁₀‖·‖²
        per image (N pixels per image). The squared norms of one real image are dot products.
        """
        self._check(x)
        cached = self.cache_for(x)
        ref = cached["ref"]
        e = x - ref
        if e.shape != ref.shape or not _dot_ready(e):  # a batch, or complex
            rec = torch.linalg.vector_norm(e) / cached["ref_norm"]
            clipped = e.clamp_(cached["clip_low"], cached["clip_high"])
            norm = torch.linalg.vector_norm(clipped, dim=_image_dims(ref))
            return rec, torch.log10(norm).mul_(-20.0).add_(cached["psnr_offset"])
        flat = e.view(-1)
        rec = torch.dot(flat, flat).sqrt_().div_(cached["ref_norm"])
        e.clamp_(cached["clip_low"], cached["clip_high"])
        return rec, torch.dot(flat, flat).log10_().mul_(-10.0).add_(cached["psnr_offset"])

    def ssim(self, x: Tensor) -> Tensor:
        """Mean SSIM (skimage defaults, see module notes); x is not clipped."""
        self._check(x)
        _check_ssim_shape(x, "x")
        cached = self.cache_for(x)
        ref = cached["ref"]
        kernel = fused_metrics.kernel_for(self, x)
        if kernel is not None:  # one compiled pass
            return torch.tensor(kernel.sums(x)[0], dtype=x.dtype)
        # SSIM map (Wang et al. 2004, eq. 13): (A1·A2) / (B1·B2) with A1 = 2 μx μy + C1,
        # B1 = μx² + μy² + C1, A2 = 2 σxy + C2, B2 = σx² + σy² + C2, where E is the 7×7 window
        # mean, σxy = c (E[x·ref] − μx μy), σx² = c (E[x²] − μx²), c = 49/48 (sample covariance).
        # A2 and B2 are both taken divided by c (the ratio is unchanged), so that
        #   A2/c = (2 E[x·ref] + C2/c + C1) − A1,   B2/c = (E[x²] + E[ref²] + C2/c + C1) − B1,
        # and one stacked window pass over x/49, (2 x·ref + k)/49 and (x² + ref² + k)/49
        # (k = C2/c + C1) gives μx and both brackets. The map is evaluated in bands of output
        # rows of about SSIM_BAND_ELEMENTS elements (a band's temporaries stay in the CPU cache);
        # the band sums add up to the mean.
        dims = _image_dims(ref)
        rows = x.shape[-2] - SSIM_WINDOW + 1
        band = max(1, SSIM_BAND_ELEMENTS * x.shape[-2] // max(x.numel(), 1))
        total = None
        for top in range(0, rows, band):
            part = self._ssim_map_sum(x, cached, top, min(top + band, rows), dims)
            total = part if total is None else total.add_(part)
        return total.div_(rows * (x.shape[-1] - SSIM_WINDOW + 1) * math.prod(ref.shape[d] for d in dims[:-2]))

    @staticmethod
    def _ssim_map_sum(x: Tensor, cached: dict, top: int, bottom: int, dims) -> Tensor:
        """Sum over output rows [top, bottom) of the SSIM map (see :meth:`ssim`)."""
        inputs = slice(top, bottom + SSIM_WINDOW - 1)
        x = x[..., inputs, :]
        ref, xx_term = cached["ref"][..., inputs, :], cached["ssim_xx"][..., inputs, :]
        shape = x.shape if x.shape == ref.shape else torch.broadcast_shapes(x.shape, ref.shape)
        stacked = x.new_empty((3, *shape))
        torch.mul(x, cached["ssim_scale"], out=stacked[0])  # x/49
        torch.addcmul(cached["ssim_k"], x, ref, value=2.0 / SSIM_WINDOW**2, out=stacked[1])  # (2 x·ref + k)/49
        torch.addcmul(xx_term, x, x, value=1.0 / SSIM_WINDOW**2, out=stacked[2])  # (x² + ref² + k)/49
        sums = _window_sum(stacked)  # μx, 2 E[x·ref] + k, E[x²] + E[ref²] + k
        mu_x = sums[0]
        a1_b1 = x.new_empty((2, *mu_x.shape))
        torch.addcmul(cached["c1"], mu_x, cached["ssim_mu2"][..., top:bottom, :], out=a1_b1[0])  # A1
        torch.addcmul(cached["ssim_mu_yy"][..., top:bottom, :], mu_x, mu_x, out=a1_b1[1])  # B1
        a2_b2 = sums[1:].sub_(a1_b1)  # A2/c, B2/c
        products = a1_b1.mul_(a2_b2)  # A1·A2/c, B1·B2/c
        return torch.div(products[0], products[1]).sum(dim=dims)

    def image_metrics(self, x: Tensor, x_old: Tensor | None) -> dict[str, Tensor] | None:
        """rel_change (with ``x_old``), rec_error, psnr, ssim from one compiled pass, or None where
        it does not apply (:func:`core.fused_metrics.image_metrics`)."""
        return fused_metrics.image_metrics(self, x, x_old)

    def rec_error(self, x: Tensor) -> Tensor:
        """‖x − ref‖ / ‖ref‖ over all elements (denominator floored at the dtype's tiny)."""
        return self.errors(x)[0]


def psnr(
    x: Tensor,
    ref: Tensor,
    data_range: float = 1.0,
    *,
    image_dims: tuple[int, ...] | None = None,
    mse_floor: float = 0.0,
    clip: bool = True,
) -> Tensor:
    """Peak signal-to-noise ratio 10 log₁₀(R² / MSE) in dB; x is clipped to [0, R] first (ref is not).

    The one PSNR of the project: the metrics, the benchmarks and the training validation use it.

    Parameters
    ----------
    x, ref : Tensor
        (H, W) or (..., C, H, W).
    data_range : float
        R.
    image_dims : tuple of int, optional
        The dimensions one image spans (default: (H, W) for 2-D ``ref``, else (C, H, W)); one
        value per remaining index.
    mse_floor : float
        Lower bound of the MSE (0: ``inf`` when x equals ref).
    clip : bool
        Clip x to [0, R] first (off for signals that are not images, e.g. mean-removed patches).

    Returns
    -------
    Tensor
        0-d for one image.
    """
    dims = _image_dims(ref) if image_dims is None else tuple(image_dims)
    mse = (((x.clamp(0.0, data_range) if clip else x) - ref) ** 2).mean(dim=dims)
    if mse_floor > 0:
        mse = mse.clamp_min(mse_floor)
    return 10.0 * torch.log10(data_range**2 / mse)


def ssim(x: Tensor, ref: Tensor, data_range: float = 1.0) -> Tensor:
    """Mean structural similarity, equal to skimage's ``structural_similarity`` defaults.

    Parameters
    ----------
    x, ref : Tensor
        (H, W) or (..., C, H, W) with H, W ≥ 7; colour → mean over channels.
    data_range : float

    Returns
    -------
    Tensor
        0-d for one image.
    """
    _check_ssim_shape(ref, "ref")
    return MetricContext(ref, data_range).ssim(x)


def rel_change(x_new: Tensor, x_old: Tensor) -> Tensor:
    """‖x_new − x_old‖ / ‖x_old‖ (denominator floored at the dtype's tiny, so 0/0 gives 0)."""
    tiny = torch.finfo(_real_dtype(x_old)).tiny
    if x_new.shape == x_old.shape and _dot_ready(x_new) and _dot_ready(x_old):
        diff, old = (x_new - x_old).view(-1), x_old.reshape(-1)
        return torch.dot(diff, diff).sqrt_().div_(torch.dot(old, old).sqrt_().clamp_min_(tiny))
    return torch.dist(x_new, x_old) / torch.linalg.vector_norm(x_old).clamp_min(tiny)


def _dot_ready(t: Tensor) -> bool:
    """Whether ``torch.dot`` of ``t.reshape(-1)`` with itself is its squared norm, without a copy."""
    return t.is_floating_point() and t.is_contiguous() and t.dtype in (torch.float32, torch.float64)


def rec_error(x: Tensor, ref: Tensor) -> Tensor:
    """Relative reconstruction error ‖x − ref‖ / ‖ref‖."""
    return MetricContext(ref).rec_error(x)


_CONTEXTS: dict[int, tuple[weakref.ref, MetricContext]] = {}


def context_for(ref: Tensor) -> MetricContext:
    """The cached :class:`MetricContext` of a ground-truth tensor (one per live tensor object)."""
    key = id(ref)
    found = _CONTEXTS.get(key)
    if found is not None and found[0]() is ref:
        return found[1]
    for stale in [k for k, (r, _) in _CONTEXTS.items() if r() is None]:
        del _CONTEXTS[stale]
    context = MetricContext(ref)
    _CONTEXTS[key] = (weakref.ref(ref), context)
    return context


def _as_scalar(value, like: Tensor) -> Tensor:
    """An info entry as a 0-d tensor of the iterate's real dtype and device (no host sync)."""
    dtype = _real_dtype(like)
    if isinstance(value, Tensor):
        if value.dtype == dtype and value.device == like.device and value.dim() == 0:
            return value.detach()
        return value.detach().to(device=like.device, dtype=dtype).reshape(())
    return torch.tensor(float(value), dtype=dtype, device=like.device)


def compute_metrics(
    problem,
    prior,
    x_new: Tensor,
    x_old: Tensor | None,
    info: dict | None = None,
    context: MetricContext | None = None,
    *,
    image: Tensor | None = None,
    image_old: Tensor | None = None,
) -> dict[str, Tensor]:
    """All per-iteration metrics of one lane.

    Parameters
    ----------
    problem : core.problem.Problem
    prior : Prior or None
        Used for the objective Φ(x) = ½‖Ax − y‖² + g(x) unless ``info["objective"]`` is given
        (``info["prior_value"]`` = g(x), when given, replaces ``prior.value(x)``).
    x_new, x_old : Tensor
        Current and previous iterates in the unknown's space (x_old None on the first step).
    info : dict, optional
        ``Step.info``; ``objective``, ``opt_error``, ``opt_bound``, ``accepted`` are taken from it.
    context : MetricContext, optional
        Cached reference quantities (default: :func:`context_for` ``problem.x_true``).
    image, image_old : Tensor, optional
        ``problem.to_image(x_new)`` and ``problem.to_image(x_old)`` when the caller already has
        them (a lane keeps the previous iterate's image), so that neither is mapped again.

    Returns
    -------
    dict
        Keys :data:`METRIC_NAMES`, each a 0-d tensor on x_new's device; NaN where not
        applicable (no ground truth, no previous iterate, key absent from ``info``).
        Image metrics use ``problem.to_image(x)``.
    """
    found = applicable_metrics(problem, prior, x_new, x_old, info, context, image=image, image_old=image_old)
    nan = _nan(x_new)
    return {name: found.get(name, nan) for name in METRIC_NAMES}


def applicable_metrics(
    problem,
    prior,
    x_new: Tensor,
    x_old: Tensor | None,
    info: dict | None = None,
    context: MetricContext | None = None,
    *,
    image: Tensor | None = None,
    image_old: Tensor | None = None,
) -> dict[str, Tensor]:
    """The metrics of :func:`compute_metrics` that apply, in :data:`METRIC_NAMES` order.

    Same arguments; the names that would be NaN there are left out (a lane's history fills
    them with NaN without a tensor per name).
    """
    info = info or {}
    if image is None:
        image = problem.to_image(x_new)
    out = {}
    if x_old is not None and image_old is None:
        image_old = problem.to_image(x_old)
    ctx = None if problem.x_true is None else (context if context is not None else context_for(problem.x_true))
    fused = None if ctx is None else ctx.image_metrics(image, image_old)
    if fused is not None:  # all four from one compiled pass
        out.update((name, fused[name]) for name in METRIC_NAMES if name in fused)
    else:
        if x_old is not None:
            out["rel_change"] = rel_change(image, image_old)
        if ctx is not None:
            out["rec_error"], out["psnr"] = ctx.errors(image)
            if min(image.shape[-2:]) >= SSIM_WINDOW:
                out["ssim"] = ctx.ssim(image)
    objective = info.get("objective")
    if objective is None:
        g_x = info.get("prior_value")
        objective = problem.objective(x_new, prior) if g_x is None else problem.fidelity(x_new) + g_x
    out["objective"] = _as_scalar(objective, x_new)
    for name in ("opt_error", "opt_bound", "accepted"):
        if info.get(name) is not None:
            out[name] = _as_scalar(info[name], x_new)
    return out
