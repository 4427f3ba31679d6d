"""Bad input ends in one ValueError naming the file, key or parameter and the reason (CLI: exit 2)."""

from __future__ import annotations

import json
import math
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cli import EXIT_LANE_FAILED, EXIT_USAGE, final_image_names, main
from core.config import Config, load_config
from core.learned.weights import WeightsError, load_state, read_manifest
from core.paths import weights_dir
from core.registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS, load_all

load_all()

GOOD = {
    "problem": {"image": "camera", "size": 32, "degradation": "denoise", "noise_sigma": 0.05},
    "lanes": [{"label": "FISTA", "solver": "fista", "prior": "tv"}],
    "run": {"iterations": 2},
}


def with_changes(section, key, value, index=None):
    data = json.loads(json.dumps(GOOD))
    table = data[section] if index is None else data[section][index]
    table[key] = value
    return data


def all_params():
    for registry in (DEGRADATIONS, PRIORS, DENOISERS, SOLVERS):
        for name, entry in sorted(registry.items()):
            for param in entry.params:
                yield f"{registry.kind} '{name}'", param


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, 10**400, "1", "yes", [1], {"a": 1}])
def test_every_declared_parameter_rejects_non_values_naming_itself(bad):
    checked = 0
    for owner, param in all_params():
        if param.kind in ("str",) and isinstance(bad, str):
            continue
        with pytest.raises(ValueError) as info:
            param.validate(bad, owner)
        assert f"'{param.name}'" in str(info.value) and owner in str(info.value)
        checked += 1
    assert checked > 40


def test_text_from_an_edit_field_is_parsed_then_validated():
    from core.params import Param

    assert Param("n", 3, "int", 1, 10).parse("4") == 4
    assert Param("x", 0.5).parse(" 1e-2 ") == 0.01
    assert Param("b", True, "bool").parse("false") is False
    assert Param("x", None).parse("") is None
    cases = ((Param("n", 3, "int", 1, 10), "inf"), (Param("x", 0.5), "nan"), (Param("b", True, "bool"), "yes"))
    for param, text in cases:
        with pytest.raises(ValueError, match=f"'{param.name}'"):
            param.parse(text)


@pytest.mark.parametrize(
    "section, key, value, fragment",
    [
        ("problem", "noise_sigma", math.nan, "[problem] key 'noise_sigma' must be finite"),
        ("problem", "noise_sigma", math.inf, "[problem] key 'noise_sigma' must be finite"),
        ("problem", "noise_sigma", 1e308, "[problem] key 'noise_sigma' = 1e+308 is above its maximum"),
        ("problem", "noise_sigma", "0.1", "[problem] key 'noise_sigma' must be a number"),
        ("problem", "grayscale", "yes", "[problem] key 'grayscale' must be true or false"),
        ("problem", "size", 100000, "[problem] key 'size' = 100000 is above its maximum 8192"),
        ("run", "tolerance", math.nan, "[run] key 'tolerance' must be finite"),
        ("run", "tolerance", math.inf, "[run] key 'tolerance' must be finite"),
        ("run", "iterations", "10", "[run] key 'iterations' must be an integer"),
    ],
)
def test_non_finite_and_mistyped_config_values_are_rejected(section, key, value, fragment):
    with pytest.raises(ValueError) as info:
        Config.from_dict(with_changes(section, key, value))
    assert fragment in str(info.value)


def test_lane_colour_and_learned_solver_compatibility_are_checked():
    with pytest.raises(ValueError, match="key 'color' must be a hex colour"):
        Config.from_dict(with_changes("lanes", "color", "notacolor", index=0))
    data = with_changes("lanes", "solver", "ista_net_plus", index=0)
    del data["lanes"][0]["prior"]
    with pytest.raises(ValueError, match="'ista_net_plus' applies to degradation\\(s\\) 'cs', not 'denoise'"):
        Config.from_dict(data)


def write(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_config_files_that_are_not_configs_are_named_in_the_error(tmp_path):
    import tomli_w

    good = tomli_w.dumps(GOOD).encode()
    assert load_config(write(tmp_path, "bom.toml", b"\xef\xbb\xbf" + good)).lanes[0].label == "FISTA"
    with pytest.raises(ValueError, match=r"latin\.toml: config file is not UTF-8 text"):
        load_config(write(tmp_path, "latin.toml", good.replace(b"camera", b"cam\xe9ra")))
    with pytest.raises(ValueError, match=r"deep\.toml: config file is nested too deeply"):
        load_config(write(tmp_path, "deep.toml", b"x = " + b"[" * 5000 + b"]" * 5000))
    with pytest.raises(ValueError, match=r"big\.toml: .* too large"):
        load_config(write(tmp_path, "big.toml", b"#" * (2 << 20)))
    with pytest.raises(ValueError, match="not a regular file"):
        load_config(tmp_path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"fifo\.toml: not a regular file"):  # returns at once, never blocks
        load_config(fifo)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=10,
)
keys = st.sampled_from(
    [
        "image",
        "size",
        "grayscale",
        "color_mode",
        "degradation",
        "noise_sigma",
        "seed",
        "params",
        "solver",
        "label",
        "prior",
        "denoiser",
        "color",
        "iterations",
        "tolerance",
        "keep_iterates",
        "device",
        "dtype",
        "sync_every",
        "lam",
        "scale",
        "x",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem=st.dictionaries(keys, values, max_size=5),
    lane=st.dictionaries(keys, values, max_size=5),
    run=st.dictionaries(keys, values, max_size=4),
    top=st.sampled_from(["ok", "lanes-not-list", "extra"]),
)
def test_any_config_table_is_accepted_or_refused_with_a_value_error(problem, lane, run, top):
    data = {
        "problem": {**GOOD["problem"], **problem},
        "lanes": [{**GOOD["lanes"][0], **lane}],
        "run": {**GOOD["run"], **run},
    }
    if top == "lanes-not-list":
        data["lanes"] = lane
    elif top == "extra":
        data["surprise"] = 1
    try:
        Config.from_dict(data)
    except ValueError as exc:
        assert str(exc)


def test_final_image_names_are_unique():
    assert final_image_names(["画像", "図"]) == ["final_lane.png", "final_lane_2.png"]
    assert final_image_names(["a/b", "a_b", "A_B"]) == ["final_a_b.png", "final_a_b_2.png", "final_A_B_3.png"]
    assert len(final_image_names(["x" * 500])[0]) < 100


def test_cli_checks_the_output_folder_before_running_and_reports_failed_lanes(tmp_path, capsys):
    import tomli_w

    config = tmp_path / "c.toml"
    config.write_text(tomli_w.dumps(GOOD))
    not_a_folder = write(tmp_path, "file", b"x")
    assert main(["run", str(config), "--out", str(not_a_folder), "--quiet"]) == EXIT_USAGE
    assert "--out" in capsys.readouterr().err
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert main(["run", str(empty), "--out", str(tmp_path / "o"), "--quiet"]) == EXIT_USAGE
    assert "no [[lanes]]" in capsys.readouterr().err
    assert main(["run", str(config), "--out", str(tmp_path / "o"), "--quiet", "--iterations", "0"]) == EXIT_USAGE
    assert "'iterations' = 0: nothing to run" in capsys.readouterr().err
    assert not (tmp_path / "o" / "metrics.csv").exists()
    for size in ("999999", "-5"):
        assert main(["run", str(config), "--out", str(tmp_path / "o"), "--quiet", "--size", size]) == EXIT_USAGE
        assert f"--size must be between 8 and 8192 (pixels, longer side), got {size}" in capsys.readouterr().err
    bad_weights = with_changes("lanes", "solver", "lista", index=0)
    del bad_weights["lanes"][0]["prior"]
    bad_weights["lanes"][0]["params"] = {"weights": "no_such_weights"}
    bad_weights["lanes"].append(GOOD["lanes"][0] | {"label": "ok"})
    config.write_text(tomli_w.dumps(bad_weights))
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == EXIT_LANE_FAILED
    err = capsys.readouterr().err
    assert "lane 'FISTA' failed" in err and "no_such_weights" in err
    assert (tmp_path / "out" / "final_ok.png").exists()


@pytest.fixture
def weights_copy(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    shutil.copy(weights_dir() / "manifest.json", folder / "manifest.json")
    shutil.copy(weights_dir() / "dncnn.pt", folder / "dncnn.pt")
    return folder


@pytest.mark.parametrize(
    "tamper, fragment",
    [
        (lambda m: m.__setitem__("dncnn", "dncnn.pt"), "entry 'dncnn' must be an object"),
        (lambda m: m["dncnn"].__setitem__("meta", [1, 2]), "key 'meta' must be an object"),
        (lambda m: m["dncnn"].__setitem__("file", "../../etc/passwd"), "key 'file' must be a plain file name"),
        (lambda m: m["dncnn"].__setitem__("file", "/etc/hostname"), "key 'file' must be a plain file name"),
        (lambda m: m["dncnn"].__setitem__("sha256", 5), "key 'sha256' must be 64 lowercase hex digits"),
        (lambda m: m["dncnn"].__setitem__("bytes", "many"), "key 'bytes' must be a non-negative integer"),
    ],
)
def test_a_tampered_manifest_is_refused_naming_the_entry(weights_copy, tamper, fragment):
    manifest = json.loads((weights_copy / "manifest.json").read_text())
    tamper(manifest)
    (weights_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="manifest.json: entry 'dncnn'") as info:
        read_manifest(weights_copy)
    assert fragment in str(info.value)


def test_weights_that_are_a_folder_or_have_a_huge_architecture_are_refused(weights_copy):
    from core.learned.dncnn.denoiser import load_dilated_denoiser

    (weights_copy / "dncnn.pt").unlink()
    (weights_copy / "dncnn.pt").mkdir()
    with pytest.raises(WeightsError, match="not a regular file"):
        load_state("dncnn", weights_copy)
    manifest = json.loads((weights_copy / "manifest.json").read_text())
    manifest["dncnn"]["meta"]["features"] = 200000
    (weights_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="meta 'features' = 200000 must be an integer in"):
        load_dilated_denoiser("dncnn", weights_copy)


@pytest.fixture(scope="module")
def saved_session(tmp_path_factory):
    from core.engine import Run
    from core.session import save_session

    run = Run(Config.from_dict(GOOD))
    run.run()
    return save_session(run, tmp_path_factory.mktemp("s") / "session")


def damaged_copy(saved_session, tmp_path, damage):
    folder = tmp_path / "copy"
    shutil.copytree(saved_session, folder)
    damage(folder)
    return folder


def rewrite_npz(folder, **arrays):
    with np.load(folder / "iterates.npz") as data:
        kept = {key: data[key] for key in data.files}
    kept.update(arrays)
    np.savez(folder / "iterates.npz", **kept)


def npz_declaring(folder, shape):
    """An iterates.npz whose one array header declares ``shape`` (a few bytes of data: a zip bomb)."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(folder / "iterates.npz", "w") as archive:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.array(["FISTA"]))
        archive.writestr("lane_labels.npy", buffer.getvalue())
        archive.writestr("lane0_k1.npy", header.getvalue() + b"\0" * 64)


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda f: npz_declaring(f, (200000, 200000)), "is not a display image"),
        (lambda f: rewrite_npz(f, lane7_k1=np.zeros((32, 32), np.float32)), "names lane 7"),
        (lambda f: rewrite_npz(f, **{"lane-1_k1": np.zeros((32, 32), np.float32)}), "unexpected array"),
        (lambda f: rewrite_npz(f, lane0_k1=np.zeros((32, 32, 5), np.float32)), "is not a display image"),
        (lambda f: rewrite_npz(f, lane_labels=np.array(["someone else"])), "are not the session's lanes"),
        (
            lambda f: (f / "metrics.csv").write_text((f / "metrics.csv").read_text().replace("FISTA,", "GHOST,")),
            "are not in the session",
        ),
        (
            lambda f: (f / "metrics.csv").write_text(
                "\n".join(
                    (f / "metrics.csv").read_text().splitlines()[:1] + (f / "metrics.csv").read_text().splitlines()[2:]
                )
                + "\n"
            ),
            "iterations must run 1, 2, 3",
        ),
    ],
)
def test_session_files_are_validated_before_use(saved_session, tmp_path, damage, fragment):
    from core.session import open_session

    folder = damaged_copy(saved_session, tmp_path, damage)
    with pytest.raises(ValueError) as info:
        open_session(folder)
    assert fragment in str(info.value)


def test_image_files_are_checked_before_they_are_inflated(tmp_path, monkeypatch):
    import struct
    import zlib

    import core.images as images

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    side = 8000  # 8000² 16-bit RGBA: 512 MB of samples from a ~1 MB file
    ihdr = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    data = zlib.compress(b"\0" * (side * (8 * side + 1)), 9)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    with pytest.raises(images.ImageError, match=r"bomb\.png.*8000×8000 = 64000000 pixels, more than"):
        images.load_image(bomb)
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 1000)
    with pytest.raises(images.ImageError, match="MiB, larger than"):
        images.load_image(bomb)
