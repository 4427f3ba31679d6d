"""Application start-up: Qt/pyqtgraph settings, what to open, restore after a crash, screenshots."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QPixmapCache  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from core.config import Config, default_config, load_config  # noqa: E402
from core.engine import Run  # noqa: E402
from core.session import SESSION_FILE, open_session  # noqa: E402

from . import theme  # noqa: E402
from .autosave import discard_marker, set_aside, unclean_autosave  # noqa: E402
from .lanes_panel import assign_lane_colors  # noqa: E402
from .main_thread_gc import install_main_thread_gc  # noqa: E402
from .native_items import PIXMAP_CACHE_KB  # noqa: E402
from .settings import app_settings  # noqa: E402


def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once) with pyqtgraph's row-major image order, the theme of the
    platform palette (:mod:`workbench.theme`) and cyclic garbage collection in the GUI thread
    only (:mod:`workbench.main_thread_gc`)."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Convergence Workbench")
    QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
    theme.apply_to_pyqtgraph()
    install_main_thread_gc()
    return app


#: what building a run from a file can raise besides ValueError: unreadable files, torch errors
#: (a device that fails), a config nested too deeply, an integer parameter set to inf, no memory
START_ERRORS = (ValueError, OSError, RuntimeError, RecursionError, OverflowError, MemoryError)
TITLE = "Convergence Workbench"


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (OSError: the file and the reason)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    if not isinstance(exc, ValueError):
        text = f"{type(exc).__name__}: {text}"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _read_start_config(source: str) -> tuple[Config, int]:
    path = Path(source)
    if path.is_dir() or path.name == SESSION_FILE:
        folder = path if path.is_dir() else path.parent
        config, metrics, _ = open_session(folder)
        counts = [len(table.get("iteration", ())) for table in metrics.values()]
        return config, max(counts, default=0)
    if not path.exists():
        raise ValueError(f"{path}: no such config file or session folder")
    return load_config(path), 0


def load_start(source: str | None) -> tuple[Run, int]:
    """The run to open and the iterations to replay: the embedded default, a config file or a
    session folder (replayed to its saved iteration count). The run is built here, so that a
    problem that cannot be built (an unreadable image, tampered weights, no CUDA) is reported
    before any window exists.

    Raises
    ------
    ValueError
        One line naming the file (and the key) and the reason.
    """
    where = "built-in default problem" if source is None else str(source)
    try:
        config, replay = (default_config(), 0) if source is None else _read_start_config(source)
        assign_lane_colors(config)
        run = Run(config)
    except START_ERRORS as exc:
        message = one_line(exc)
        raise ValueError(message if message.startswith(where) else f"{where}: {message}") from None
    return run, replay


def load_start_config(source: str | None) -> tuple[Config, int]:
    """Config to open and the iterations to replay (see :func:`load_start`, which also checks that
    the run can be built).

    Raises
    ------
    ValueError
        Naming the file and the reason.
    """
    run, replay = load_start(source)
    return run.config, replay


@dataclass
class Start:
    """What the window opens with.

    Attributes
    ----------
    run : Run
    replay : int
        Iterations to replay in the worker.
    autosave_dir : Path or None
        Where to autosave (the restored autosave's folder after a restore).
    restored : bool
        ``run`` is a restored autosave (its autosave must not be overwritten by the replay).
    messages : list of str
        What went wrong on the way (each also given to ``warn``).
    """

    run: Run
    replay: int = 0
    autosave_dir: Path | None = None
    restored: bool = False
    messages: list[str] = field(default_factory=list)


def start(
    source: str | None, autosave_dir: Path | None, ask_restore, warn: Callable[[str], None] | None = None
) -> Start:
    """What the window opens with: ``source`` if given; else, after an unclean exit (of an
    instance that is no longer running), the autosave when ``ask_restore()`` says yes; else the
    embedded default. Never raises for bad input: a source that cannot be opened is reported with
    ``warn`` and the default opens; an autosave that cannot be restored is also set aside
    (renamed), so that the next start is clean.
    """
    messages: list[str] = []

    def note(message: str) -> None:
        messages.append(message)
        if warn is not None:
            warn(message)

    if source is not None:
        try:
            run, replay = load_start(source)
            return Start(run, replay, autosave_dir)
        except ValueError as exc:
            note(f"cannot open {exc}; the default problem opens instead")
    crashed = unclean_autosave(autosave_dir) if source is None else None
    if crashed is not None:
        if ask_restore():
            try:
                run, replay = load_start(str(crashed))
                return Start(run, replay, crashed, restored=True)
            except ValueError as exc:
                try:
                    where = f"it was moved to {set_aside(crashed)}"
                except OSError as err:
                    discard_marker(crashed)
                    where = f"it could not be moved aside ({err.strerror}) and will not be offered again"
                note(f"cannot restore the autosave: {exc}; {where}")
        elif Path(crashed) != Path(autosave_dir):
            discard_marker(crashed)  # declined: a per-instance autosave is not offered again
    run, replay = load_start(None)
    return Start(run, replay, autosave_dir, messages=messages)


def start_config(
    source: str | None, autosave_dir: Path | None, ask_restore, warn: Callable[[str], None] | None = None
) -> tuple[Config, int]:
    """The config and the iterations to replay of :func:`start`."""
    begun = start(source, autosave_dir, ask_restore, warn)
    return begun.run.config, begun.replay


def install_slot_guard(window) -> Callable:
    """Show any exception that escapes a Qt slot as a message in ``window`` (one line on stderr,
    the traceback in the box's details) instead of a traceback on the terminal; returns the
    previous ``sys.excepthook``."""
    previous = sys.excepthook

    def hook(kind, value, tb) -> None:
        if issubclass(kind, (KeyboardInterrupt, SystemExit)):
            previous(kind, value, tb)
            return
        message = f"unexpected error: {one_line(value)}"
        print(f"error: {message}", file=sys.stderr)
        try:
            window.show_error(message, "".join(traceback.format_exception(kind, value, tb)))
        except RuntimeError:  # the window is already deleted
            pass

    sys.excepthook = hook
    return previous


def run_gui(source: str | None, autosave_dir: Path | None) -> int:
    """Open the main window (offering an autosave restore after an unclean exit)."""
    from .main_window import MainWindow

    app = make_app()

    def ask_restore() -> bool:
        answer = QMessageBox.question(None, TITLE, "The last session did not close cleanly. Restore its autosave?")
        return answer == QMessageBox.StandardButton.Yes

    def warn(message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        QMessageBox.warning(None, TITLE, message)

    begun = start(source, autosave_dir, ask_restore, warn)
    window = MainWindow(begun.run.config, autosave_dir=begun.autosave_dir, run=begun.run, settings=app_settings())
    if begun.restored:
        window.document.restored()
    else:  # the source, or the default problem when it could not be opened
        window.document.opened(source if source is not None and not begun.messages else None)
    install_slot_guard(window)
    if begun.replay:
        window.replay(begun.replay, restored=begun.restored)
    window.show()
    return app.exec()


def screenshot(out: str | Path, source: str | None, iterations: int, size: tuple[int, int]) -> int:
    """Run ``iterations`` steps, render the whole main window offscreen to ``out`` and return 0.

    Qt warnings are printed and make the command exit 3 (so visual checks catch them).
    """
    from .main_window import MainWindow

    warnings: list[str] = []

    def handler(kind, context, message):
        if (
            kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
            and "This plugin does not support" not in message
        ):
            warnings.append(message)
            print(f"Qt: {message}", file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    app = make_app()
    try:
        run, _ = load_start(source)
    except ValueError as exc:
        qInstallMessageHandler(previous)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(run.config, autosave_dir=None, start_thread=False, run=run)
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
