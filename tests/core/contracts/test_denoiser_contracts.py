"""Contract of every registered denoiser (``DENOISERS``, default parameters, float32 and float64):
``denoiser(x, σ)`` keeps the shape and dtype of (C, H, W) and (N, C, H, W) inputs, is finite, treats
batch items independently, accepts σ as a float or a 0-d tensor, and works on non-square images.

Parametrised over ``DENOISERS`` (ids = registry names): a newly registered denoiser is checked the
day it is added, with no edit here. Denoising quality of the classical ones is checked in
tests/core/test_priors.py, of the learned one in tests/core/learned/test_learned_denoiser.py.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.registry import DENOISERS, load_all

load_all()
DENOISER_NAMES = sorted(DENOISERS)


@functools.lru_cache(maxsize=1)
def _example_folder():
    return Path(tempfile.mkdtemp(prefix="denoiser-examples-"))


def make_denoiser(name: str, dtype: torch.dtype):
    """The denoiser with its default parameters, moved to ``dtype`` where it has ``.to`` (as a lane
    moves it to the run's dtype)."""
    entry = DENOISERS.get_entry(name)
    example = entry.extra.get("example")  # denoisers that read a file write an example one
    params = example(_example_folder()) if example is not None else {}
    denoiser = entry.factory(entry.resolve(params))
    mover = getattr(denoiser, "to", None)
    if callable(mover):
        moved = mover(dtype=dtype)
        denoiser = denoiser if moved is None else moved
    return denoiser


def noisy_camera(dtype, side: int = 32, sigma: float = 0.1):
    from skimage import data, transform

    clean = transform.resize(data.camera().astype(np.float64) / 255.0, (side, side), anti_aliasing=True)
    clean = torch.from_numpy(clean)[None]
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return clean.to(dtype), (clean + sigma * noise).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", DENOISER_NAMES)
def test_denoiser_keeps_shape_and_dtype_and_is_finite(name, dtype):
    denoiser = make_denoiser(name, dtype)
    clean, noisy = noisy_camera(dtype)
    sigma = 0.1
    with torch.no_grad():
        single = denoiser(noisy, sigma)
        assert single.shape == noisy.shape and single.dtype == dtype and bool(torch.isfinite(single).all())
        batch = torch.stack([noisy, clean, noisy.flip(-1)])  # (N, C, H, W)
        out = denoiser(batch, torch.tensor(sigma, dtype=dtype))
        assert out.shape == batch.shape and out.dtype == dtype and bool(torch.isfinite(out).all())
        atol = 1e-4 if dtype == torch.float32 else 1e-8
        assert torch.allclose(out[0], single, rtol=0, atol=atol)  # items independent
        assert torch.allclose(out[2], denoiser(noisy.flip(-1), sigma), rtol=0, atol=atol)
        wide = denoiser(noisy[:, :24, :], sigma)  # non-square
        assert wide.shape == (1, 24, 32) and bool(torch.isfinite(wide).all())
