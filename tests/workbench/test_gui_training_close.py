"""Closing the training dialog (or the main window) during a long training step never blocks the
GUI: the trainer is asked to stop, the dialog says so and closes once the step has finished."""

from __future__ import annotations

import threading
from types import SimpleNamespace

#: a step ends when the test sets ``started.release``, or after this long (so a close that blocks
#: the GUI thread fails the test instead of hanging it)
HOLD_LIMIT_SECONDS = 30.0


class HeldStep(threading.Event):
    """Set when a training step began; the step lasts until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.released_by_timeout = False


def slow_trainer(started: HeldStep):
    """A trainer whose steps wait for ``started.release`` (checks the cancel flag between steps)."""

    def train(settings):
        step = 0
        while not settings.should_stop():
            started.set()
            if not started.release.wait(HOLD_LIMIT_SECONDS):
                started.released_by_timeout = True
            step += 1
            settings.on_step(step, 1000, 1.0 / step)
        return {"cancelled": True}

    return SimpleNamespace(func=train, doc="sleeps at every step", default_epochs=1)


def start_slow_training(qtbot, dialog, tmp_path) -> HeldStep:
    started = HeldStep()
    dialog.trainers["_slow"] = slow_trainer(started)
    dialog.trainer_combo.addItem("_slow", "_slow")
    dialog.trainer_combo.setCurrentIndex(dialog.trainer_combo.findData("_slow"))
    dialog.out_edit.setText(str(tmp_path))
    dialog.threads_edit.setText("1")
    assert dialog.start(), dialog.errors
    qtbot.waitUntil(started.is_set, timeout=10000)
    return started


def test_closing_the_dialog_during_a_long_step_defers_instead_of_blocking(qtbot, tmp_path):
    from workbench.app import make_app
    from workbench.training_dialog import TrainingDialog

    make_app()
    dialog = TrainingDialog(out_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    step = start_slow_training(qtbot, dialog, tmp_path)
    thread = dialog.thread
    dialog.close()
    assert not step.release.is_set() and not step.released_by_timeout  # the GUI thread did not wait
    assert dialog.isVisible() and dialog.stopping and thread.isRunning()
    assert dialog.worker.should_stop() and "stopping" in dialog.log_view.toPlainText()
    assert not dialog.start_button.isEnabled()
    dialog.close()  # a second request changes nothing
    assert dialog.isVisible() and thread.isRunning()
    step.release.set()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert thread.isFinished() and dialog.thread is None and not dialog.stopping
    qtbot.waitUntil(lambda: dialog.last_summary is not None, timeout=5000)
    assert dialog.last_summary["cancelled"]


def test_closing_the_main_window_during_a_long_training_step_waits_without_blocking(main_window, qtbot, tmp_path):
    main_window.open_training_dialog()
    dialog = main_window.training_dialog
    step = start_slow_training(qtbot, dialog, tmp_path)
    thread = dialog.thread
    main_window.close()
    assert not step.release.is_set() and not step.released_by_timeout  # the GUI thread did not wait
    assert main_window.isVisible() and main_window.stopping and dialog.stopping
    assert "stopping" in main_window.statusBar().currentMessage()
    step.release.set()
    qtbot.waitUntil(lambda: not main_window.isVisible(), timeout=10000)
    assert thread.isFinished() and not dialog.isVisible() and main_window.thread is None
