"""The start path on bad input (issue 9, item 5): every case ends with one line naming the file or
key and the reason, never a traceback; ``--screenshot`` exits 2, the GUI start opens the default
problem instead, and an autosave that cannot be restored is set aside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_gui_runtime import wait_built

from core.images import save_png
from core.paths import CHECKOUT_DIR, weights_dir

LANES = '[[lanes]]\nsolver = "ista"\nprior = "tv"\n'


def write_config(folder: Path, name: str, image: str, extra: str = "", run: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'[problem]\nimage = "{image}"\ndegradation = "denoise"\n{extra}\n{LANES}[run]\niterations = 3\n{run}\n',
        encoding="utf-8",
    )
    return path


def write_image(path: Path, size: int = 32) -> Path:
    yy, xx = np.mgrid[0:size, 0:size] / size
    save_png(path, 0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy))
    return path


def saved_session_without_image(folder: Path, name: str) -> Path:
    """A saved session whose image file was deleted afterwards."""
    from core.engine import Run
    from core.session import save_session
    from workbench.app import load_start_config

    image = write_image(folder / f"{name}.png")
    config, _ = load_start_config(str(write_config(folder, f"{name}_config", str(image))))
    run = Run(config)
    run.step(2)
    session = save_session(run, folder / name)
    image.unlink()
    return session


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (source, a word the message must contain)."""
    tiny = folder / "tiny.png"
    save_png(tiny, np.zeros((4, 4)))
    (folder / "broken.png").write_bytes(b"this is not an image")
    cases = {
        "tiny image": (write_config(folder, "tiny", str(tiny)), "tiny.png"),
        "unreadable image": (write_config(folder, "broken", str(folder / "broken.png")), "broken.png"),
        "huge size": (write_config(folder, "huge", "camera", "size = 100000"), "size"),
        "missing image": (write_config(folder, "missing", str(folder / "gone.png")), "gone.png"),
        "session without image": (saved_session_without_image(folder, "session"), "session.png"),
        "no such file": (folder / "nothing.toml", "nothing.toml"),
    }
    if not torch.cuda.is_available():
        cases["cuda without CUDA"] = (write_config(folder, "cuda", "camera", "size = 32", 'device = "cuda"'), "device")
    return cases


def test_every_bad_start_input_is_one_line_naming_the_file(qtbot, tmp_path):
    from core.config import default_config
    from workbench.app import load_start_config, start_config

    for name, (source, word) in bad_inputs(tmp_path).items():
        with pytest.raises(ValueError) as caught:
            load_start_config(str(source))
        message = str(caught.value)
        assert "\n" not in message and message.startswith(str(source)), (name, message)
        assert word in message, (name, message)
        # the GUI start: the message is shown and the default problem opens
        shown = []
        config, replay = start_config(str(source), None, ask_restore=lambda: True, warn=shown.append)
        assert config.problem == default_config().problem and replay == 0
        assert len(shown) == 1 and str(source) in shown[0] and word in shown[0], (name, shown)


def test_tampered_weights_name_the_weights_file(qtbot, tmp_path, monkeypatch):
    from workbench.app import load_start_config

    weights = tmp_path / "weights"
    shutil.copytree(weights_dir(), weights)
    with open(weights / "dncnn.pt", "ab") as handle:
        handle.write(b"tampered")
    monkeypatch.setenv("CW_WEIGHTS_DIR", str(weights))
    config = write_config(tmp_path, "pnp", "camera", "size = 32")
    config.write_text(
        config.read_text()
        .replace('prior = "tv"', 'prior = "tv"\ndenoiser = "dncnn"')
        .replace('solver = "ista"', 'solver = "podm"'),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"pnp\.toml: .*dncnn\.pt"):
        load_start_config(str(config))


def test_screenshot_command_on_bad_input_prints_one_line_and_exits_2(tmp_path):
    cases = bad_inputs(tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    for name in ("tiny image", "session without image"):
        source, word = cases[name]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "workbench",
                "--screenshot",
                str(tmp_path / "shot.png"),
                str(source),
                "--iterations",
                "1",
            ],
            cwd=CHECKOUT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 2, (name, result.stderr)
        assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, name
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {source}") and word in lines[0], (name, lines)
        assert not (tmp_path / "shot.png").exists()


def test_an_autosave_that_cannot_be_restored_is_set_aside_and_the_default_opens(qtbot, tmp_path):
    from core.config import default_config
    from workbench.app import start_config
    from workbench.autosave import MARKER

    autosave = saved_session_without_image(tmp_path, ".autosave")
    (autosave / MARKER).write_text(str(dead_pid()))  # a crash whose image is gone since
    shown = []
    config, replay = start_config(None, autosave, ask_restore=lambda: True, warn=shown.append)
    assert config.problem == default_config().problem and replay == 0
    assert len(shown) == 1 and "cannot restore the autosave" in shown[0] and ".autosave.png" in shown[0]
    assert not autosave.exists() and (tmp_path / ".autosave.broken-1" / "session.toml").exists()
    assert "moved to" in shown[0] and ".autosave.broken-1" in shown[0]
    asked = []  # the next start is clean
    start_config(None, autosave, ask_restore=lambda: asked.append(1) or True, warn=shown.append)
    assert not asked and len(shown) == 1


def test_open_of_a_bad_session_and_exceptions_escaping_slots_become_messages(main_window, qtbot, tmp_path):
    from workbench.app import install_slot_guard

    session = saved_session_without_image(tmp_path, "session")
    (session / "metrics.csv").write_text("garbage", encoding="utf-8")
    assert main_window.open_path(session) is False
    assert main_window.errors and "metrics.csv" in main_window.errors[-1]
    assert main_window.open_session(tmp_path / "nowhere") is False
    assert "nowhere" in main_window.errors[-1]
    previous = install_slot_guard(main_window)
    try:
        sys.excepthook(OSError, OSError(28, "No space left on device", "x.png"), None)
    finally:
        sys.excepthook = previous
    assert main_window.errors[-1] == "unexpected error: OSError: x.png: No space left on device"


def test_bad_images_opened_in_the_running_window_are_messages_and_the_run_stays(
    main_window, qtbot, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    tiny = tmp_path / "tiny.png"
    save_png(tiny, np.zeros((4, 4)))
    (tmp_path / "broken.png").write_bytes(b"this is not an image")
    (tmp_path / "broken.toml").write_text("[problem\n", encoding="utf-8")
    before = main_window.run.config.to_dict()
    for path in (tiny, tmp_path / "broken.png", tmp_path / "gone.png", tmp_path / "broken.toml"):
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, p=path, **k: (str(p), ""))
        errors = len(main_window.errors)
        if path.suffix == ".png":
            main_window.problem_panel.open_button.click()  # Problem → Open… image
        else:
            main_window.editor.open_dialog()  # File → Open…
        wait_built(qtbot, main_window)
        assert len(main_window.errors) == errors + 1 and path.name in main_window.errors[-1], main_window.errors
        assert main_window.run.config.to_dict() == before
        assert main_window.problem_panel.problem()["image"] == before["problem"]["image"]
