"""Colour conversions: RGB ↔ YCbCr (ITU-R BT.601 studio swing), on numpy arrays or torch tensors."""

from __future__ import annotations

import numpy as np

# ITU-R BT.601 studio-swing YCbCr (the MATLAB ``rgb2ycbcr`` convention used by SR papers):
# on [0, 1] data Y ∈ [16/255, 235/255], Cb, Cr ∈ [16/255, 240/255].
_YCBCR_MATRIX = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0]) / 255.0


def _apply_colour_matrix(img, matrix: np.ndarray, offset: np.ndarray, channel_axis: int, pre: bool):
    """Affine colour map on numpy arrays or torch tensors along ``channel_axis`` (size 3)."""
    if img.shape[channel_axis] != 3:
        raise ValueError(f"img must have 3 channels on axis {channel_axis}, got shape {tuple(img.shape)}")
    if isinstance(img, np.ndarray):
        moved = np.moveaxis(np.asarray(img, dtype=np.float64), channel_axis, -1)
        out = (moved - offset) @ matrix.T if pre else moved @ matrix.T + offset
        return np.moveaxis(out, -1, channel_axis)
    import torch

    moved = torch.movedim(img, channel_axis, -1)
    m = torch.as_tensor(matrix, dtype=img.dtype, device=img.device)
    o = torch.as_tensor(offset, dtype=img.dtype, device=img.device)
    out = (moved - o) @ m.T if pre else moved @ m.T + o
    return torch.movedim(out, -1, channel_axis)


def rgb_to_ycbcr(img, channel_axis: int = -1):
    """RGB in [0, 1] → YCbCr, ITU-R BT.601 studio swing (MATLAB ``rgb2ycbcr`` divided by 255).

    Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255 ∈ [16/255, 235/255]; Cb, Cr ∈ [16/255, 240/255].
    SR papers report PSNR on this Y channel.

    Parameters
    ----------
    img : np.ndarray or torch.Tensor
        3 channels on ``channel_axis`` (-1 for (H, W, 3), -3 for (3, H, W)); same type returned.
    channel_axis : int
    """
    return _apply_colour_matrix(img, _YCBCR_MATRIX, _YCBCR_OFFSET, channel_axis, pre=False)


def ycbcr_to_rgb(img, channel_axis: int = -1):
    """Inverse of :func:`rgb_to_ycbcr` (exact affine inverse; not clipped)."""
    return _apply_colour_matrix(img, np.linalg.inv(_YCBCR_MATRIX), _YCBCR_OFFSET, channel_axis, pre=True)
