"""Import every module of a package so that its components register themselves."""
from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str, package_path, prefix: str = "") -> None:
    """Import ``package_name.<module>`` for each module in ``package_path`` (sorted) whose name
    starts with ``prefix`` and not with ``_``."""
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name):
        if info.name.startswith(prefix) and not info.name.startswith("_"):
            importlib.import_module(f"{package_name}.{info.name}")
