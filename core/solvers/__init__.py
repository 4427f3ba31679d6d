"""Solvers: one module per algorithm, each a generator of Steps, registered by name."""

from .._discover import import_package_tree as _import_package_tree
from .base import Step  # noqa: F401

_import_package_tree(__name__)
