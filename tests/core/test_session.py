"""Sessions: save/open round trip, reproduction by rerunning, atomic writes, corrupt folders."""

from __future__ import annotations

import numpy as np
import pytest

import core.session as session_module
from core.config import Config
from core.engine import METRIC_NAMES, Run
from core.session import open_session, save_session


def make_run(iterations=7):
    config = Config.from_dict(
        {
            "problem": {
                "image": "coins",
                "size": 32,
                "degradation": "inpaint",
                "noise_sigma": 0.01,
                "seed": 5,
                "params": {"keep_rate": 0.6},
            },
            "lanes": [
                {"label": "FISTA l1w", "solver": "fista", "prior": "l1_wavelet", "params": {"lam": 0.002}},
                {"label": "PnP", "solver": "pnp_hqs", "denoiser": "gaussian"},
            ],
            "run": {"iterations": iterations, "keep_iterates": 3},
        }
    )
    run = Run(config)
    run.run()
    return run


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s") / "session"
    run = make_run()
    save_session(run, folder)
    return run, folder


def test_round_trip_restores_config_metrics_and_iterates(saved):
    run, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["iterates.npz", "metrics.csv", "session.toml"]
    config, metrics, iterates = open_session(folder)
    assert config == run.config
    snapshot = run.snapshot()
    assert list(metrics) == [lane.label for lane in snapshot.lanes]
    for lane in snapshot.lanes:
        np.testing.assert_array_equal(metrics[lane.label]["iteration"], lane.iterations)
        for name in METRIC_NAMES:
            np.testing.assert_array_equal(metrics[lane.label][name], lane.metrics[name])
        assert set(metrics[lane.label]["status"]) == {lane.status}
    for index, lane in enumerate(run.lanes):
        assert sorted(iterates[lane.label]) == [0, 5, 6, 7]
        for k, image in iterates[lane.label].items():
            np.testing.assert_array_equal(image, run.iterate(index, k))


def test_reopened_session_reruns_to_identical_metrics(saved):
    _, folder = saved
    config, metrics, iterates = open_session(folder)
    rerun = Run(config)
    rerun.run()
    for index, lane in enumerate(rerun.snapshot().lanes):
        for name in METRIC_NAMES:
            np.testing.assert_array_equal(lane.metrics[name], metrics[lane.label][name])
        np.testing.assert_array_equal(rerun.iterate(index, 7), iterates[lane.label][7])


def test_session_toml_has_schema_version_and_seed(saved):
    import tomllib

    _, folder = saved
    document = tomllib.loads((folder / "session.toml").read_text())
    assert document["schema_version"] == 1 and document["seed"] == 5
    assert document["config"]["problem"]["params"]["keep_rate"] == 0.6


def test_failed_save_leaves_previous_session_intact(tmp_path, monkeypatch):
    folder = tmp_path / "s"
    save_session(make_run(iterations=3), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(session_module.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        save_session(make_run(iterations=4), folder)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}
    assert after["session.toml"] == before["session.toml"]
    assert after["iterates.npz"] == before["iterates.npz"]
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
    assert open_session(folder)[0].run.iterations == 3


def copy_session(saved, tmp_path):
    _, folder = saved
    target = tmp_path / "copy"
    target.mkdir()
    for path in folder.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


@pytest.mark.parametrize(
    "damage, fragments",
    [
        (
            lambda f: (f / "session.toml").write_text("schema_version = 1\n[config\n"),
            ["session.toml", "corrupt", "TOML"],
        ),
        (
            lambda f: (f / "session.toml").write_text(
                (f / "session.toml").read_text().replace("schema_version = 1", "schema_version = 2")
            ),
            ["session.toml", "unsupported schema_version 2"],
        ),
        (lambda f: (f / "session.toml").unlink(), ["session.toml", "missing"]),
        (
            lambda f: (f / "session.toml").write_text(
                (f / "session.toml").read_text().replace('solver = "fista"', 'solver = "fistaa"')
            ),
            ["session.toml", "invalid config", "unknown solver 'fistaa'"],
        ),
        (lambda f: (f / "metrics.csv").unlink(), ["metrics.csv", "missing"]),
        (lambda f: (f / "metrics.csv").write_text("a,b\n1,2\n"), ["metrics.csv", "corrupt", "header"]),
        (
            lambda f: (f / "metrics.csv").write_text((f / "metrics.csv").read_text() + "PnP,8,x\n"),
            ["metrics.csv", "corrupt", "fields"],
        ),
        (lambda f: (f / "iterates.npz").write_bytes(b"not a zip"), ["iterates.npz", "corrupt"]),
        (lambda f: (f / "iterates.npz").unlink(), ["iterates.npz", "missing"]),
    ],
)
def test_damaged_sessions_raise_value_error_naming_the_file(saved, tmp_path, damage, fragments):
    folder = copy_session(saved, tmp_path)
    damage(folder)
    with pytest.raises(ValueError) as info:
        open_session(folder)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_pickled_npz_is_refused(saved, tmp_path):
    folder = copy_session(saved, tmp_path)
    np.savez(folder / "iterates.npz", lane_labels=np.array(["a"], dtype=object), lane0_k0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="iterates.npz: corrupt"):
        open_session(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match="not a session folder"):
        open_session(tmp_path / "nothing")
