"""Plugins: a file or an entry point registers components; denoisers from TorchScript or safetensors."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest
import torch

from core.config import Config
from core.engine import Run
from core.paths import CHECKOUT_DIR
from core.plugins import PLUGIN_ERRORS, load_entry_point_plugins, load_plugin_file
from core.registry import DENOISERS, SOLVERS

EXAMPLE = CHECKOUT_DIR / "docs" / "example_plugin.py"


def denoise_config(lanes):
    return Config.from_dict(
        {
            "problem": {"image": "camera", "size": 32, "degradation": "denoise", "noise_sigma": 0.1},
            "lanes": lanes,
            "run": {"iterations": 4, "dtype": "float64"},
        }
    )


def test_the_example_plugin_registers_a_denoiser_and_a_solver_that_run(scratch_registries):
    load_plugin_file(EXAMPLE)
    assert "median3" in DENOISERS and "heavy_ball" in SOLVERS
    run = Run(
        denoise_config(
            [
                {"label": "HB", "solver": "heavy_ball", "prior": "tv", "params": {"lam": 0.05}},
                {"label": "PnP", "solver": "pnp_hqs", "denoiser": "median3"},
            ]
        )
    )
    run.run()
    snapshot = run.snapshot()
    for lane in snapshot.lanes:
        assert lane.status == "running" and lane.k == 4 and (lane.metrics["psnr"] > 20).all()
    # heavy ball with β = 0 is ISTA: same iterates
    ista = Run(
        denoise_config(
            [
                {"label": "HB", "solver": "heavy_ball", "prior": "tv", "params": {"lam": 0.05, "momentum": 0.0}},
                {"label": "ISTA", "solver": "ista", "prior": "tv", "params": {"lam": 0.05}},
            ]
        )
    )
    ista.run()
    a, b = ista.snapshot().lanes
    assert abs(a.metrics["psnr"] - b.metrics["psnr"]).max() < 1e-10


def test_a_broken_plugin_file_is_refused_by_name_and_leaves_the_registries_alone(scratch_registries, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text(
        "from core.registry import SOLVERS\n"
        "SOLVERS.register('half_done', doc='x', needs_prior=False, needs_denoiser=False,"
        " learned=False)(lambda problem: iter(()))\n"
        "raise RuntimeError('oops')\n"
    )
    with pytest.raises(ValueError, match=r"plugin .*broken\.py \(line 3\): RuntimeError: oops"):
        load_plugin_file(broken)
    assert "half_done" not in SOLVERS
    with pytest.raises(ValueError, match="file not found"):
        load_plugin_file(tmp_path / "missing.py")
    clash = tmp_path / "clash.py"
    clash.write_text("from core.registry import SOLVERS\nSOLVERS.register('fista')(lambda problem: None)\n")
    with pytest.raises(ValueError, match="solver 'fista' registered twice"):
        load_plugin_file(clash)


def test_entry_point_plugins_are_loaded_and_failures_collected(scratch_registries, tmp_path, monkeypatch):
    (tmp_path / "cw_good_plugin.py").write_text(EXAMPLE.read_text())
    (tmp_path / "cw_bad_plugin.py").write_text("raise ImportError('missing dependency')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [
        importlib.metadata.EntryPoint("good", "cw_good_plugin", "convergence_workbench.plugins"),
        importlib.metadata.EntryPoint("bad", "cw_bad_plugin", "convergence_workbench.plugins"),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    monkeypatch.setattr("core.plugins.PLUGIN_ERRORS", {})
    import core.plugins as plugins

    assert load_entry_point_plugins() == ["good"]
    assert "heavy_ball" in SOLVERS
    assert "missing dependency" in plugins.PLUGIN_ERRORS["bad"]
    assert PLUGIN_ERRORS is not plugins.PLUGIN_ERRORS


def test_cli_loads_a_plugin_file(scratch_registries, tmp_path, capsys):
    import tomli_w

    from core.cli import main

    config = tmp_path / "c.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "problem": {"image": "camera", "size": 32, "degradation": "denoise"},
                "lanes": [{"solver": "heavy_ball", "prior": "tv"}],
                "run": {"iterations": 2},
            }
        )
    )
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet", "--plugin", str(EXAMPLE)]) == 0
    assert (tmp_path / "out" / "final_heavy_ball.png").exists()
    assert main(["run", str(config), "--out", str(tmp_path / "o2"), "--plugin", str(tmp_path / "nope.py")]) == 2
    assert "nope.py: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["torchscript", "state_dict"])
def test_file_denoisers_reproduce_the_shipped_network_in_pnp_and_podm(kind, tmp_path):
    entry = DENOISERS.get_entry(kind)
    params = entry.extra["example"](tmp_path)
    ours = entry.factory(entry.resolve(params))
    shipped = DENOISERS.get_entry("dncnn").factory({"denoiser_weights": "dncnn"})
    x = torch.rand(2, 24, 40, dtype=torch.float64)
    tolerance = 1e-6 if kind == "torchscript" else 1e-10  # a trace may keep float32 constants
    assert torch.allclose(ours(x, 0.05), shipped(x, 0.05), atol=tolerance)
    lanes = [
        {"label": "PnP", "solver": "pnp_hqs", "denoiser": kind, "params": params},
        {"label": "PODM", "solver": "podm", "prior": "l1", "denoiser": kind, "params": params},
        {"label": "ref", "solver": "pnp_hqs", "denoiser": "dncnn"},
    ]
    run = Run(denoise_config(lanes))
    run.run()
    pnp, podm, ref = run.snapshot().lanes
    assert pnp.status == podm.status == "running"
    assert abs(pnp.metrics["psnr"] - ref.metrics["psnr"]).max() < 1e4 * tolerance
    assert podm.extras  # the diagnostics view has PODM's x_A, x̃, x_G


def test_bad_network_files_are_refused_by_name(tmp_path):
    for kind, name in (("torchscript", "net.pt"), ("state_dict", "net.safetensors")):
        entry = DENOISERS.get_entry(kind)
        junk = tmp_path / name
        junk.write_bytes(b"not a network")
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            entry.factory(entry.resolve({"denoiser_path": str(junk)}))
        with pytest.raises(ValueError, match="file not found"):
            entry.factory(entry.resolve({"denoiser_path": str(tmp_path / "absent" / name)}))
    pickled = tmp_path / "pickled.pt"
    torch.save({"weight": torch.zeros(1)}, pickled)  # a pickle, not TorchScript: refused
    with pytest.raises(ValueError, match="not a loadable TorchScript file"):
        DENOISERS.get_entry("torchscript").factory(
            DENOISERS.get_entry("torchscript").resolve({"denoiser_path": str(pickled)})
        )
