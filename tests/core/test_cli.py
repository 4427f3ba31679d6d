"""CLI: run writes the resolved config, metrics and final images; list; errors exit 2; presets run."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from core.cli import DELEGATED, main, safe_filename
from core.config import load_config
from core.engine import CSV_COLUMNS, Run
from core.images import load_image, to_uint8
from core.paths import CHECKOUT_DIR, preset, presets_dir
from core.registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS, load_all

ROOT = CHECKOUT_DIR
PRESETS = sorted(presets_dir().glob("*.toml"))

CONFIG = """
[problem]
image = "camera"
size = 32
degradation = "blur"
noise_sigma = 0.01
[[lanes]]
label = "FISTA / l1"
solver = "fista"
prior = "l1"
[lanes.params]
lam = 0.001
[[lanes]]
label = "ADMM"
solver = "admm"
prior = "tv"
[run]
iterations = 50
"""


def test_run_writes_resolved_config_metrics_and_final_images(tmp_path):
    config_path = tmp_path / "c.toml"
    config_path.write_text(CONFIG)
    out = tmp_path / "out"
    assert main(["run", str(config_path), "--out", str(out), "--iterations", "6", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml",
        "final_ADMM.png",
        "final_FISTA___l1.png",
        "metrics.csv",
    ]
    written = load_config(out / "config.toml")
    assert written.run.iterations == 6
    assert written.lanes[1].params["rho"] == 1.0 and written.lanes[1].params["tv_iters"] == 20
    reference = Run(written)
    reference.run()
    snapshot = reference.snapshot()
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 1 + 2 * 6
    np.testing.assert_array_equal([float(r[4]) for r in rows[1:7]], snapshot.lanes[0].metrics["psnr"])
    for lane, name in zip(snapshot.lanes, ["final_FISTA___l1.png", "final_ADMM.png"]):
        np.testing.assert_array_equal(np.round(load_image(out / name) * 255), to_uint8(lane.image))


def test_python_m_core_exit_codes(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace('solver = "admm"', 'solver = "admn"'))
    result = subprocess.run(
        [sys.executable, "-m", "core", "run", str(bad), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unknown solver 'admn'" in result.stderr and str(bad) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["run", "{missing}", "--out", "{out}"], "cannot read config file"),
        (["run", "{syntax}", "--out", "{out}"], "TOML syntax error"),
        (["run", "{image}", "--out", "{out}"], "[problem] key 'image' = 'no_such_picture'"),
        (["run", "{good}", "--out", "{out}", "--iterations", "-3"], "--iterations must be ≥ 0"),
    ],
)
def test_bad_input_prints_message_and_returns_2(tmp_path, capsys, argv, fragment):
    files = {
        "missing": tmp_path / "missing.toml",
        "syntax": tmp_path / "syntax.toml",
        "image": tmp_path / "image.toml",
        "good": tmp_path / "good.toml",
        "out": tmp_path / "out",
    }
    files["syntax"].write_text("[problem\n")
    files["image"].write_text(CONFIG.replace('"camera"', '"no_such_picture"'))
    files["good"].write_text(CONFIG)
    code = main([a.format(**{k: str(v) for k, v in files.items()}) for a in argv])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err


def test_list_prints_every_component_and_parameter(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    load_all()
    assert "  camera" in text
    for registry in (DEGRADATIONS, PRIORS, DENOISERS, SOLVERS):
        for name, entry in registry.items():
            assert f"  {name}" in text
            for param in entry.params:
                assert param.describe() in text


def test_delegated_commands_report_missing_modules(monkeypatch, capsys):
    monkeypatch.setitem(DELEGATED, "reproduce", "core._no_such_module_for_test")
    assert main(["reproduce", "--anything"]) == 2
    assert "not available" in capsys.readouterr().err


def test_delegated_command_passes_argv(monkeypatch):
    import types

    seen = []
    fake = types.ModuleType("core._fake_cli_for_test")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "core._fake_cli_for_test", fake)
    monkeypatch.setitem(DELEGATED, "train", "core._fake_cli_for_test")
    assert main(["train", "dncnn", "--epochs", "1"]) == 0
    assert seen == [["dncnn", "--epochs", "1"]]


def test_safe_filename():
    assert safe_filename("PnP (TV) σ=5") == "PnP__TV____5"
    assert safe_filename("../..") == "lane"
    assert safe_filename("a/b\\c") == "a_b_c"


def test_every_degradation_has_a_preset():
    load_all()
    covered = {load_config(path).problem.degradation for path in PRESETS}
    assert covered == set(DEGRADATIONS)
    assert preset("podm_vs_fista_sr") in PRESETS


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_runs_at_small_size(path):
    config = load_config(path)
    config.problem.size = 48
    config.run.iterations = 3
    run = Run(config)
    run.run()
    snapshot = run.snapshot()
    assert len(snapshot.lanes) >= 2
    for lane in snapshot.lanes:
        assert lane.status == "running" and lane.k == 3, (lane.label, lane.status)
        assert np.all(np.isfinite(lane.metrics["psnr"])) and np.all(np.isfinite(lane.image))
