"""The "Train network" dialog: trains through the core loop in a thread, plots, cancels, errors."""

import json

import numpy as np
import pytest
import torch

from core.learned.training import load_trainers
from core.learned.training.cli import main as train_main
from core.learned.weights import load_state
from workbench.training_dialog import TrainingDialog


@pytest.fixture
def dialog(qtbot, tmp_path):
    from workbench.app import make_app

    make_app()
    dlg = TrainingDialog(out_dir=tmp_path / "gui")
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    dlg.close()


def _fill(dlg, name, epochs, steps, batch, seed=0):
    dlg.trainer_combo.setCurrentIndex(dlg.trainer_combo.findData(name))
    dlg.epochs_edit.setText(str(epochs))
    dlg.steps_edit.setText(str(steps))
    dlg.batch_edit.setText(str(batch))
    dlg.seed_edit.setText(str(seed))
    dlg.threads_edit.setText("1")


def _train(qtbot, dlg, timeout=30000):
    assert dlg.start(), dlg.errors
    qtbot.waitUntil(lambda: not dlg.is_running and dlg.last_summary is not None, timeout=timeout)


def _log_summary(path):
    return json.loads(path.read_text().split("--- json ---\n", 1)[1])


def test_menu_opens_dialog_with_trainer_defaults(main_window):
    from PySide6.QtGui import QAction

    action = next(a for a in main_window.findChildren(QAction) if a.text() == "&Train network…")
    action.trigger()
    dlg = main_window.training_dialog
    assert dlg.isVisible() and not dlg.isModal()
    trainers = load_trainers()
    assert [dlg.trainer_combo.itemData(i) for i in range(dlg.trainer_combo.count())] == sorted(trainers)
    dlg.trainer_combo.setCurrentIndex(dlg.trainer_combo.findData("dncnn"))
    assert dlg.epochs_edit.text() == str(trainers["dncnn"].default_epochs)
    assert trainers["dncnn"].doc in dlg.trainer_combo.currentText()


def test_dncnn_one_epoch_writes_weights_log_and_one_loss_point_per_step(qtbot, dialog, tmp_path):
    _fill(dialog, "dncnn", epochs=1, steps=3, batch=2)
    _train(qtbot, dialog)
    out = tmp_path / "gui"
    assert (out / "dncnn.pt").is_file() and (out / "dncnn.log").is_file()
    assert (out / "checkpoints" / "dncnn.ckpt.pt").is_file()
    steps, losses = dialog.loss_curve.getData()
    assert len(losses) == 3 and list(steps) == [1, 2, 3]
    history = _log_summary(out / "dncnn.log")["history"]
    assert np.mean(losses) == pytest.approx(history[0]["loss"], rel=1e-12)
    assert dialog.psnr_curve.getData()[1] == pytest.approx([history[0]["val_psnr"]])
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum() == 3
    assert not dialog.errors and "weights:" in dialog.log_view.toPlainText()


def test_dialog_trains_exactly_what_the_cli_trains(qtbot, dialog, tmp_path):
    _fill(dialog, "bmo_sparse", epochs=2, steps=5, batch=4, seed=3)
    _train(qtbot, dialog)
    assert (
        train_main(
            [
                "bmo_sparse",
                "--epochs",
                "2",
                "--steps-per-epoch",
                "5",
                "--batch-size",
                "4",
                "--seed",
                "3",
                "--threads",
                "1",
                "--no-progress",
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 0
    )
    gui, cli = load_state("bmo_sparse", tmp_path / "gui"), load_state("bmo_sparse", tmp_path / "cli")
    assert gui.keys() == cli.keys() and all(torch.equal(gui[k], cli[k]) for k in gui)
    history = _log_summary(tmp_path / "gui" / "bmo_sparse.log")["history"]
    assert len(dialog.loss_curve.getData()[1]) == 10
    assert list(dialog.psnr_curve.getData()[0]) == [1, 2]
    assert dialog.psnr_curve.getData()[1] == pytest.approx([rec["val_psnr"] for rec in history])


def test_cancel_keeps_last_checkpoint_and_resume_continues(qtbot, dialog, tmp_path):
    out = tmp_path / "gui"
    ckpt_path = out / "checkpoints" / "bmo_sparse.ckpt.pt"
    _fill(dialog, "bmo_sparse", epochs=100000, steps=20, batch=4)
    assert dialog.start()
    qtbot.waitUntil(ckpt_path.exists, timeout=20000)
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.thread is None and dialog.last_summary is not None, timeout=20000)
    assert dialog.thread is None and dialog.start_button.isEnabled()
    assert dialog.last_summary["cancelled"]
    assert not (out / "bmo_sparse.pt").exists()  # no weights from a cancelled run
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    done = int(ckpt["epoch"])
    assert 1 <= done < 100000 and len(ckpt["history"]) == done and ckpt["step"] == 20 * done
    losses = dialog.loss_curve.getData()[1]
    assert done * 20 <= len(losses) < (done + 1) * 20 + 1  # stopped within the next epoch
    # resume from the kept checkpoint for one more epoch
    dialog.epochs_edit.setText(str(done + 1))
    dialog.resume_check.setChecked(True)
    _train(qtbot, dialog)
    assert not dialog.last_summary["cancelled"] and len(dialog.last_summary["history"]) == done + 1
    assert len(dialog.loss_curve.getData()[1]) == 20 and (out / "bmo_sparse.pt").is_file()


def test_bad_input_and_trainer_errors_are_shown_in_the_dialog(qtbot, dialog, tmp_path):
    _fill(dialog, "bmo_sparse", epochs=0, steps=2, batch=2)
    assert not dialog.start() and dialog.thread is None
    assert dialog.errors[-1] == "epochs must be at least 1, got 0"
    _fill(dialog, "bmo_sparse", epochs=1, steps=2, batch="abc")
    assert not dialog.start()
    assert dialog.errors[-1] == "batch size: 'abc' is not an integer"
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    _fill(dialog, "bmo_sparse", epochs=1, steps=2, batch=2)
    dialog.out_edit.setText(str(blocker))
    assert dialog.start()
    # wait for the dialog to process the end of the run (the thread may end before its done signal)
    qtbot.waitUntil(
        lambda: not dialog.is_running and len(dialog.errors) == 3 and dialog.start_button.isEnabled(), timeout=20000
    )
    assert "Error" in dialog.errors[-1] and dialog.isVisible() and dialog.start_button.isEnabled()


def test_closing_the_main_window_during_training_cancels_and_joins(main_window, qtbot, tmp_path):
    main_window.open_training_dialog()
    dlg = main_window.training_dialog
    dlg.out_edit.setText(str(tmp_path))
    _fill(dlg, "bmo_sparse", epochs=100000, steps=20, batch=4)
    assert dlg.start()
    qtbot.waitUntil(lambda: len(dlg.worker.progress()[0]) > 0, timeout=20000)
    thread = dlg.thread
    main_window.close()
    assert dlg.thread is None and thread.isFinished() and not dlg.isVisible()
    assert dlg.worker.should_stop()
    qtbot.waitUntil(lambda: dlg.last_summary is not None, timeout=5000)
    assert dlg.last_summary["cancelled"] and not (tmp_path / "bmo_sparse.pt").exists()
