"""Application start-up: Qt/pyqtgraph settings, what to open, restore after a crash, screenshots."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from core.config import Config, default_config, load_config  # noqa: E402
from core.session import SESSION_FILE  # noqa: E402


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once) with pyqtgraph's row-major image order."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Convergence Workbench")
    return app


def load_start_config(source: str | None) -> tuple[Config, int]:
    """Config to open and the iterations to replay: the embedded default, a config file or a
    session folder (replayed to its saved iteration count).

    Raises
    ------
    ValueError
        Naming the file and the reason.
    """
    if source is None:
        return default_config(), 0
    path = Path(source)
    if path.is_dir() or path.name == SESSION_FILE:
        folder = path if path.is_dir() else path.parent
        from core.session import open_session

        config, metrics, _ = open_session(folder)
        counts = [len(table.get("iteration", ())) for table in metrics.values()]
        return config, max(counts, default=0)
    if not path.exists():
        raise ValueError(f"{path}: no such config file or session folder")
    return load_config(path), 0


def start_config(source: str | None, autosave_dir: Path | None, ask_restore) -> tuple[Config, int]:
    """What the window opens with: ``source`` if given; else, after an unclean exit, the
    autosave when ``ask_restore()`` says yes; else the embedded default.

    Returns the config and the number of iterations to replay.
    """
    from .autosave import unclean_autosave

    crashed = unclean_autosave(autosave_dir) if source is None else None
    if crashed is not None and ask_restore():
        return load_start_config(str(crashed))
    return load_start_config(source)


def run_gui(source: str | None, autosave_dir: Path | None) -> int:
    """Open the main window (offering an autosave restore after an unclean exit)."""
    from .main_window import MainWindow

    app = make_app()

    def ask_restore() -> bool:
        answer = QMessageBox.question(None, "Convergence Workbench",
                                      "The last session did not close cleanly. Restore its autosave?")
        return answer == QMessageBox.StandardButton.Yes

    try:
        config, replay = start_config(source, autosave_dir, ask_restore)
    except ValueError as exc:
        if source is not None:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        QMessageBox.warning(None, "Convergence Workbench", f"cannot restore the autosave: {exc}")
        config, replay = default_config(), 0
    window = MainWindow(config, autosave_dir=autosave_dir)
    if replay:
        window.worker.run_to(replay)
    window.show()
    return app.exec()


def screenshot(out: str | Path, source: str | None, iterations: int, size: tuple[int, int]) -> int:
    """Run ``iterations`` steps, render the whole main window offscreen to ``out`` and return 0.

    Qt warnings are printed and make the command exit 3 (so visual checks catch them).
    """
    from .main_window import MainWindow

    warnings: list[str] = []

    def handler(kind, context, message):
        if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) \
                and "This plugin does not support" not in message:
            warnings.append(message)
            print(f"Qt: {message}", file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    app = make_app()
    try:
        config, _ = load_start_config(source)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(config, autosave_dir=None, start_thread=False)
    window.resize(*size)
    window.show()
    window.step_synchronously(iterations)
    for _ in range(5):
        app.processEvents()
    window.refresh()
    app.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out), "PNG")
    window.close()
    qInstallMessageHandler(previous)
    if not ok:
        print(f"error: {out}: cannot write PNG", file=sys.stderr)
        return 2
    print(f"wrote {out} ({size[0]}×{size[1]}, {iterations} iterations)")
    return 3 if warnings else 0
