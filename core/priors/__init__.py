"""Priors g (value + prox) and plug-in denoisers. Importing registers the built-in ones."""

from .._discover import import_package_tree as _import_package_tree
from .base import Denoiser, L1Pixel, Prior, Zero, soft_threshold  # noqa: F401

_import_package_tree(__name__)
