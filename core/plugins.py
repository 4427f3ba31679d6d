"""Bring-your-own components: plugins register solvers, priors, denoisers, degradations and
network architectures into the same registries as the built-in ones.

Two ways in:

* a package declares an entry point in the group :data:`ENTRY_POINT_GROUP`; the module it names
  is imported by :func:`core.registry.load_all` (a callable entry point is also called);
* a single Python file is loaded with :func:`load_plugin_file` (``--plugin FILE.py`` on the
  command lines, File → Load plugin… in the workbench).

A plugin that fails to load never takes the program down: entry-point failures are collected in
:data:`PLUGIN_ERRORS` (and shown by ``python -m core list``); a file that fails raises one
``ValueError`` naming it, and whatever it registered before failing is removed again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

ENTRY_POINT_GROUP = "convergence_workbench.plugins"

#: entry point name -> one-line error of the plugins that failed to load
PLUGIN_ERRORS: dict[str, str] = {}
_LOADED_FILES: dict[Path, tuple[ModuleType, list]] = {}


def _registries():
    from . import registry

    return [value for value in vars(registry).values() if isinstance(value, registry.Registry)]


def _snapshot():
    return [(table, dict(table)) for table in _registries()]


def _restore(saved) -> None:
    for table, contents in saved:
        table.clear()
        table.update(contents)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def load_plugin_file(path: str | Path) -> ModuleType:
    """Import the plugin file ``path`` (once per file) so that its components register themselves.

    Raises
    ------
    ValueError
        Naming the file: missing, not a ``.py`` file, or raising while it is imported (its
        registrations are then undone).
    """
    from .registry import load_all

    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"plugin {path}: file not found")
    if path.suffix != ".py":
        raise ValueError(f"plugin {path}: a plugin is a Python file ending in .py")
    load_all()
    if path in _LOADED_FILES:
        module, added = _LOADED_FILES[path]
        if all(name in table for table, name in added):
            return module  # loaded before and its components are still registered
    name = f"cw_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    saved = _snapshot()
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  (a plugin can raise anything; the program goes on)
        _restore(saved)
        del sys.modules[name]
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" (line {frame.lineno})" if Path(frame.filename).resolve() == path else ""
        raise ValueError(f"plugin {path}{where}: {_one_line(exc)}") from None
    added = [(table, name) for table, contents in saved for name in table if name not in contents]
    _LOADED_FILES[path] = (module, added)
    return module


def load_entry_point_plugins() -> list[str]:
    """Import every installed plugin of :data:`ENTRY_POINT_GROUP`; returns the names loaded."""
    loaded = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        saved = _snapshot()
        try:
            target = entry_point.load()
            if callable(target) and not isinstance(target, ModuleType):
                target()
        except Exception as exc:  # noqa: BLE001
            _restore(saved)
            PLUGIN_ERRORS[entry_point.name] = f"plugin '{entry_point.name}' ({entry_point.value}): {_one_line(exc)}"
            continue
        loaded.append(entry_point.name)
    return loaded
