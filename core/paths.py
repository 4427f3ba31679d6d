"""Where the project's files are: shipped weights, presets, benchmark results and data sets.

Every other module asks here instead of walking up from its own ``__file__``. Each location can
be overridden by an environment variable, so that an installed package or a user's own data
set is found without editing code:

=================  ======================  ===========================================
location           variable                default
=================  ======================  ===========================================
weights            ``CW_WEIGHTS_DIR``      ``<checkout>/resources/weights``
presets            ``CW_PRESETS_DIR``      ``<checkout>/sessions/examples``
results            ``CW_RESULTS_DIR``      ``<checkout>/bench/results``
training output    ``CW_OUT_DIR``          ``<checkout>/out``
benchmark data     ``CW_DATA_DIR``         ``<checkout>/../shared/data``
=================  ======================  ===========================================
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def _location(variable: str, default: Path) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else default


def weights_dir() -> Path:
    """Folder of the shipped network weights and their manifest."""
    return _location("CW_WEIGHTS_DIR", CHECKOUT_DIR / "resources" / "weights")


def presets_dir() -> Path:
    """Folder of the example configs (one per degradation)."""
    return _location("CW_PRESETS_DIR", CHECKOUT_DIR / "sessions" / "examples")


def preset(name: str) -> Path:
    """Path of the preset ``NAME.toml``."""
    return presets_dir() / f"{name}.toml"


def results_dir() -> Path:
    """Folder the reproductions write their tables and figures into."""
    return _location("CW_RESULTS_DIR", CHECKOUT_DIR / "bench" / "results")


def out_dir() -> Path:
    """Scratch output folder (training checkpoints, cached data sets)."""
    return _location("CW_OUT_DIR", CHECKOUT_DIR / "out")


def data_dir() -> Path:
    """Folder of the benchmark data sets (Set5, Set11, Set12, Levin kernels)."""
    return _location("CW_DATA_DIR", CHECKOUT_DIR.parent / "shared" / "data")


def dataset(name: str) -> Path | None:
    """``data_dir()/NAME`` when that folder exists (benchmarks fall back to catalogue images)."""
    path = data_dir() / name
    return path if path.is_dir() else None


def levin_kernels_file() -> Path:
    """The MAT file of Levin et al.'s eight blur kernels (may not exist)."""
    return data_dir() / "Levin09_kernels" / "Levin09.mat"
