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


def test_the_publish_interval_follows_how_busy_the_gui_thread_is(qapp):
    import workbench.worker as worker_module

    worker = RunWorker(Run(small_config(32)))
    clock = {"cpu": 0.0, "wall": 0.0}
    worker._clock = lambda: (clock["cpu"], clock["wall"])

    def pulls(n: int, busy: float) -> None:
        for _ in range(n):  # pulls 1/30 s apart; the GUI thread busy ``busy`` of that time
            worker.latest()
            clock["wall"] += 1 / 30
            clock["cpu"] += busy / 30

    pulls(60, 0.5)  # repaints take half of the GUI thread: publish as seldom as allowed
    assert worker.publish_interval == worker_module.MAX_PUBLISH_INTERVAL
    pulls(200, 0.01)  # cheap: back to the display rate
    assert worker.publish_interval == worker.min_publish_interval == 1 / 30
    pulls(100, 0.07)  # between half the share and the share: kept
    before = worker.publish_interval
    pulls(10, 0.07)
    assert worker.publish_interval == before
