"""Priors g (value + prox) and plug-in denoisers. Importing registers the built-in ones."""
from .base import Denoiser, L1Pixel, Prior, Zero, soft_threshold  # noqa: F401
from .._discover import import_submodules as _import_submodules

_import_submodules(__name__, __path__)
