"""core.sweep on a local Ray with 2 CPUs: the 12-run sweep (3 images × 2 λ × 2 solvers) gives the
serial run's numbers, an interrupted Ray sweep resumes, and the command joins a running cluster
with --address. One Ray for the module (start-up is slow), kept lean: no dashboard, a small
object store, no worker logs."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest

from core.cli import main
from core.sweep import backends, load_sweep, run_sweep

ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install -e '.[cluster]' (make venv does)")

SWEEP = """
[sweep]
name = "twelve"
[problem]
size = 32
degradation = "blur"
noise_sigma = 0.01
[[lanes]]
label = "FISTA"
solver = "fista"
prior = "tv"
[[lanes]]
label = "ADMM"
solver = "admm"
prior = "tv"
[run]
iterations = 5
[grid.problem]
image = ["camera", "coins", "moon"]
[grid.lanes.params]
lam = [0.005, 0.02]
"""


@pytest.fixture(scope="module")
def local_ray():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (
            ("RAY_USAGE_STATS_ENABLED", "0"),
            ("RAY_DISABLE_DOCKER_CPU_WARNING", "1"),
            ("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0"),
            ("RAY_METRICS_EXPORT_ENABLED", "0"),
        ):
            patch.setenv(name, value)
        handle, started = backends.start_ray(cpus=2)
        try:
            assert handle.cluster_resources()["CPU"] == 2
            yield handle
        finally:
            if started:
                handle.shutdown()


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "twelve.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial_out(sweep_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    assert main(["sweep", str(sweep_file), "--serial", "--quiet", "--out", str(out)]) == 0
    return out


def numbers(out):
    with open(out / "results.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def same_runs(a, b) -> None:
    assert numbers(a) == numbers(b)
    names = sorted(p.name for p in (a / "runs").iterdir())
    assert names == sorted(p.name for p in (b / "runs").iterdir()) and len(names) == 12
    for name in names:
        assert (a / "runs" / name / "metrics.csv").read_bytes() == (b / "runs" / name / "metrics.csv").read_bytes()
        assert (a / "runs" / name / "final.png").read_bytes() == (b / "runs" / name / "final.png").read_bytes()


def test_twelve_runs_on_local_ray_give_the_serial_numbers(local_ray, sweep_file, serial_out, tmp_path):
    out = tmp_path / "ray"
    assert main(["sweep", str(sweep_file), "--quiet", "--out", str(out)]) == 0  # uses the running Ray
    same_runs(out, serial_out)
    assert local_ray.is_initialized()  # a Ray the sweep did not start is left running


def test_an_interrupted_ray_sweep_resumes(local_ray, sweep_file, serial_out, tmp_path, monkeypatch):
    real_wait, finished = local_ray.wait, []

    def interrupt_after_four(refs, **kwargs):
        if len(finished) == 4:
            raise KeyboardInterrupt
        done = real_wait(refs, **kwargs)
        finished.extend(done[0])
        return done

    monkeypatch.setattr(local_ray, "wait", interrupt_after_four)
    out = tmp_path / "ray"
    assert main(["sweep", str(sweep_file), "--quiet", "--out", str(out)]) == 130
    assert len(list((out / "runs").iterdir())) == 4
    monkeypatch.setattr(local_ray, "wait", real_wait)
    report = run_sweep(load_sweep(sweep_file), out, progress=False)
    assert (len(report.skipped), len(report.executed), report.failed) == (4, 8, [])
    same_runs(out, serial_out)


def test_the_command_joins_an_existing_cluster_with_address(local_ray, sweep_file, serial_out, tmp_path):
    out = tmp_path / "joined"
    shutil.copytree(serial_out, out)
    removed = sorted((out / "runs").iterdir())[:2]
    for folder in removed:
        shutil.rmtree(folder)
    address = local_ray.get_runtime_context().gcs_address
    result = subprocess.run(
        [sys.executable, "-m", "core", "sweep", str(sweep_file), "--quiet", "--out", str(out), "--address", address],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 runs executed, 10 already finished, 0 failed" in result.stderr
    same_runs(out, serial_out)


def test_ray_workers_load_the_plugin_files_of_the_command(local_ray, scratch_registries, tmp_path):
    from core.paths import CHECKOUT_DIR

    path = tmp_path / "plugin_sweep.toml"
    path.write_text(
        '[problem]\nsize = 32\ndegradation = "blur"\n[[lanes]]\nsolver = "heavy_ball"\nprior = "tv"\n'
        "[run]\niterations = 4\n[grid.lanes.params]\nmomentum = [0.3, 0.6]\n",
        encoding="utf-8",
    )
    plugin = str(CHECKOUT_DIR / "docs" / "example_plugin.py")
    for mode in ("ray", "serial"):
        flags = ["--serial"] if mode == "serial" else []
        assert main(["sweep", str(path), "--quiet", "--plugin", plugin, "--out", str(tmp_path / mode), *flags]) == 0
    assert numbers(tmp_path / "ray") == numbers(tmp_path / "serial") and len(numbers(tmp_path / "ray")) == 2
    assert {row["solver"] for row in numbers(tmp_path / "ray")} == {"heavy_ball"}
