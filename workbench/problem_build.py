"""Building a new problem (opening an image, changing its size, degradation, device or precision)
off the GUI thread, with a busy indicator that can be cancelled and a warning before sizes that
will be slow.

The ``Run`` is built in a background thread of its own, so neither the window nor the solver
worker waits for it. Cancel gives control back at once and sets the build's cancel event: the
build stops at its next stage boundary (``Run(config, should_stop=...)`` raises
``core.problem.BuildCancelled``, which the build thread swallows) and its result, if it got that
far, is dropped. A newer build supersedes (cancels) an older one the same way.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from core.config import Config
from core.engine import Run
from core.problem import BuildCancelled

#: a problem whose longer side exceeds this many pixels takes seconds to a minute to build
SLOW_SIDE = 1024
#: the busy indicator appears when a build takes longer than this
BUSY_DELAY_MS = 250


def expected_side(problem) -> int | None:
    """Longer side of the image a problem section will build (None where unknown): its ``size``,
    else the file's own size read from its header."""
    if problem.size:
        return int(problem.size)
    path = Path(str(problem.image))
    if not path.is_file():
        return None  # a catalogue image: small
    try:
        from PIL import Image

        with Image.open(path) as image:
            return max(image.size)
    except Exception:  # unreadable: the build reports it
        return None


def slow_warning(config: Config) -> str | None:
    """The question to ask before building ``config``'s problem when it will be slow, else None."""
    side = expected_side(config.problem)
    if side is None or side <= SLOW_SIDE:
        return None
    return (
        f"The problem image will be {side} px on its longer side (above {SLOW_SIDE} px): building it "
        "and every iteration will be slow (seconds to minutes). Build it anyway?"
    )


class ProblemBuilder(QObject):
    """Builds ``Run(config)`` in a background thread; one build at a time (a new one supersedes).

    Parameters
    ----------
    parent : QWidget
        The window: parent of the busy indicator and of the slow-size question.
    """

    _built = Signal(object)  # (generation, run, error) from the build thread

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.parent_widget = parent
        self.generation = 0
        self.build_threads: list[int] = []  # thread idents of the builds (tests)
        self.thread: threading.Thread | None = None  # the latest build's thread
        self._cancel = threading.Event()  # the latest build's cancel flag
        self._callbacks = None
        self.dialog: QProgressDialog | None = None  # the busy indicator, made on the first build
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(BUSY_DELAY_MS)
        self._show_timer.timeout.connect(self._show_busy)
        self._built.connect(self._on_built)

    @property
    def building(self) -> bool:
        """True while a build is running (and not cancelled)."""
        return self._callbacks is not None

    def confirm(self, config: Config) -> bool:
        """Ask before a slow build; True to go on."""
        question = slow_warning(config)
        if question is None:
            return True
        answer = QMessageBox.question(self.parent_widget, "Convergence Workbench", question)
        return answer == QMessageBox.StandardButton.Yes

    def build(
        self,
        config: Config,
        on_built: Callable[[Run], None],
        on_failed: Callable[[Exception, str], None],
        on_cancelled: Callable[[], None],
        what: str = "the problem",
    ) -> None:
        """Build ``Run(config)`` in the background; then ``on_built(run)`` or ``on_failed(exc, tb)``
        in the GUI thread, or ``on_cancelled()`` when the user cancels first."""
        if self._callbacks is not None:
            self._callbacks[2]()  # superseded
        self._cancel.set()  # a build still running (superseded or cancelled) stops at its next stage
        self._cancel = threading.Event()
        self.generation += 1
        self._callbacks = (on_built, on_failed, on_cancelled)
        if self.dialog is None:
            self.dialog = QProgressDialog("", "Cancel", 0, 0, self.parent_widget)
            self.dialog.setWindowTitle("Convergence Workbench")
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setAutoReset(False)
            self.dialog.setAutoClose(False)
            self.dialog.reset()  # stops Qt's own show-after-4-s timer: this class decides when to show it
            self.dialog.canceled.connect(self.cancel)
        self.dialog.setLabelText(f"Building {what}…")
        self._show_timer.start()
        self.thread = threading.Thread(
            target=self._work, args=(self.generation, config, self._cancel), name="problem-build", daemon=True
        )
        self.thread.start()

    def _work(self, generation: int, config: Config, cancel: threading.Event) -> None:
        self.build_threads.append(threading.get_ident())
        try:
            outcome = (generation, Run(config, should_stop=cancel.is_set), None)
        except BuildCancelled:  # cancelled or superseded: nobody waits for it
            return
        except Exception as exc:  # bad image, parameters, device: shown by on_failed
            outcome = (generation, None, (exc, traceback.format_exc()))
        try:
            self._built.emit(outcome)
        except RuntimeError:  # the window is gone
            pass

    def _show_busy(self) -> None:
        if self.building:
            self.dialog.show()

    def _finish(self):
        callbacks, self._callbacks = self._callbacks, None
        self._show_timer.stop()
        if self.dialog is not None:
            self.dialog.hide()
        return callbacks

    @Slot(object)
    def _on_built(self, outcome) -> None:
        generation, run, error = outcome
        if generation != self.generation or self._callbacks is None:
            return  # cancelled or superseded: dropped
        on_built, on_failed, _ = self._finish()
        if error is None:
            on_built(run)
        else:
            on_failed(*error)

    @Slot()
    def cancel(self) -> None:
        """Give up the build in progress: it stops at its next stage (a result is dropped)."""
        if self._callbacks is None:
            return
        self._cancel.set()
        self.generation += 1
        self._finish()[2]()
