"""Helpers shared by the tests of the unrolled block-CS networks (ISTA-Net⁺, FISTA-Net)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.operators.cs import BlockCS, orthonormal_rows


def psnr(x, ref):
    return float(10 * torch.log10(1.0 / ((x.clamp(0, 1) - ref) ** 2).mean()))


def numpy_soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def conv(x, layer):
    """``layer`` (a 3×3 Conv2d) applied with its own weights, as a reference."""
    return F.conv2d(x, layer.weight, layer.bias, padding=1)


def single_block_cs(seed=0, ratio=25):
    """(operator, Φ as numpy, x, y) for one 33×33 block at ``ratio`` %."""
    m = round(ratio / 100 * 1089)
    phi = orthonormal_rows(m, 1089, torch.Generator().manual_seed(seed))
    op = BlockCS(phi, 33, (1, 33, 33))
    x = torch.rand(1, 33, 33, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    return op, phi.numpy(), x, op.forward(x)
