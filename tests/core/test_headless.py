"""core never imports Qt: importing the engine, CLI and every registered component is Qt-free."""

from __future__ import annotations

import json
import subprocess
import sys

from core.paths import CHECKOUT_DIR as ROOT

PROBE = """
import json, sys
import core, core.engine, core.cli, core.config, core.session, core.problem
from core.registry import load_all
load_all()
from core.config import default_config
core.cli.describe_components()
gui = sorted(m for m in sys.modules
             if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'PyQt5', 'PyQt6', 'workbench'))
print(json.dumps({'gui': gui, 'engine': 'core.engine' in sys.modules, 'n': len(sys.modules)}))
"""


def test_importing_core_does_not_import_qt():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["engine"] is True
    assert report["gui"] == []


def test_core_sources_never_mention_qt_imports():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                name in stripped for name in ("PySide6", "pyqtgraph", "PyQt", "workbench")
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []
