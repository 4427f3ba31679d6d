"""Snapshots of every registry in :mod:`core.registry`, so that a test can register fake
components and leave the global registries exactly as it found them.

Used by the ``scratch_registries`` fixture (tests/conftest.py); importable by bare name.
"""

from __future__ import annotations

from contextlib import contextmanager

from core import registry as _registry
from core.registry import Registry, load_all


def all_registries() -> dict[str, Registry]:
    """Every :class:`Registry` object defined in :mod:`core.registry`, by attribute name."""
    return {name: value for name, value in vars(_registry).items() if isinstance(value, Registry)}


def snapshot() -> dict[str, tuple[Registry, dict]]:
    """The contents of every registry after :func:`load_all` (entries kept by identity)."""
    load_all()
    return {name: (table, dict(table)) for name, table in all_registries().items()}


def restore(saved: dict[str, tuple[Registry, dict]]) -> None:
    """Put every registry back to ``saved``: added names removed, removed or replaced ones back."""
    for table, contents in saved.values():
        table.clear()
        table.update(contents)


def differences(saved: dict[str, tuple[Registry, dict]]) -> list[str]:
    """How the registries differ from ``saved`` (empty when identical, entry by entry)."""
    found = []
    for name, (table, contents) in saved.items():
        for key in sorted(set(table) | set(contents)):
            if key not in contents:
                found.append(f"{name}: '{key}' added")
            elif key not in table:
                found.append(f"{name}: '{key}' removed")
            elif table[key] is not contents[key]:
                found.append(f"{name}: '{key}' replaced")
    return found


@contextmanager
def scratch():
    """Registries that may be changed freely inside the block and are restored on exit."""
    saved = snapshot()
    try:
        yield {name: table for name, (table, _) in saved.items()}
    finally:
        restore(saved)
