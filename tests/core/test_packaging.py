"""The built wheel carries the weights and presets, and an unpacked wheel works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from core.paths import CHECKOUT_DIR

SCRIPT = """
import core.paths as paths
from core.config import load_config
from core.engine import Run
assert not paths.in_checkout(), paths.CHECKOUT_DIR
config = load_config(paths.preset("denoise"))
config.problem.size = 32
config.run.iterations = 2
run = Run(config)
run.run()
print(paths.weights_dir())
print(sorted((lane.label, lane.status.split()[0]) for lane in run.lanes))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(CHECKOUT_DIR),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {result.stderr.strip().splitlines()[-1:]}")
    return next(out.glob("*.whl"))


def test_the_wheel_ships_weights_manifest_and_presets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "core/data/weights/manifest.json" in names and "core/data/weights/dncnn.pt" in names
    assert "core/data/presets/podm_vs_fista_sr.toml" in names
    shipped = {p.name for p in (CHECKOUT_DIR / "resources" / "weights").glob("*.pt")}
    assert {f"core/data/weights/{name}" for name in shipped} <= names


def test_an_unpacked_wheel_runs_a_preset_with_a_learned_lane_from_any_folder(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    for variable in ("CW_WEIGHTS_DIR", "CW_PRESETS_DIR"):
        env.pop(variable, None)
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n" + SCRIPT],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    weights, lanes = result.stdout.strip().splitlines()[-2:]
    assert weights.startswith(str(site))
    assert "('LISTA sparse coding (denoising)', 'running')" in lanes and "('Learned FISTA', 'running')" in lanes
