"""The layers of the project, checked on the sources with ``ast`` (every import statement,
module level or inside functions, absolute or relative, and ``importlib.import_module`` /
``__import__`` calls with a constant name):

* ``core/`` never imports the GUI: ``workbench``, PySide6, PyQt*, shiboken6, pyqtgraph;
* the classical layer (``core.operators``, ``core.priors``, ``core.solvers``) never imports the
  learned one (``core.learned``);
* no module of ``core/`` or ``workbench/`` is over 400 lines.

(tests/core/test_headless.py checks the same GUI rule at run time, on what ``import`` loads.)
"""

from __future__ import annotations

import ast
from pathlib import Path

from core.paths import CHECKOUT_DIR

CORE = CHECKOUT_DIR / "core"
WORKBENCH = CHECKOUT_DIR / "workbench"
GUI_PACKAGES = ("workbench", "PySide6", "shiboken6", "pyqtgraph")
CLASSICAL = ("core.operators", "core.priors", "core.solvers")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CHECKOUT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (or in ``source``, read as if it
    were that file); ``from a import b`` yields both ``a`` and ``a.b`` (b may be a submodule)."""
    source = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(source, filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def sources(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if "__pycache__" not in path.parts)


def is_gui(module: str) -> bool:
    top = module.split(".")[0]
    return top in GUI_PACKAGES or top.startswith("PyQt")


def test_the_import_parser_sees_every_kind_of_import():
    source = (
        "import PySide6.QtCore\nfrom ..learned.lista import net\nfrom . import base\n"
        "def f():\n    from workbench import app\n    import importlib\n"
        "    importlib.import_module('pyqtgraph')\n    __import__('PyQt6')\n"
    )
    modules = [m for _, m in imported_modules(CORE / "solvers" / "probe.py", source)]
    assert "PySide6.QtCore" in modules and "core.learned.lista" in modules and "core.learned.lista.net" in modules
    assert "core.solvers" in modules and "core.solvers.base" in modules
    assert {"workbench", "workbench.app", "pyqtgraph", "PyQt6"} <= set(modules)
    package = [m for _, m in imported_modules(CORE / "priors" / "__init__.py", "from .base import Prior\n")]
    assert package == ["core.priors.base", "core.priors.base.Prior"]
    assert [is_gui(m) for m in ("PyQt5.QtWidgets", "shiboken6", "workbench.app", "core.engine", "pyqtgraph")] == [
        True,
        True,
        True,
        False,
        True,
    ]
    assert len(sources(CORE)) > 50 and len(sources(WORKBENCH)) > 10


def test_core_never_imports_the_gui():
    offenders = [
        f"{path.relative_to(CHECKOUT_DIR)}:{line}: {module}"
        for path in sources(CORE)
        for line, module in imported_modules(path)
        if is_gui(module)
    ]
    assert offenders == []


def test_the_classical_layer_never_imports_the_learned_one():
    offenders = []
    for package in CLASSICAL:
        for path in sources(CHECKOUT_DIR.joinpath(*package.split("."))):
            for line, module in imported_modules(path):
                if module == "core.learned" or module.startswith("core.learned."):
                    offenders.append(f"{path.relative_to(CHECKOUT_DIR)}:{line}: {module}")
    assert offenders == []


def long_modules() -> list[str]:
    found = []
    for path in sources(CORE) + sources(WORKBENCH):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.relative_to(CHECKOUT_DIR)}: {lines} lines")
    return found


def test_no_module_is_over_400_lines():
    assert long_modules() == []
