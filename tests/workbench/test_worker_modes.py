"""The worker's control state machine (workbench.worker.Mode / Control), without a thread."""

from __future__ import annotations

import pytest
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
    worker.step(2)  # added to the pending request
    assert worker._control == Control(Mode.STEPPING, 5) and worker.is_playing
    worker.set_paused(False)
    assert worker.mode is Mode.PLAYING
    worker.run_to(7)
    assert worker._control == Control(Mode.RUN_TO_END, target=7)
    worker.step(1)  # a step while running to the end replaces it
    assert worker._control == Control(Mode.STEPPING, 1)
    worker.stop()
    worker.set_paused(False)
    worker.run_to_convergence()
    assert worker.mode is Mode.STOPPING and not worker.is_playing


def test_one_finished_rule_for_the_engine_and_every_mode(qapp):
    from core.engine import NO_LIMIT

    config = small_config(32)
    config.run.iterations = 2
    run = Run(config)
    run.run()
    assert [lane.k for lane in run.lanes] == [2, 2]
    assert run.done and run.finished() and run.finished(2) and not run.finished(3)
    assert not run.finished(NO_LIMIT) and run.unfinished_lanes(NO_LIMIT) == run.lanes
    # the worker asks the run with the limit of its mode
    assert Control(Mode.PLAYING).limit is None
    assert Control(Mode.RUN_TO_END, target=7).limit == 7
    assert Control(Mode.STEPPING, 1).limit == NO_LIMIT  # stepping passes the limit
    run.lanes[0].stop_at(2, "ended at 2")
    run.step(1)  # only the running lane moves
    assert [lane.k for lane in run.lanes] == [2, 3] and not run.finished(NO_LIMIT)


def test_the_publish_interval_follows_what_showing_new_data_costs_the_gui(qapp, monkeypatch):
    import workbench.worker as worker_module

    worker = RunWorker(Run(small_config(32)))
    clock = {"now": 0.0}
    monkeypatch.setattr(worker_module.time, "thread_time", lambda: clock["now"])

    def frame(cpu: float, new_data: bool) -> None:
        if new_data:
            worker.publish()
        worker.latest()
        clock["now"] += cpu  # what the GUI thread spends until its next pull

    for _ in range(30):  # every frame brings new data and costs 20 ms of GUI time
        frame(0.02, True)
    assert worker.publish_interval == pytest.approx(0.02 / worker_module.GUI_SHARE, rel=1e-3)
    for _ in range(30):  # expensive frames: capped
        frame(1.0, True)
    assert worker.publish_interval == worker_module.MAX_PUBLISH_INTERVAL
    for _ in range(60):  # cheap frames: back to the display rate
        frame(0.0001, True)
    assert worker.publish_interval == worker.min_publish_interval == 1 / 30
    frame(5.0, False)  # a pull without new data: its cost is not a repaint
    frame(0.0001, True)
    assert worker.publish_interval == 1 / 30
