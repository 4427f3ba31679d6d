"""The GUI at run time (issue 11 and the "heavy work off the GUI thread" part of issue 7): edits while
playing are queued and applied by the worker between steps, the window never waiting for the run
lock; the autosave is written by a thread of its own and holds the run's iterations; the worker
publishes only new history and the window's copy equals ``run.snapshot()``; a new problem is
built off the GUI thread and can be cancelled. No assertion here is about time."""

from __future__ import annotations

import threading

import numpy as np
from conftest import small_config
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from test_gui_window import lane_steps, wait_idle

from core.engine import Run, write_metrics_csv
from core.lane_spec import LaneSpec
from core.session import open_session
from workbench.forms import ParamForm


def wait_built(qtbot, window, timeout=60000):
    """Wait until a new problem is built and swapped in (or failed) and every edit is applied."""
    qtbot.waitUntil(lambda: not window.editor.building and window.worker.jobs_pending == 0, timeout=timeout)
    window.refresh()


def gated_steps(run):
    """Make ``run.step`` wait for a gate: returns (entered, gate, threads that stepped)."""
    entered, gate, threads = threading.Event(), threading.Event(), []
    step = run.step

    def waiting_step(n=1, **options):
        threads.append(threading.get_ident())
        entered.set()
        assert gate.wait(60), "the test never opened the gate"
        step(n, **options)

    run.step = waiting_step
    return entered, gate, threads


def test_an_edit_while_playing_is_queued_and_applied_between_steps_without_the_gui_taking_the_lock(main_window, qtbot):
    main_window.step(2)
    wait_idle(qtbot, main_window)
    run = main_window.run
    entered, gate, step_threads = gated_steps(run)
    replaced_in = []
    replace_lane = run.replace_lane
    run.replace_lane = lambda i, spec: replaced_in.append(threading.get_ident()) or replace_lane(i, spec)
    main_window.lanes_panel.list.setCurrentRow(0)
    main_window.set_playing(True)
    assert entered.wait(60)  # the worker holds the run lock inside a step, blocked on the gate
    prior_form = [f for f in main_window.lanes_panel.findChildren(ParamForm) if "lam" in f.editors][0]
    prior_form.set_value("lam", 0.01)  # would hang here if the GUI waited for the lock
    assert main_window.worker.jobs_pending == 1 and not replaced_in
    assert "waiting for the lane step in progress" in main_window.statusBar().currentMessage()
    assert run.lanes[0].spec.params["lam"] != 0.01
    main_window.set_playing(False)  # pause: takes effect after the step in progress
    gate.set()
    qtbot.waitUntil(lambda: main_window.worker.jobs_pending == 0 and not main_window.worker.is_playing, timeout=60000)
    qtbot.waitUntil(lambda: "restarted" in main_window.statusBar().currentMessage(), timeout=10000)
    assert run.lanes[0].spec.params["lam"] == 0.01
    assert replaced_in == [step_threads[0]] != [threading.get_ident()]  # applied by the worker thread
    assert lane_steps(main_window) == [0, 3]  # lane 0 restarted; lane 1 took the one step, then paused
    wait_idle(qtbot, main_window)
    snapshot = main_window.worker.latest()
    assert [lane.k for lane in snapshot.lanes] == [0, 3] and main_window.curves.point_count("psnr", 0) == 0


def test_autosave_is_written_by_its_own_thread_and_holds_the_runs_iterations(qtbot, tmp_path, monkeypatch):
    import core.session
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    writers = []
    write = core.session.write_session
    monkeypatch.setattr(
        core.session, "write_session", lambda *a, **k: writers.append(threading.get_ident()) or write(*a, **k)
    )
    make_app()
    window = MainWindow(small_config(), autosave_dir=tmp_path / ".autosave")
    qtbot.addWidget(window)
    folder = window.autosaver.folder
    run = window.run
    _, gate, step_threads = gated_steps(run)
    gate.set()

    def save_and_compare(count: int) -> None:
        before = len(writers)
        window.autosaver.save_now()
        qtbot.waitUntil(lambda: len(writers) > before and not window.autosaver.writer.busy, timeout=30000)
        write_metrics_csv(run, tmp_path / "expected.csv")
        assert (folder / "metrics.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
        config, metrics, iterates = open_session(folder)  # a whole, valid session
        assert [len(table["iteration"]) for table in metrics.values()] == [lane.k for lane in run.lanes] == count
        for index, lane in enumerate(run.lanes):
            kept = iterates[lane.label]
            assert sorted(kept) == sorted({0, lane.k})
            for k, image in kept.items():
                np.testing.assert_array_equal(image, run.iterate(index, k))

    window.step(5)
    wait_idle(qtbot, window)
    save_and_compare([5, 5])
    lane = run.config.to_dict()["lanes"][0]
    window.on_lane_changed(0, {**lane, "params": {**lane["params"], "lam": 0.02}})  # lane 0 restarts
    window.step(3)
    wait_idle(qtbot, window)
    save_and_compare([3, 8])  # only the new rows were captured; the restarted lane from its start
    main_thread = threading.get_ident()
    assert set(writers) == {window.autosaver.writer.thread_ident}
    assert not set(writers) & {main_thread, *step_threads}
    window.close()


def test_the_worker_publishes_each_history_point_exactly_once(qapp):
    from workbench.worker import RunWorker

    config = small_config(32)
    config.run.keep_iterates = 3
    run = Run(config)
    worker = RunWorker(run)
    received: dict[int, int] = {}
    collect = worker._feed.collect

    def counting(run_):
        update = collect(run_)
        for lane in update.lanes:
            received[lane.history_id] = received.get(lane.history_id, 0) + len(lane.seconds)
        return update

    worker._feed.collect = counting
    rng = np.random.default_rng(0)
    for round_ in range(60):
        run.step(int(rng.integers(0, 4)))
        worker.publish()
        if round_ % 7 == 3:
            worker.latest()  # the window pulls at its own pace
        if round_ == 20:
            run.add_lane(LaneSpec(solver="ista", label="ISTA", prior="l1_wavelet"))
        if round_ == 30:
            run.replace_lane(0, run.config.lanes[0])  # restarts lane 0
        if round_ == 40:
            run.lanes[1].stop_at(run.lanes[1].k - 2, "diverged at test")  # history cut back
        if round_ == 50:
            run.remove_lane(2)
    worker.publish()
    mirror, truth = worker.latest(), run.snapshot()
    assert [lane.k for lane in mirror.lanes] == [lane.k for lane in truth.lanes]
    for got, want in zip(mirror.lanes, truth.lanes):
        assert (got.label, got.status, got.k) == (want.label, want.status, want.k)
        np.testing.assert_array_equal(got.iterations, want.iterations)
        np.testing.assert_array_equal(got.seconds, want.seconds)
        assert got.metrics.keys() == want.metrics.keys() and got.series.keys() == want.series.keys()
        for name in want.metrics:
            np.testing.assert_array_equal(got.metrics[name], want.metrics[name], err_msg=name)
        np.testing.assert_array_equal(got.image, want.image)
    # every point of a lane's current history was sent once: the sums are the iteration counts
    assert [received[lane.history_id] for lane in mirror.lanes] == [lane.k for lane in truth.lanes]


def test_a_new_problem_is_built_off_the_gui_thread_and_can_be_cancelled(main_window, qtbot, monkeypatch):
    import workbench.problem_build as problem_build

    gate, builders = threading.Event(), []

    class GatedRun(Run):
        def __init__(self, config, problem=None, should_stop=None):
            builders.append(threading.get_ident())
            assert gate.wait(60)
            super().__init__(config, problem, should_stop=should_stop)

    monkeypatch.setattr(problem_build, "Run", GatedRun)
    editor, before = main_window.editor, main_window.run
    main_window.problem_panel.set_degradation("denoise")
    assert editor.building and main_window.run is before  # the window goes on meanwhile
    dialog = editor.builder.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=10000)  # the busy indicator
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)  # Cancel
    assert not editor.building and not dialog.isVisible()
    assert main_window.problem_panel.problem()["degradation"] == "sparse_sr"  # the panel is back
    gate.set()  # the abandoned build stops at its first stage and is dropped
    qtbot.waitUntil(lambda: len(builders) == 1 and not any(t.name == "problem-build" for t in threading.enumerate()))
    qtbot.wait(50)
    assert main_window.run is before and main_window.run.config.problem.degradation == "sparse_sr"
    main_window.problem_panel.set_degradation("denoise")  # again, not cancelled
    qtbot.waitUntil(lambda: not editor.building, timeout=60000)
    assert main_window.run is not before and main_window.run.config.problem.degradation == "denoise"
    assert threading.get_ident() not in builders and len(builders) == 2


def test_a_slow_size_asks_first_and_declining_changes_nothing(main_window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    before = main_window.run
    main_window.problem_panel.size.setValue(2048)
    assert asked and "2048 px" in asked[0]
    assert not main_window.editor.building and main_window.run is before
    assert main_window.problem_panel.problem()["size"] == before.config.problem.size


def test_catalogue_thumbnails_are_made_off_the_gui_thread(qtbot, monkeypatch):
    import workbench.problem_panel as problem_panel
    from core import images
    from workbench.app import make_app

    made_in = []
    thumbnail = images.thumbnail
    monkeypatch.setattr(
        images, "thumbnail", lambda *a, **k: made_in.append(threading.get_ident()) or thumbnail(*a, **k)
    )
    monkeypatch.setattr(problem_panel, "_THUMBNAILS", {})
    make_app()
    panel = problem_panel.ProblemPanel(small_config().to_dict()["problem"])
    qtbot.addWidget(panel)
    items = [panel.catalogue.item(row) for row in range(panel.catalogue.count())]
    qtbot.waitUntil(lambda: all(not item.icon().isNull() for item in items), timeout=60000)
    # ≥: thumbnails an earlier test's panel asked for may still be in flight in the pool
    assert len(made_in) >= len(items) and threading.get_ident() not in made_in
