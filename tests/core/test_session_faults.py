"""Sessions survive kill -9, a full disk and mixed folders: a folder is one whole save or refused."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import core.atomic as atomic
import core.session as session_module
from core.config import Config
from core.engine import Run
from core.paths import CHECKOUT_DIR
from core.session import open_session, save_session


def make_run(iterations: int, seed: int = 5) -> Run:
    config = Config.from_dict(
        {
            "problem": {"image": "coins", "size": 32, "degradation": "inpaint", "noise_sigma": 0.01, "seed": seed},
            "lanes": [{"label": "FISTA", "solver": "fista", "prior": "l1", "params": {"lam": 0.002}}],
            "run": {"iterations": iterations, "keep_iterates": 3},
        }
    )
    run = Run(config)
    run.run()
    return run


def leftovers(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def snapshot_of(folder):
    config, metrics, iterates = open_session(folder)
    return config.run.iterations, {label: m["iteration"].tolist() for label, m in metrics.items()}


def test_a_full_disk_during_a_save_leaves_the_old_session_intact_and_no_temp_files(tmp_path, monkeypatch):
    folder = tmp_path / "session"
    save_session(make_run(4), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(session_module.np, "savez_compressed", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_session(make_run(6), folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert leftovers(folder) == []
    assert snapshot_of(folder)[1] == {"FISTA": [1, 2, 3, 4]}


def test_a_folder_mixing_two_saves_is_refused(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    save_session(make_run(3), first)
    save_session(make_run(5), second)
    shutil.copy(second / "metrics.csv", first / "metrics.csv")
    with pytest.raises(ValueError, match="mixes files of two saves"):
        open_session(first)


def test_saving_over_a_session_keeps_foreign_files_and_refuses_foreign_folders(tmp_path):
    folder = tmp_path / "session"
    save_session(make_run(3), folder)
    (folder / "RUNNING").write_text("123")
    save_session(make_run(5), folder)
    assert (folder / "RUNNING").read_text() == "123"
    assert snapshot_of(folder)[1] == {"FISTA": [1, 2, 3, 4, 5]}
    (folder / "photos").mkdir()
    with pytest.raises(ValueError, match="holds the folder 'photos'"):
        save_session(make_run(2), folder)
    assert snapshot_of(folder)[1] == {"FISTA": [1, 2, 3, 4, 5]}


def test_without_an_atomic_exchange_a_crash_between_the_renames_is_recovered(tmp_path, monkeypatch):
    folder = tmp_path / "session"
    save_session(make_run(3), folder)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    save_session(make_run(4), folder)  # the two-rename fallback works
    assert snapshot_of(folder)[1] == {"FISTA": [1, 2, 3, 4]}
    real_rename, calls = os.rename, []

    def dies_on_second_rename(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(errno.EIO, "simulated crash")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", dies_on_second_rename)
    with pytest.raises(OSError, match="simulated crash"):
        save_session(make_run(6), folder)
    monkeypatch.setattr(atomic.os, "rename", real_rename)
    assert not folder.exists()  # the moment a real crash would leave
    assert snapshot_of(folder)[1] == {"FISTA": [1, 2, 3, 4]}  # open puts the old session back
    assert leftovers(folder) == []


SAVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from core.config import Config
    from core.engine import Run
    from core.session import save_session
    config = Config.from_dict({{
        "problem": {{"image": "coins", "size": 48, "degradation": "inpaint", "noise_sigma": 0.01}},
        "lanes": [{{"label": "FISTA", "solver": "fista", "prior": "l1"}}],
        "run": {{"iterations": 100000, "keep_iterates": 40}},
    }})
    run = Run(config)
    print("ready", flush=True)
    while True:
        run.step(1)
        run.config.run.iterations = run.lanes[0].k     # every save differs from the last
        save_session(run, {folder!r})
""")


def test_kill_9_during_repeated_saves_leaves_one_whole_save(tmp_path):
    folder = tmp_path / "session"
    rng = random.Random(0)
    script = SAVER.format(root=str(CHECKOUT_DIR), folder=str(folder))
    kills = 0
    for _ in range(6):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while not (folder / "session.toml").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        iterations, metrics = snapshot_of(folder)  # opens: one whole save
        assert metrics == {"FISTA": list(range(1, iterations + 1))}
        _, _, iterates = open_session(folder)
        assert max(iterates["FISTA"]) == iterations
    assert kills == 6
    save_session(make_run(2), folder)  # the next save cleans up after the dead
    assert leftovers(folder) == []
    assert np.isfinite(open_session(folder)[1]["FISTA"]["psnr"]).all()
