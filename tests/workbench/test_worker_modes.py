"""The worker's control state machine (workbench.worker.Mode / Control), without a thread."""
from __future__ import annotations

from conftest import small_config

from core.engine import Run
from workbench.worker import Control, Mode, RunWorker


def test_step_requests_count_down_to_paused():
    control = Control(Mode.STEPPING, 2)
    assert control.is_playing
    assert control.after_step() == Control(Mode.STEPPING, 1)
    assert control.after_step().after_step() == Control()
    assert not Control().is_playing and Control(Mode.PLAYING).after_step() == Control(Mode.PLAYING)


def test_worker_control_transitions_and_stop_is_final(qapp):
    worker = RunWorker(Run(small_config(32)))
    assert worker.mode is Mode.PAUSED and not worker.is_playing
    worker.step(3)
    worker.step(2)                     # added to the pending request
    assert worker._control == Control(Mode.STEPPING, 5) and worker.is_playing
    worker.set_paused(False)
    assert worker.mode is Mode.PLAYING
    worker.run_to(7)
    assert worker._control == Control(Mode.RUN_TO_END, target=7)
    worker.step(1)                     # a step while running to the end replaces it
    assert worker._control == Control(Mode.STEPPING, 1)
    worker.stop()
    worker.set_paused(False)
    worker.run_to_convergence()
    assert worker.mode is Mode.STOPPING and not worker.is_playing
