"""Transport slots of the main window: play/pause, step, run to end, speed cap, reset.

The worker lives in its own thread and never returns to an event loop while it runs, so
signals must not be connected to its methods (they would be queued forever): these GUI-side
slots call its mutex-guarded control methods directly.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMutexLocker

from core.engine import NO_LIMIT, Run


class RunControls:
    """What the transport bar and the Run menu do to the worker.

    Parameters
    ----------
    worker : RunWorker
    transport : TransportBar
        Shows the play state; its signals are connected by :meth:`connect`.
    show_status : callable(message, timeout_ms)
    refresh : callable()
        Repaint from the latest snapshot.
    on_reset : callable()
        Called after a reset replaced the run (the views forget the old one).
    """

    def __init__(self, *, worker, transport, show_status: Callable[[str, int], None],
                 refresh: Callable[[], None], on_reset: Callable[[], None]):
        self.worker = worker
        self.transport = transport
        self.show_status = show_status
        self.refresh = refresh
        self.on_reset = on_reset

    def connect(self) -> None:
        """Connect the transport bar's buttons to these slots."""
        self.transport.play_toggled.connect(self.set_playing)
        self.transport.step_requested.connect(self.step)
        self.transport.converge_requested.connect(self.run_to_end)
        self.transport.reset_requested.connect(self.reset)
        self.transport.speed_changed.connect(self.set_speed)

    def toggle_playing(self) -> None:
        """Play if paused, pause if playing (Space)."""
        self.set_playing(not self.worker.is_playing)

    def set_playing(self, playing: bool) -> None:
        """Play (speed-capped) or pause; pausing takes effect before the next iteration."""
        self.worker.set_paused(not playing)
        self.transport.set_playing(playing)

    def run_to_end(self) -> None:
        """Play at full speed until every lane converged, diverged or reached the limit."""
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
        """Restart every lane from x⁰ (same problem)."""
        self.worker.set_paused(True)
        with QMutexLocker(self.worker.run_lock):
            run = Run(self.worker.run.config.copy(), problem=self.worker.run.problem)
        self.worker.replace_run(run)
        self.on_reset()
        self.show_status("reset: every lane restarts from x⁰", 5000)
        self.refresh()

    def step_synchronously(self, n: int) -> None:
        """Advance ``n`` iterations in the calling thread (screenshots; no worker thread)."""
        with QMutexLocker(self.worker.run_lock):
            run = self.worker.run
            for _ in range(int(n)):
                if run.finished(NO_LIMIT):
                    break
                run.step(1)
        self.worker.publish()
        self.refresh()
