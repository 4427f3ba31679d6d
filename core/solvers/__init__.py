"""Solvers: one module per algorithm, each a generator of Steps, registered by name."""
from .base import Step  # noqa: F401
