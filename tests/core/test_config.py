"""Config: TOML loading, resolution with registry defaults, round trip and every error message."""

from __future__ import annotations

import pytest
import tomli_w
import tomllib

from core.config import Config, default_config, load_config, save_config
from core.lane_spec import LaneSpec, resolve_lane, split_lane_params
from core.registry import DEGRADATIONS, PRIORS, SOLVERS, load_all

load_all()

GOOD = """
[problem]
image = "camera"
size = 64
degradation = "blur"
noise_sigma = 0.02
seed = 4
[problem.params]
kernel = "box"
kernel_size = 5

[[lanes]]
label = "FISTA"
solver = "fista"
prior = "l1_wavelet"
color = "#1f77b4"
[lanes.params]
lam = 0.003
step_size = 0.5

[[lanes]]
solver = "pnp_hqs"
denoiser = "gaussian"

[run]
iterations = 30
tolerance = 1e-5
"""


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_resolves_defaults_from_declarations(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    blur = DEGRADATIONS["blur"]
    assert config.problem.params == {**{p.name: p.default for p in blur.params}, "kernel": "box", "kernel_size": 5}
    fista, pnp = config.lanes
    assert pnp.label == "pnp_hqs"  # defaults to the solver name
    wavelet = {p.name: p.default for p in PRIORS["l1_wavelet"].params}
    assert fista.params == {**wavelet, "lam": 0.003, "step_size": 0.5}
    assert config.run.iterations == 30 and config.run.tolerance == 1e-5
    assert config.run.keep_iterates == 50 and config.run.device == "cpu" and config.run.dtype == "float32"


def test_round_trip_through_dict_and_toml(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    again = Config.from_dict(tomllib.loads(tomli_w.dumps(config.to_dict())))
    assert again == config
    save_config(config, tmp_path / "saved.toml")
    assert load_config(tmp_path / "saved.toml") == config
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert default_config().copy() == default_config()


def test_automatic_values_are_omitted_and_restored():
    lane = resolve_lane(LaneSpec(solver="fista", prior="l1"))
    assert lane.params["step_size"] is None and lane.label == "fista"
    config = Config(lanes=[lane])
    assert "step_size" not in config.to_dict()["lanes"][0]["params"]
    assert Config.from_dict(config.to_dict()).lanes[0].params["step_size"] is None


def test_lane_params_are_split_by_declared_names():
    lane = resolve_lane(LaneSpec(solver="podm", prior="l1", denoiser="gaussian", params={"lam": 0.02, "c": 0.5}))
    solver, prior, denoiser = split_lane_params(lane)
    assert set(solver) == {p.name for p in SOLVERS["podm"].params} and solver["c"] == 0.5
    assert prior == {"lam": 0.02}
    assert set(denoiser) == {p.name for p in load_denoiser_params("gaussian")}


def load_denoiser_params(name):
    from core.registry import DENOISERS

    return DENOISERS[name].params


def test_default_problem_shows_convergence():
    """Issue 7: over 100 iterations every lane of the default problem ends ≥ 1 dB above its first
    iterate and has its best PSNR in the last third."""
    import numpy as np

    from core.engine import Run

    config = default_config()
    assert config.run.iterations == 100 and {lane.solver for lane in config.lanes} == {"fista", "podm"}
    run = Run(config)
    run.run()
    for lane in run.snapshot().lanes:
        psnr = lane.metrics["psnr"]
        assert lane.k == 100 and psnr[-1] >= psnr[0] + 1.0, lane.label
        assert int(np.argmax(psnr)) + 1 > 100 * 2 // 3, (lane.label, int(np.argmax(psnr)) + 1)


def test_init_setting_sets_every_lanes_starting_point():
    import torch

    from core.problem import build_problem

    spec = default_config().problem
    spec.size = 32
    zeros = build_problem(spec.__class__(**{**spec.__dict__, "init": "zeros"}))
    adjoint = build_problem(spec.__class__(**{**spec.__dict__, "init": "adjoint"}))
    default = build_problem(spec)
    assert torch.count_nonzero(zeros.x0) == 0
    assert torch.allclose(adjoint.x0, adjoint.operator.adjoint(adjoint.y))
    assert torch.allclose(default.x0, default.operator.initial_estimate(default.y))
    with pytest.raises(ValueError, match="key 'init' must be one of"):
        Config.from_dict({"problem": {"init": "random"}})


def test_figure2_config_is_the_paper_figure_2_problem():
    from core.config import figure2_config

    config = figure2_config()
    assert config.problem.image == "camera" and config.problem.size == 256
    assert config.problem.degradation == "sparse_sr" and config.problem.params["scale"] == 2
    assert [(l.label, l.solver, l.prior) for l in config.lanes] == [("FISTA", "fista", "lp"), ("PODM", "podm", "lp")]
    assert all(l.params["p"] == 0.8 for l in config.lanes)
    assert config.lanes[1].denoiser == "dncnn" and config.run.iterations == 200


ERRORS = [
    # (edit of GOOD, expected message fragments)
    (("[run]\n", "[run]\nfoo = 1\n"), ["[run]", "unknown key(s) ['foo']", "valid keys"]),
    (("size = 64", "sise = 64"), ["[problem]", "'sise'"]),
    (("size = 64", 'size = "big"'), ["[problem] key 'size' must be an integer", "'big'"]),
    (("iterations = 30", "iterations = 3.5"), ["[run] key 'iterations' must be an integer"]),
    (("seed = 4", "seed = true"), ["[problem] key 'seed' must be an integer"]),
    (("noise_sigma = 0.02", "noise_sigma = -1.0"), ["noise_sigma", "below its minimum"]),
    (('solver = "fista"', 'solver = "fitsa"'), ["unknown solver 'fitsa'", "available", "'fista'"]),
    (('prior = "l1_wavelet"', 'prior = "l2"'), ["[[lanes]] 'FISTA'", "unknown prior 'l2'", "'l1_wavelet'"]),
    (('denoiser = "gaussian"', 'denoiser = "bm3d"'), ["unknown denoiser 'bm3d'", "available"]),
    (('degradation = "blur"', 'degradation = "blurr"'), ["[problem] key 'degradation'", "unknown degradation 'blurr'"]),
    (('kernel = "box"', 'kernel = "disk"'), ["[problem.params]", "'kernel'", "must be one of"]),
    (
        ("step_size = 0.5", "stepsize = 0.5"),
        [
            "[lanes.params] of lane 'FISTA'",
            "unknown parameter(s) ['stepsize']",
            "valid:",
            "'step_size'",
            "'lam'",
            "'wavelet'",
        ],
    ),
    (("lam = 0.003", 'lam = "x"'), ["[lanes.params] of lane 'FISTA'", "'lam' must be a number"]),
    (('solver = "pnp_hqs"', 'solver = "pnp_hqs"\nlabel = "FISTA"'), ["duplicate label 'FISTA'"]),
    (('label = "FISTA"\nsolver = "fista"', 'label = "FISTA"'), ["[[lanes]] #1", "missing required key 'solver'"]),
    (('prior = "l1_wavelet"\n', ""), ["key 'prior' is required by solver 'fista'"]),
    (('denoiser = "gaussian"', 'denoiser = "gaussian"\nprior = "l1"'), ["solver 'pnp_hqs' takes no prior"]),
    (("tolerance = 1e-5", 'tolerance = 1e-5\ndevice = "tpu"'), ["[run] key 'device' must be one of", "'tpu'"]),
    (('image = "camera"', 'image = "camera"\ncolor_mode = "lab"'), ["color_mode", "must be one of"]),
]


@pytest.mark.parametrize("edit, fragments", ERRORS)
def test_error_messages_name_file_section_and_key(tmp_path, edit, fragments):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ValueError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, message


def test_toml_syntax_error_and_missing_file(tmp_path):
    path = write(tmp_path, GOOD.replace('image = "camera"', "image = camera"))
    with pytest.raises(ValueError, match=r"c\.toml: TOML syntax error.*line 3"):
        load_config(path)
    with pytest.raises(ValueError, match="nothere.toml: cannot read config file"):
        load_config(tmp_path / "nothere.toml")


def test_structural_errors():
    with pytest.raises(ValueError, match=r"\[\[lanes\]\] must be an array of tables"):
        Config.from_dict({"lanes": {"solver": "fista"}})
    with pytest.raises(ValueError, match=r"\[problem\] must be a table"):
        Config.from_dict({"problem": 3})
    with pytest.raises(ValueError, match=r"top level: unknown key\(s\) \['lane'\]"):
        Config.from_dict({"lane": []})


def test_relative_image_path_is_taken_from_config_folder(tmp_path):
    from core.images import load_image, save_png

    save_png(tmp_path / "pic.png", load_image("camera", size=32))
    config = load_config(write(tmp_path, GOOD.replace('image = "camera"', 'image = "pic.png"')))
    assert config.problem.image == str((tmp_path / "pic.png").resolve())
