"""Convergence Workbench headless engine (torch + numpy only; never imports Qt)."""

__version__ = "0.1.0"
