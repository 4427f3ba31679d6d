"""Mean SSIM (and the error sums of the other image metrics) in one pass: a compiled CPU kernel (numba).

:meth:`core.metrics.MetricContext.ssim` in torch's eager operators makes about forty passes over
image-sized arrays (forming the maps, two separable window sums, the map arithmetic), all
memory-bound; after a solver step has filled the caches with its own arrays they dominate the
engine's per-iteration cost. This kernel reads x and the reference once, row by row: it keeps the
7-row column sums of x, x² and x·ref as running sums, slides a 7-column window along each output
row, and adds up the SSIM map (Wang et al. 2004, eq. 13, scikit-image's defaults: uniform 7×7
window, sample covariance, the valid region) with the reference-only window means μ_y and
E[ref²] precomputed. Sums and the map are accumulated in float64, so in float64 it equals
scikit-image to rounding and in float32 it is at least as accurate as the torch path.

While each row enters the window the kernel also adds up, for the engine's other image metrics,
Σ(x − x_old)² and Σx_old² (relative change), Σ(x − ref)² (reconstruction error) and
Σ(clip(x, 0, R) − ref)² (PSNR), so that a lane's image metrics read x, x_old and ref once.

:func:`kernel` imports numba and compiles the kernel at its first call (importing numba costs a
third of a second, so a program that never measures an image does not pay it), and returns None
when numba cannot be imported; callers then use the torch path. numba compiles once per input
dtype and caches the machine code on disk where it can write (else it compiles in every process).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch

WINDOW = 7


def _planes_sums(x, y, old, has_old, data_range, mu_y, e_yy, c1, c2, cov_norm):
    """[mean SSIM, Σ(x − old)², Σold², Σ(x − y)², Σ(clip(x, 0, R) − y)²] over the planes (P, H, W)
    of x (module docstring). The loops along a row carry no dependency (the window sums along a
    row are 7 shifted adds), so the compiler vectorises them."""
    planes, height, width = x.shape
    cols = width - WINDOW + 1
    inv = 1.0 / (WINDOW * WINDOW)
    ssim_sum = change = old_sq = err = clipped = 0.0
    for plane in range(planes):
        xp, yp, op = x[plane], y[plane], old[plane]
        sx, sxx, sxy = np.zeros(width), np.zeros(width), np.zeros(width)  # 7-row column sums
        hx, hxx, hxy = np.zeros(cols), np.zeros(cols), np.zeros(cols)  # 7×7 window sums of one row
        for r in range(height):  # row r enters the column sums (and the error sums) once
            for j in range(width):  # (without a previous image, ``old`` is x: the change sums are 0)
                a, b, o = np.float64(xp[r, j]), np.float64(yp[r, j]), np.float64(op[r, j])
                sx[j] += a
                sxx[j] += a * a
                sxy[j] += a * b
                e = a - b
                err += e * e
                c = min(max(a, 0.0), data_range) - b
                clipped += c * c
                change += (a - o) * (a - o)
                old_sq += o * o
            i = r - WINDOW + 1  # the output row whose window now ends at row r
            if i < 0:
                continue
            if i > 0:  # the row above the window leaves the column sums
                for j in range(width):
                    p, q = np.float64(xp[i - 1, j]), np.float64(yp[i - 1, j])
                    sx[j] -= p
                    sxx[j] -= p * p
                    sxy[j] -= p * q
            for j in range(cols):
                hx[j] = sx[j] + sx[j + 1] + sx[j + 2] + sx[j + 3] + sx[j + 4] + sx[j + 5] + sx[j + 6]
                hxx[j] = sxx[j] + sxx[j + 1] + sxx[j + 2] + sxx[j + 3] + sxx[j + 4] + sxx[j + 5] + sxx[j + 6]
                hxy[j] = sxy[j] + sxy[j + 1] + sxy[j + 2] + sxy[j + 3] + sxy[j + 4] + sxy[j + 5] + sxy[j + 6]
            for j in range(cols):
                mx, my = hx[j] * inv, mu_y[plane, i, j]
                var_x = cov_norm * (hxx[j] * inv - mx * mx)
                var_y = cov_norm * (e_yy[plane, i, j] - my * my)
                cov = cov_norm * (hxy[j] * inv - mx * my)
                ssim_sum += ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / (
                    (mx * mx + my * my + c1) * (var_x + var_y + c2)
                )
    sums = np.zeros(5)
    sums[0] = ssim_sum / (planes * mu_y.shape[1] * mu_y.shape[2])
    if has_old:
        sums[1], sums[2] = change, old_sq
    sums[3], sums[4] = err, clipped
    return sums


_KERNEL: dict = {}
_KERNEL_LOCK = threading.Lock()


def kernel():
    """The compiled :func:`_planes_sums`, or None without numba (imported and compiled once)."""
    if "planes_sums" not in _KERNEL:  # the lock only until the first compile
        with _KERNEL_LOCK:
            if "planes_sums" not in _KERNEL:
                _KERNEL["planes_sums"] = _compile()
    return _KERNEL["planes_sums"]


def _compile():
    try:
        import numba
    except Exception:  # noqa: BLE001 - any import failure means: no kernel, the torch path
        return None
    # reassociation (and contraction) only, so that the row reductions vectorise; no fast-math
    # assumptions about NaN or infinities, which the metrics must propagate
    flags = {"reassoc", "contract", "nsz"}
    try:
        return numba.njit(cache=True, nogil=True, fastmath=flags)(_planes_sums)
    except RuntimeError:  # no writable cache location: compile in every process
        return numba.njit(nogil=True, fastmath=flags)(_planes_sums)


def applies(x: torch.Tensor, ref: torch.Tensor) -> bool:
    """Whether the kernel computes x's metrics: numba present, x a CPU image of the reference's
    shape, float32 or float64, no gradient, at least 7×7."""
    return (
        x.device.type == "cpu"
        and x.shape == ref.shape
        and not x.requires_grad
        and x.dtype in (torch.float32, torch.float64)
        and min(x.shape[-2:]) >= WINDOW
        and kernel() is not None
    )


def as_planes(t: torch.Tensor) -> np.ndarray:
    """``t`` (…, H, W) on the CPU as a numpy array of planes (P, H, W) (a view where possible)."""
    return t.detach().reshape(-1, *t.shape[-2:]).numpy()


class FusedImageMetrics:
    """The reference's part of the kernel for one reference (…, H, W) and data range R.

    Parameters
    ----------
    ref : Tensor
        The reference on the CPU, in the dtype of the images it will measure.
    data_range : float
    psnr_offset : float
        10 log₁₀(R²·N), N the pixels of one image.
    ref_norm : float
        ‖ref‖ (floored at the dtype's tiny).
    """

    def __init__(self, ref: torch.Tensor, data_range: float, psnr_offset: float, ref_norm: float):
        from .metrics import _window_mean  # the torch window means (core.metrics imports this module)

        self.ref = np.ascontiguousarray(as_planes(ref))
        ref64 = torch.from_numpy(self.ref).double()
        self.mu_y = np.ascontiguousarray(_window_mean(ref64).numpy())
        self.e_yy = np.ascontiguousarray(_window_mean(ref64 * ref64).numpy())
        self.data_range, self.psnr_offset, self.ref_norm = float(data_range), float(psnr_offset), float(ref_norm)
        self.c1, self.c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
        self.cov_norm = WINDOW * WINDOW / (WINDOW * WINDOW - 1.0)

    def sums(self, x: torch.Tensor, old: torch.Tensor | None = None) -> np.ndarray:
        """[mean SSIM, Σ(x − old)², Σold², Σ(x − ref)², Σ(clip(x, 0, R) − ref)²] (float64)."""
        planes = np.ascontiguousarray(as_planes(x))
        old_planes = planes if old is None else np.ascontiguousarray(as_planes(old))
        return kernel()(
            planes,
            self.ref,
            old_planes,
            old is not None,
            self.data_range,
            self.mu_y,
            self.e_yy,
            self.c1,
            self.c2,
            self.cov_norm,
        )

    def metrics(self, x: torch.Tensor, old: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """rec_error, psnr, ssim and (with ``old``) rel_change of x as 0-d tensors of x's dtype,
        defined as in core.metrics (PSNR of clip(x, 0, R); rel_change's denominator floored at tiny)."""
        ssim_mean, change, old_sq, err, clipped = self.sums(x, old)
        psnr_db = math.inf if clipped == 0.0 else self.psnr_offset - 10.0 * math.log10(clipped)
        values = [math.sqrt(err) / self.ref_norm, psnr_db, ssim_mean]
        if old is not None:
            values.append(math.sqrt(change) / max(math.sqrt(old_sq), torch.finfo(x.dtype).tiny))
        return dict(zip(("rec_error", "psnr", "ssim", "rel_change"), torch.tensor(values, dtype=x.dtype).unbind()))


def kernel_for(context, x: torch.Tensor) -> FusedImageMetrics | None:
    """The kernel's reference part for x, built once per dtype and kept in the cache of
    ``context`` (a :class:`core.metrics.MetricContext`); None where :func:`applies` does not hold."""
    if not applies(x, context.ref):
        return None
    cache = context.cache_for(x)
    if "fused" not in cache:
        cache["fused"] = FusedImageMetrics(cache["ref"], context.data_range, cache["psnr_offset"], cache["ref_norm"])
    return cache["fused"]


def image_metrics(context, x: torch.Tensor, x_old: torch.Tensor | None) -> dict[str, torch.Tensor] | None:
    """:meth:`FusedImageMetrics.metrics` of x against ``context``'s reference, or None where the
    kernel does not apply (x, or ``x_old`` of another shape or dtype)."""
    kernel = kernel_for(context, x)
    if kernel is None or (x_old is not None and (x_old.shape != x.shape or x_old.dtype != x.dtype)):
        return None
    return kernel.metrics(x, x_old)
