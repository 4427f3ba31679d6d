"""Edits while playing are applied between two lanes of a lockstep (not after the whole lockstep),
and run settings at once even while a lane is mid-step; the iterates do not change."""

from __future__ import annotations

import contextlib
import threading

import torch
from conftest import small_config

from core.engine import Run
from core.lane_spec import LaneSpec
from workbench.worker import RunWorker
from workbench.worker_thread import start_worker, stop_worker


def test_a_lockstep_calls_between_its_lanes_and_its_iterates_do_not_change():
    plain, split = Run(small_config(32)), Run(small_config(32))
    calls = []
    plain.step(3)
    split.step(3, between=lambda: calls.append([lane.k for lane in split.lanes]))
    # once between the two lanes of each lockstep, the first lane one iteration ahead
    assert calls == [[1, 0], [2, 1], [3, 2]]
    for a, b in zip(plain.lanes, split.lanes):
        assert a.k == b.k == 3 and torch.equal(a.x, b.x)


def test_what_runs_between_lanes_may_replace_or_remove_the_next_lane():
    run = Run(small_config(32))
    old = run.lanes[1]
    run.step(1, between=lambda: run.replace_lane(1, LaneSpec(solver="ista", label="ISTA", prior="l1_wavelet")))
    assert old.k == 0 and run.lanes[1] is not old  # the replaced lane was not stepped
    assert [lane.k for lane in run.lanes] == [1, 0]  # the new one waits for the next lockstep
    run.step(1)
    assert [lane.k for lane in run.lanes] == [2, 1]
    run.step(1, between=lambda: run.remove_lane(1))
    assert [lane.k for lane in run.lanes] == [3]
    ended = Run(small_config(32))
    ended.step(1, between=lambda: False)  # False: the lockstep ends there
    assert [lane.k for lane in ended.lanes] == [1, 0]


@contextlib.contextmanager
def held_in_a_slow_step(qtbot, slow_solver):
    """A playing worker on the SLOW lane (first) and FISTA/PODM, held inside the SLOW lane's step."""
    config = small_config(32)
    config.lanes = [LaneSpec(solver="_test_slow", label="SLOW"), *config.lanes]
    config.run.iterations = 10_000
    worker = RunWorker(Run(config))
    thread = start_worker(worker)
    try:
        slow_solver.hold()
        worker.set_paused(False)
        qtbot.waitUntil(slow_solver.is_set, timeout=20000)
        yield worker
    finally:
        slow_solver.held = False
        slow_solver.release.set()
        worker.set_paused(True)
        assert stop_worker(worker, thread, 20000)


def test_the_worker_applies_a_queued_edit_after_the_lane_in_progress(qapp, qtbot, slow_solver):
    with held_in_a_slow_step(qtbot, slow_solver) as worker:
        seen = []
        queued = worker.submit(lambda run: [lane.k for lane in run.lanes], lambda ks, error: seen.append((ks, error)))
        assert not queued  # a lane edit waits for the lane in progress
        slow_solver.held = False
        slow_solver.release.set()
        qtbot.waitUntil(lambda: bool(seen), timeout=20000)
        ks, error = seen[0]
        assert error is None
        # applied right after the SLOW lane's step, before the other lanes took theirs
        assert ks[0] == ks[1] + 1 == ks[2] + 1


def test_run_settings_apply_at_once_while_a_lane_is_mid_step(qapp, qtbot, slow_solver):
    with held_in_a_slow_step(qtbot, slow_solver) as worker:
        applied_during_step = threading.Event()

        def apply(run):
            run.config.run.iterations = 1234
            if not slow_solver.release.is_set():
                applied_during_step.set()

        got = []
        assert worker.submit(apply, lambda result, error: got.append(error), settings_only=True)
        assert got == [None] and applied_during_step.is_set() and worker.run.iterations == 1234
        # a lane edit is not a settings job: it waits
        assert not worker.submit(lambda run: None)
        slow_solver.held = False
        slow_solver.release.set()
        # the worker publishes the new limit at its next lane boundary
        qtbot.waitUntil(lambda: worker.latest().target_iterations == 1234, timeout=20000)


def test_under_a_limit_the_lanes_ahead_wait_for_a_restarted_lane():
    run = Run(small_config(32))
    run.step(3)
    run.replace_lane(0, LaneSpec(solver="ista", label="ISTA", prior="l1_wavelet"))
    run.config.run.iterations = 5
    run.step(4, limit=None)  # to run.iterations: the lane ahead stops there, the restarted one goes on
    assert [lane.k for lane in run.lanes] == [4, 5]
    run.step(2)  # no limit (a step request): every running lane moves
    assert [lane.k for lane in run.lanes] == [6, 7]


def test_playing_to_the_limit_does_not_take_a_lane_past_it(qapp, qtbot):
    config = small_config(32)
    config.run.iterations = 6
    run = Run(config)
    run.step(2)
    run.replace_lane(0, LaneSpec(solver="ista", label="ISTA", prior="l1_wavelet"))
    worker = RunWorker(run)
    thread = start_worker(worker)
    try:
        worker.set_paused(False)
        qtbot.waitUntil(lambda: worker.idle, timeout=20000)
        assert [lane.k for lane in run.lanes] == [6, 6]  # the lane ahead waited at the limit
    finally:
        assert stop_worker(worker, thread, 20000)
