"""Cancelling a problem build stops it (issue 7): the build thread ends at its next stage instead
of running to the end in the background, and nothing is reported or swapped in."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from test_gui_runtime import wait_built

import core.problem
from core.engine import Run


def test_cancel_stops_a_build_mid_way_and_its_thread_ends(main_window, qtbot, monkeypatch):
    entered, gate, lanes_made = threading.Event(), threading.Event(), []
    initial_point = core.problem.initial_point

    def slow_initial_point(*args, **kwargs):  # the x⁰ stage, held until the test lets it go
        entered.set()
        assert gate.wait(60), "the test never opened the gate"
        return initial_point(*args, **kwargs)

    make_lane = Run._make_lane
    monkeypatch.setattr(core.problem, "initial_point", slow_initial_point)
    monkeypatch.setattr(Run, "_make_lane", lambda run, spec: lanes_made.append(spec.label) or make_lane(run, spec))
    editor, before, errors = main_window.editor, main_window.run, list(main_window.errors)
    main_window.problem_panel.noise.setValue(0.05)  # a problem edit: a new build
    builder = editor.builder
    thread = builder.thread
    assert entered.wait(60) and thread.is_alive()  # mid-way: image and operator done, x⁰ running
    qtbot.waitUntil(builder.dialog.isVisible, timeout=10000)
    qtbot.mouseClick(builder.dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)  # Cancel
    assert not editor.building
    gate.set()  # x⁰ ends; the build stops at the next stage
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=60000)
    assert lanes_made == []  # no stage after the cancel ran (each lane's setup is one)
    qtbot.wait(50)  # a result would arrive as a queued signal
    assert main_window.run is before and main_window.errors == errors
    assert main_window.problem_panel.problem()["noise_sigma"] == before.config.problem.noise_sigma

    main_window.problem_panel.noise.setValue(0.05)  # not cancelled: built to the end
    wait_built(qtbot, main_window)
    assert main_window.run is not before and main_window.run.config.problem.noise_sigma == 0.05
    assert lanes_made == [lane.label for lane in before.config.lanes]
