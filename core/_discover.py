"""Import every module of a package so that its components register themselves."""

from __future__ import annotations

import importlib
import pkgutil


def import_package_tree(package_name: str) -> None:
    """Import ``package_name`` and, recursively, every module and subpackage below it (sorted),
    skipping names that start with ``_``."""
    package = importlib.import_module(package_name)
    for info in sorted(pkgutil.iter_modules(getattr(package, "__path__", [])), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        name = f"{package_name}.{info.name}"
        if info.ispkg:
            import_package_tree(name)
        else:
            importlib.import_module(name)
