"""Conversions between the solver's tensors and what a viewer shows (numpy display images).

Kept apart from the numerics: a luminance-only result is shown in colour by recombining it with
chroma that went through the same degradation (the usual "SR on Y, bicubic on CbCr" practice).
"""

from __future__ import annotations

import numpy as np
import torch

from .colour import rgb_to_ycbcr, ycbcr_to_rgb


def chroma_display(rgb: np.ndarray, degrade) -> dict:
    """Chroma for showing a luminance-only result in colour.

    Parameters
    ----------
    rgb : np.ndarray
        The colour original, (H, W, 3) in [0, 1].
    degrade : callable
        ``degrade(channel) -> image``: one (1, H, W) channel through the problem's degradation
        and noise, then the operator's initial estimate (bicubic, zero-filled, ...).

    Returns
    -------
    dict
        ``cbcr``: the degraded chroma the Y result is recombined with; ``cbcr_true``: the original's.
    """
    ycbcr = np.asarray(rgb_to_ycbcr(rgb), dtype=np.float64)
    estimates = [degrade(torch.from_numpy(np.ascontiguousarray(ycbcr[..., channel]))[None]) for channel in (1, 2)]
    cbcr_true = torch.from_numpy(np.ascontiguousarray(np.moveaxis(ycbcr[..., 1:], -1, 0)))
    return {"cbcr": torch.cat(estimates, dim=0), "cbcr_true": cbcr_true}


def display_image(problem, image: torch.Tensor, *, chroma: str = "cbcr") -> np.ndarray:
    """An image-space tensor (C, H, W) as a float32 numpy display image (H, W) or (H, W, 3).

    In colour mode "y" a one-channel result is recombined with ``problem.display[chroma]``
    (Cb, Cr) and converted to RGB. Values are not clipped (viewers set explicit levels).
    """
    image = image.detach()
    if image.shape[0] == 1 and chroma in problem.display:
        cbcr = problem.display[chroma].to(device=image.device, dtype=image.dtype)
        ycbcr = torch.cat([image, cbcr], dim=0).cpu().numpy()
        return np.asarray(ycbcr_to_rgb(np.moveaxis(ycbcr, 0, -1)), dtype=np.float32)
    array = image.cpu().numpy().astype(np.float32)
    return array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
