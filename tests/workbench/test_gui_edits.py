"""Editing from the GUI: new image (API and drop), degradation, lanes; bad files; sessions;
autosave; exports; the ``--screenshot`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from test_gui_runtime import wait_built
from test_gui_window import lane_steps, wait_idle

from core.images import save_png
from core.paths import CHECKOUT_DIR
from core.session import read_metrics_csv
from workbench.forms import ParamForm

ROOT = CHECKOUT_DIR


def write_waves_image(path: Path, size: int = 64) -> Path:
    """A smooth synthetic test image, unlike the camera man."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    save_png(path, 0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy))
    return path


def test_new_image_via_api_updates_observation(main_window, qtbot, tmp_path):
    before = main_window.panes.image_of("observation").copy()
    path = write_waves_image(tmp_path / "waves.png")
    main_window.problem_panel.set_image(str(path))
    wait_built(qtbot, main_window)
    run = main_window.run
    assert Path(run.config.problem.image) == path
    snapshot = run.snapshot()
    np.testing.assert_array_equal(main_window.panes.image_of("observation"), snapshot.observation)
    np.testing.assert_array_equal(main_window.panes.image_of("ground_truth"), snapshot.ground_truth)
    assert snapshot.observation.shape != before.shape or np.abs(snapshot.observation - before).max() > 0.1


def test_dropping_an_image_file_updates_observation(main_window, qtbot, tmp_path):
    path = write_waves_image(tmp_path / "dropped.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(
        QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    main_window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    main_window.dropEvent(drop)
    wait_built(qtbot, main_window)
    assert Path(main_window.run.config.problem.image) == path
    np.testing.assert_array_equal(main_window.panes.image_of("observation"), main_window.run.snapshot().observation)


def test_bad_image_file_shows_an_error_and_the_app_goes_on(main_window, qtbot, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    observation = main_window.panes.image_of("observation").copy()
    main_window.open_path(bad)
    wait_built(qtbot, main_window)
    assert main_window.errors and "broken.png" in main_window.errors[-1]
    assert main_window.run.config.problem.image == "camera"
    np.testing.assert_array_equal(main_window.panes.image_of("observation"), observation)
    main_window.step(2)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [2, 2]


def test_changing_the_degradation_rebuilds_the_problem(main_window, qtbot):
    main_window.problem_panel.set_degradation("blur")
    wait_built(qtbot, main_window)
    run = main_window.run
    assert run.config.problem.degradation == "blur"
    assert run.config.problem.params["kernel"] == "gaussian"  # form defaults
    assert "kernel_sigma" in main_window.problem_panel.params_form.editors
    np.testing.assert_array_equal(main_window.panes.image_of("observation"), run.snapshot().observation)
    main_window.problem_panel.params_form.set_value("kernel_sigma", 3.0)
    wait_built(qtbot, main_window)
    assert main_window.run.config.problem.params["kernel_sigma"] == 3.0


def test_adding_a_lane_and_changing_a_lane_mid_run(main_window, qtbot):
    main_window.step(3)
    wait_idle(qtbot, main_window)
    main_window.lanes_panel.add_lane()
    assert [lane.spec.solver for lane in main_window.run.lanes] == ["fista", "podm", "fista"]
    assert lane_steps(main_window) == [3, 3, 0]
    main_window.refresh()
    assert "iterate2" in main_window.panes.items
    # change lane 0's λ: lane 0 restarts, the others keep their history
    main_window.lanes_panel.list.setCurrentRow(0)
    prior_form = [f for f in main_window.lanes_panel.findChildren(ParamForm) if "lam" in f.editors][0]
    prior_form.set_value("lam", 0.01)
    assert main_window.run.lanes[0].spec.params["lam"] == 0.01
    assert lane_steps(main_window) == [0, 3, 0]
    assert "restarted" in main_window.statusBar().currentMessage()
    main_window.step(2)
    wait_idle(qtbot, main_window)
    assert lane_steps(main_window) == [2, 5, 2]
    # solver picker: lane 2 becomes ISTA, still with a prior form
    main_window.lanes_panel.list.setCurrentRow(2)
    main_window.lanes_panel.set_component("solver", "ista")
    assert main_window.run.lanes[2].spec.solver == "ista" and lane_steps(main_window)[2] == 0


def test_rename_and_reorder_keep_history(main_window, qtbot):
    main_window.step(2)
    wait_idle(qtbot, main_window)
    panel = main_window.lanes_panel
    panel.list.setCurrentRow(1)
    panel.label_edit.setText("PODM ℓ0.8")
    panel.label_edit.editingFinished.emit()
    assert main_window.run.lanes[1].label == "PODM ℓ0.8" and lane_steps(main_window) == [2, 2]
    panel.move_lane(-1)
    assert [lane.label for lane in main_window.run.lanes] == ["PODM ℓ0.8", "FISTA"]
    assert [spec.label for spec in main_window.run.config.lanes] == ["PODM ℓ0.8", "FISTA"]
    panel.duplicate_lane()
    assert [lane.label for lane in main_window.run.lanes] == ["PODM ℓ0.8", "FISTA", "PODM ℓ0.8 2"]
    panel.remove_lane()
    assert len(main_window.run.lanes) == 2 and lane_steps(main_window) == [2, 2]


def test_save_then_open_restores_config_and_metrics(main_window, qtbot, tmp_path):
    main_window.step(4)
    wait_idle(qtbot, main_window)
    saved_config = main_window.run.config.to_dict()
    folder = main_window.save_session_to(tmp_path / "session")
    saved = read_metrics_csv(folder / "metrics.csv")
    main_window.problem_panel.set_degradation("denoise")
    wait_built(qtbot, main_window)
    assert main_window.run.config.problem.degradation == "denoise"
    assert main_window.open_path(folder)
    wait_built(qtbot, main_window)
    qtbot.waitUntil(lambda: lane_steps(main_window) == [4, 4], timeout=60000)
    wait_idle(qtbot, main_window)
    assert main_window.run.config.to_dict() == saved_config
    assert main_window.problem_panel.problem()["degradation"] == "sparse_sr"
    snapshot = main_window.worker.latest()
    for lane in snapshot.lanes:
        for name in ("psnr", "ssim", "rec_error", "objective"):
            np.testing.assert_allclose(lane.metrics[name], saved[lane.label][name], rtol=1e-6)


def test_autosave_writes_a_session_and_marks_unclean_exits(qtbot, tmp_path):
    from conftest import small_config

    from workbench.app import make_app
    from workbench.autosave import MARKER, unclean_autosave
    from workbench.main_window import MainWindow

    make_app()
    window = MainWindow(small_config(), autosave_dir=tmp_path / ".autosave")
    qtbot.addWidget(window)
    assert (tmp_path / ".autosave" / MARKER).exists()
    window.step(2)
    wait_idle(qtbot, window)
    window.autosaver.save_now()
    qtbot.waitUntil(lambda: (tmp_path / ".autosave" / "session.toml").exists(), timeout=30000)
    assert unclean_autosave(tmp_path / ".autosave") == tmp_path / ".autosave"  # still running
    window.close()
    assert not (tmp_path / ".autosave" / MARKER).exists()
    assert unclean_autosave(tmp_path / ".autosave") is None


def test_exports_write_plots_csv_and_animation(main_window, qtbot, tmp_path):
    from workbench import export

    main_window.step(3)
    wait_idle(qtbot, main_window)
    png = export.export_plot(main_window.curves.plots["psnr"], tmp_path / "psnr.png")
    svg = export.export_plot(main_window.curves.plots["psnr"], tmp_path / "psnr.svg")
    assert iio.imread(png).ndim == 3 and "<svg" in svg.read_text()
    figure = export.export_plot(main_window.curves.graphics.ci, tmp_path / "curves.svg")
    text = figure.read_text()
    assert text.count("<polyline") + text.count("<path") > 50 and text.count("<text") > 20  # vectors
    assert export.export_plot(main_window.curves.graphics.ci, tmp_path / "curves.png").stat().st_size > 1000
    csv = export.export_metrics_csv(main_window.worker.latest(), tmp_path / "metrics.csv")
    assert len(csv.read_text().strip().splitlines()) == 1 + 2 * 3
    panes = export.export_widget_png(main_window.panes, tmp_path / "panes.png")
    assert iio.imread(panes).std() > 5
    main_window.export_animation(0, tmp_path / "fista.gif")
    frames = iio.imread(tmp_path / "fista.gif", index=None)
    assert frames.shape[0] == len(main_window.run.kept_iterations(0)) == 4  # x⁰ + 3 iterates
    main_window.export_animation(0, tmp_path / "fista.mp4")
    assert iio.imread(tmp_path / "fista.mp4", index=None).shape[:3] == frames.shape[:3]


def test_screenshot_command_writes_a_non_blank_png_of_the_window(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(
        '[problem]\nimage = "camera"\nsize = 64\ndegradation = "sr"\nnoise_sigma = 0.01\n'
        "[problem.params]\nscale = 2\n"
        '[[lanes]]\nsolver = "fista"\nprior = "l1_wavelet"\n'
        "[run]\niterations = 20\n",
        encoding="utf-8",
    )
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "--screenshot",
            str(out),
            str(config),
            "--iterations",
            "3",
            "--size",
            "1000x700",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    image = iio.imread(out)
    assert image.shape[:2] == (700, 1000)
    assert image.std() > 20 and len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 200


def test_start_opens_a_session_folder_and_offers_the_autosave_after_a_crash(qtbot, tmp_path):
    from conftest import small_config

    from core.config import default_config
    from core.engine import Run
    from core.session import save_session
    from workbench.app import load_start_config, start_config
    from workbench.autosave import MARKER

    config = small_config()
    config.problem.degradation = "denoise"
    config.problem.params = {}
    run = Run(config)
    run.step(3)
    folder = save_session(run, tmp_path / "saved")
    opened, replay = load_start_config(str(folder))
    assert opened.to_dict() == run.config.to_dict() and replay == 3
    # an autosave left with its crash marker is offered; declining opens the default
    autosave = save_session(run, tmp_path / ".autosave")
    (autosave / MARKER).write_text("1234")
    restored, replay = start_config(None, autosave, ask_restore=lambda: True)
    assert restored.problem.degradation == "denoise" and replay == 3
    default, replay = start_config(None, autosave, ask_restore=lambda: False)
    assert default.problem == default_config().problem and replay == 0
    (autosave / MARKER).unlink()  # clean exit: nothing is offered
    asked = []
    start_config(None, autosave, ask_restore=lambda: asked.append(1) or True)
    assert not asked


def test_run_settings_precision_rebuilds_and_iteration_limit_keeps_history(main_window, qtbot):
    import torch

    from workbench.run_panel import available_devices

    assert available_devices() == (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    main_window.step(2)
    wait_idle(qtbot, main_window)
    main_window.run_panel.iterations.setValue(7)
    assert main_window.run.config.run.iterations == 7 and lane_steps(main_window) == [2, 2]
    main_window.run_panel.dtype.setCurrentText("float64")
    wait_built(qtbot, main_window)
    assert main_window.run.dtype == torch.float64 and main_window.run.problem.y.dtype == torch.float64
    assert lane_steps(main_window) == [0, 0] and main_window.run.config.run.iterations == 7
    main_window.step(1)
    wait_idle(qtbot, main_window)
    assert main_window.run.lanes[0].x.dtype == torch.float64


def test_error_maps_share_one_colour_scale(main_window, qtbot):
    main_window.step(2)
    wait_idle(qtbot, main_window)
    panes = main_window.panes
    levels = [tuple(panes.items[f"error{i}"].getLevels()) for i in range(2)]
    assert levels[0] == levels[1] == tuple(panes.error_bar.levels())
    panes.error_bar.setLevels((0.0, 0.05))  # the user drags the colour bar
    assert [tuple(panes.items[f"error{i}"].getLevels()) for i in range(2)] == [(0.0, 0.05)] * 2
