"""Solvers: one module per algorithm, each a generator of Steps, registered by name."""
from .base import Step  # noqa: F401
from .._discover import import_submodules as _import_submodules

_import_submodules(__name__, __path__)
