"""Transport slots of the main window: play/pause, step, run to end, speed cap, reset.

The worker lives in its own thread and never returns to an event loop while it runs, so
signals must not be connected to its methods (they would be queued forever): these GUI-side
slots call its mutex-guarded control methods directly.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMutexLocker, QObject, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from core.engine import NO_LIMIT, Run


class RunControls(QObject):
    """What the transport bar and the Run menu do to the worker.

    When a request finds nothing to run (the worker's ``nothing_to_run``), the status bar says
    why; at the iteration limit a non-modal box offers to extend the limit and go on.

    Parameters
    ----------
    parent : QWidget
        The window (owner of the message box).
    worker : RunWorker
    transport : TransportBar
        Shows the play state; its signals are connected by :meth:`connect`.
    run_panel : RunPanel
        Where the iteration limit is extended (as if the user edited it).
    show_status : callable(message, timeout_ms)
    refresh : callable()
        Repaint from the latest snapshot.
    on_reset : callable()
        Called after a reset replaced the run (the views forget the old one).
    """

    def __init__(
        self,
        *,
        parent: QWidget,
        worker,
        transport,
        run_panel,
        show_status: Callable[[str, int], None],
        refresh: Callable[[], None],
        on_reset: Callable[[], None],
    ):
        super().__init__(parent)
        self.parent_widget = parent
        self.worker = worker
        self.transport = transport
        self.run_panel = run_panel
        self.show_status = show_status
        self.refresh = refresh
        self.on_reset = on_reset
        self.limit_box: QMessageBox | None = None
        self.extend_button = None
        self._resume = self.run_to_end  # what "Extend by N" goes on with

    def connect(self) -> None:
        """Connect the transport bar's buttons and the worker's notices to these slots."""
        self.transport.play_toggled.connect(self.set_playing)
        self.transport.step_requested.connect(self.step)
        self.transport.converge_requested.connect(self.run_to_end)
        self.transport.reset_requested.connect(self.reset)
        self.transport.speed_changed.connect(self.set_speed)
        self.worker.nothing_to_run.connect(self.on_nothing_to_run)

    def toggle_playing(self) -> None:
        """Play if paused, pause if playing (Space)."""
        self.set_playing(not self.worker.is_playing)

    def set_playing(self, playing: bool) -> None:
        """Play (speed-capped) or pause; pausing takes effect before the next iteration."""
        if playing:
            self._resume = lambda: self.set_playing(True)
        self.worker.set_paused(not playing)
        self.transport.set_playing(playing)

    def run_to_end(self) -> None:
        """Play at full speed until every lane converged, diverged or reached the limit."""
        self._resume = self.run_to_end
        self.worker.run_to_convergence()
        self.transport.set_playing(True)

    def set_speed(self, iterations_per_second: float) -> None:
        """Speed cap while playing (0: unlimited)."""
        self.worker.set_max_rate(iterations_per_second)

    def step(self, n: int = 1) -> None:
        """Advance every active lane by ``n`` iterations, then pause."""
        self.worker.step(n)
        self.transport.set_playing(False)

    def reset(self) -> None:
        """Restart every lane from x⁰ (same problem; the new lanes are built between two steps)."""

        def done(run, error) -> None:
            if error is not None:
                self.show_status(f"reset failed: {error[0]}", 10000)
                return
            self.on_reset()
            self.show_status("reset: every lane restarts from x⁰", 5000)
            self.refresh()

        self.worker.replace_run(lambda old: Run(old.config.copy(), problem=old.problem), done)

    def step_synchronously(self, n: int) -> None:
        """Advance ``n`` iterations in the calling thread (screenshots; no worker thread)."""
        with QMutexLocker(self.worker.run_lock):  # no worker thread: the lock is free
            run = self.worker.run
            for _ in range(int(n)):
                if run.finished(NO_LIMIT):
                    break
                run.step(1)
        self.worker.publish()
        self.refresh()

    # nothing to run ---------------------------------------------------------------------
    @Slot(str)
    def on_nothing_to_run(self, reason: str) -> None:
        """Say why a request did nothing; at the iteration limit offer to extend it."""
        self.transport.set_playing(False)
        if reason == "no lanes":
            self.show_status("nothing to run: there are no lanes (Lanes → Add adds one)", 10000)
            return
        if reason == "stopped":
            self.show_status(
                "nothing to run: every lane has stopped (converged, diverged, ended or "
                "failed); Reset or change a lane to run again",
                10000,
            )
            return
        limit = self.worker.run.iterations
        self.show_status(
            f"nothing to run: every running lane is at the iteration limit ({limit}); "
            "raise it under Run settings → iterations",
            10000,
        )
        self._offer_extension(limit)

    def _offer_extension(self, limit: int) -> None:
        extra = max(1, limit)  # go on for as long again
        if self.limit_box is None:
            self.limit_box = QMessageBox(
                QMessageBox.Icon.Information,
                "Convergence Workbench",
                "",
                QMessageBox.StandardButton.Close,
                self.parent_widget,
            )
            self.limit_box.setModal(False)
            self.extend_button = self.limit_box.addButton("", QMessageBox.ButtonRole.AcceptRole)
            self.extend_button.clicked.connect(self.extend_limit)
        self.limit_box.setText(f"Every running lane has reached the iteration limit ({limit}).")
        self.extend_button.setText(f"Extend by {extra}")
        self.extend_button.setProperty("extra", extra)
        self.limit_box.show()

    def extend_limit(self) -> None:
        """Raise the iteration limit by the amount the box offers and go on as requested."""
        extra = int(self.extend_button.property("extra"))
        self.run_panel.set_iterations(self.worker.run.iterations + extra)
        self.show_status(f"iteration limit extended to {self.worker.run.iterations}", 6000)
        self._resume()
