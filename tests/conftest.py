"""Shared test fixtures.

Layout: ``tests/core/`` mirrors ``core/`` (``tests/core/learned/`` the learned methods,
``tests/core/contracts/`` the registry-driven contract tests) and ``tests/workbench/`` mirrors
``workbench/``. Test folders have no ``__init__.py`` (a ``tests/core`` package would shadow the
real ``core``), so test file names are unique across folders, and shared helpers
(``_solver_problems``, this ``conftest``) are imported by bare name from ``tests/``, which is put
on ``sys.path`` below, after the checkout (so ``import core`` is always the real package).

Qt runs headless (``QT_QPA_PLATFORM=offscreen``) and every test that uses Qt fails when Qt
logs a warning (pytest-qt's ``qt_log_level_fail`` marker is added to each such test), because
threading mistakes in Qt usually surface only as logged warnings.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
CHECKOUT = TESTS_DIR.parent
for _path in (str(TESTS_DIR), str(CHECKOUT)):  # checkout first: tests/core must not shadow core
    if _path in sys.path:
        sys.path.remove(_path)
    sys.path.insert(0, _path)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402  (the environment above must be set before Qt is imported)

# Messages the offscreen platform plugin prints for harmless window-manager requests.
BENIGN_QT_MESSAGES = (
    r"This plugin does not support",
    r"QFont::setPointSizeF: Point size <= 0",
)


#: fixtures that make a test a Qt test
QT_FIXTURES = {"qtbot", "qapp", "main_window"}


def pytest_collection_modifyitems(config, items):
    """Make Qt warnings fail every test that touches Qt."""
    for item in items:
        if QT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*BENIGN_QT_MESSAGES))


@pytest.fixture(autouse=True)
def collect_garbage_in_the_main_thread(request):
    """Qt tests run as the workbench does: automatic cyclic collection off, collected from a
    main-thread timer (:mod:`workbench.main_thread_gc`), and once more here after the test. Left
    to the automatic collector, the widgets of a closed window were collected in a worker
    thread; PySide then deferred their deletion to the main thread, where it deadlocked inside a
    later test's event loop (``QObject::~QObject`` waiting on a signal-slot mutex). Tests without
    Qt run with the automatic collector on."""
    import gc

    if not QT_FIXTURES & set(request.fixturenames):
        was_enabled = gc.isenabled()
        gc.enable()
        yield
        if not was_enabled:
            gc.disable()
        return
    request.getfixturevalue("qapp")
    from workbench.main_thread_gc import install_main_thread_gc

    install_main_thread_gc().start()
    yield
    gc.collect()


@pytest.fixture
def scratch_registries():
    """Every registry of :mod:`core.registry` (loaded), restored to its exact contents after the
    test: use it in every test that registers (or removes) a component, so nothing leaks into
    the other tests. Yields ``{attribute name: Registry}``."""
    from _registries import scratch

    with scratch() as registries:
        yield registries


def small_config(size: int = 64):
    """The PODM paper's Fig. 2 problem (FISTA + PODM, sparse-coding SR ×2) at ``size`` px for fast GUI
    tests (the GUI tests were written on it; the workbench's own default is ``default_config()``)."""
    from core.config import figure2_config

    config = figure2_config()
    config.problem.size = size
    config.run.keep_iterates = 50
    return config


def wait_idle(qtbot, window, timeout=60000):
    """Wait until the window's worker is paused with nothing left to do, then repaint."""
    qtbot.waitUntil(lambda: window.worker.idle, timeout=timeout)
    window.worker.publish()
    window.refresh()


@pytest.fixture
def main_window(qtbot):
    """The workbench main window on the default problem at 64 px (no autosave)."""
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    make_app()
    window = MainWindow(small_config(), autosave_dir=None)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


# a registered solver ``_test_slow`` whose steps take long or wait until the test releases them,
# for tests of what the GUI does while the worker is mid-step
STEP_SECONDS = 1.0
#: a held step ends when the test releases it, or after this long (so a broken close fails, not hangs)
HOLD_LIMIT_SECONDS = 30.0


class SlowSteps(threading.Event):
    """Set when a step began. ``hold()`` makes the next steps wait for ``release``."""

    def __init__(self):
        super().__init__()
        self.held = False
        self.release = threading.Event()
        self.released_by_timeout = False

    def hold(self):
        self.held = True

    def wait_in_step(self):
        if not self.held:
            time.sleep(STEP_SECONDS)
        elif not self.release.wait(HOLD_LIMIT_SECONDS):
            self.released_by_timeout = True


@pytest.fixture
def slow_solver(monkeypatch):
    """Register ``_test_slow``: every step sleeps ``STEP_SECONDS`` (or waits while held); the
    returned event tells that a step began."""
    from core.registry import SOLVERS, Entry
    from core.solvers.base import Step

    in_step = SlowSteps()

    def slow(problem):
        x = problem.x0.clone()
        k = 0
        while True:
            in_step.set()
            in_step.wait_in_step()
            k += 1
            yield Step(k, x)

    monkeypatch.setitem(
        SOLVERS,
        "_test_slow",
        Entry(
            "_test_slow",
            slow,
            (),
            "sleeps at every step",
            {"kind": "solver", "needs_prior": False, "needs_denoiser": False, "learned": False},
        ),
    )
    return in_step
