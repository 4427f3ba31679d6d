"""Where the project's files are: shipped weights, presets, benchmark results and data sets.

Every other module asks here instead of walking up from its own ``__file__``. In a checkout the
files are where the repository keeps them; in an installed package the weights and presets are
its package data (``core.data.weights``, ``core.data.presets``, found through the import system)
and what the program writes goes to the platform's user folders (platformdirs). Each location
can be overridden by an environment variable:

=================  ======================  =========================================================
location           variable                default (checkout / installed)
=================  ======================  =========================================================
weights            ``CW_WEIGHTS_DIR``      ``resources/weights`` / package data
presets            ``CW_PRESETS_DIR``      ``sessions/examples`` / package data
results            ``CW_RESULTS_DIR``      ``bench/results`` / user data folder ``results``
training output    ``CW_OUT_DIR``          ``out`` / user cache folder
benchmark data     ``CW_DATA_DIR``         ``../shared/data`` beside the checkout / user data ``data``
=================  ======================  =========================================================
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent
APP_NAME = "convergence-workbench"


def in_checkout() -> bool:
    """True when running from the source tree (not from an installed package)."""
    return (CHECKOUT_DIR / "pyproject.toml").is_file() and (CHECKOUT_DIR / "resources").is_dir()


def _location(variable: str, default: Path) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else default


def _package_data(package: str) -> Path:
    """The folder of an installed data package (a namespace package: no ``__init__.py``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"the installed package has no data folder '{package}'; reinstall convergence-workbench")
    return Path(list(spec.submodule_search_locations)[0])


def user_data_dir() -> Path:
    """The platform's per-user data folder of the program (created on demand by writers)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def weights_dir() -> Path:
    """Folder of the shipped network weights and their manifest."""
    default = CHECKOUT_DIR / "resources" / "weights" if in_checkout() else _package_data("core.data.weights")
    return _location("CW_WEIGHTS_DIR", default)


def presets_dir() -> Path:
    """Folder of the example configs (one per degradation)."""
    default = CHECKOUT_DIR / "sessions" / "examples" if in_checkout() else _package_data("core.data.presets")
    return _location("CW_PRESETS_DIR", default)


def preset(name: str) -> Path:
    """Path of the preset ``NAME.toml``."""
    return presets_dir() / f"{name}.toml"


def results_dir() -> Path:
    """Folder the reproductions write their tables and figures into."""
    default = CHECKOUT_DIR / "bench" / "results" if in_checkout() else user_data_dir() / "results"
    return _location("CW_RESULTS_DIR", default)


def out_dir() -> Path:
    """Scratch output folder (training checkpoints, cached data sets)."""
    if in_checkout():
        default = CHECKOUT_DIR / "out"
    else:
        import platformdirs

        default = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return _location("CW_OUT_DIR", default)


def data_dir() -> Path:
    """Folder of the benchmark data sets (Set5, Set11, Set12, Levin kernels)."""
    default = CHECKOUT_DIR.parent / "shared" / "data" if in_checkout() else user_data_dir() / "data"
    return _location("CW_DATA_DIR", default)


def dataset(name: str) -> Path | None:
    """``data_dir()/NAME`` when that folder exists (benchmarks fall back to catalogue images)."""
    path = data_dir() / name
    return path if path.is_dir() else None


def levin_kernels_file() -> Path:
    """The MAT file of Levin et al.'s eight blur kernels (may not exist)."""
    return data_dir() / "Levin09_kernels" / "Levin09.mat"
