"""The device and dtype strings of a config's ``[run]`` section, as torch objects."""

from __future__ import annotations

import torch


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
