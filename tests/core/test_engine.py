"""Engine: lockstep stepping, metrics history, divergence/convergence/ended/error statuses,
bounded iterate history, reproducibility, lane editing and the metrics CSV."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from core.config import Config
from core.engine import CSV_COLUMNS, Run, write_metrics_csv
from core.lane_spec import LaneSpec
from core.params import Param
from core.registry import SOLVERS, load_all
from core.solvers.base import Step

load_all()


# --- test-only solvers (registered per test by the fake_solvers fixture) ------------------------
def _test_raises(problem, *, fail_at=3):
    x = problem.x0
    for k in range(1, 10**9):
        if k == fail_at:
            raise RuntimeError("boom")
        x = x - 0.5 / problem.lipschitz() * problem.grad_fidelity(x)
        yield Step(k, x)


def _test_stages(problem, *, stages=4):
    x = problem.x0
    for k in range(1, stages + 1):
        x = x - 1.0 / problem.lipschitz() * problem.grad_fidelity(x)
        yield Step(k, x, info={"ended": k == stages, "gain": torch.tensor(float(k))})


def _test_random(problem):
    offset = torch.rand(())  # drawn when the generator starts
    for k in range(1, 10**9):
        yield Step(k, problem.x0 + 0.01 * torch.rand(problem.x0.shape) + 0 * offset)


def _test_extras(problem, *, blow_up_at=0):
    x = problem.x0
    probe = torch.empty_like(problem.to_image(x))  # overwritten in place: the engine must clone
    for k in range(1, 10**9):
        x = x - 1.0 / problem.lipschitz() * problem.grad_fidelity(x)
        shown = x * math.nan if k == blow_up_at else x
        probe.copy_(problem.to_image(shown) * k)
        yield Step(k, shown, extras={"probe": probe})


FAKE_SOLVERS = [
    (_test_raises, [Param("fail_at", 3, kind="int", low=1)], "test: gradient descent that raises at iteration fail_at"),
    (
        _test_stages,
        [Param("stages", 4, kind="int", low=1)],
        "test: a fixed number of stages, the last one flagged ended",
    ),
    (_test_random, [], "test: x⁰ plus fresh uniform noise at every step"),
    (
        _test_extras,
        [Param("blow_up_at", 0, kind="int", low=0)],
        "test: gradient descent yielding extras {'probe': k·x^k} in one reused buffer; "
        "only iteration blow_up_at is NaN",
    ),
]


@pytest.fixture
def fake_solvers(scratch_registries):
    """The test-only solvers above, registered for one test (gone afterwards)."""
    for func, params, doc in FAKE_SOLVERS:
        SOLVERS.register(func.__name__, params=params, doc=doc, needs_prior=False, needs_denoiser=False, learned=False)(
            func
        )


def make_config(lanes, iterations=20, **run):
    return Config.from_dict(
        {
            "problem": {"image": "camera", "size": 32, "degradation": "blur", "noise_sigma": 0.01, "seed": 3},
            "lanes": lanes,
            "run": {"iterations": iterations, **run},
        }
    )


FISTA = {"label": "FISTA", "solver": "fista", "prior": "l1", "params": {"lam": 0.001}}
ISTA = {"label": "ISTA", "solver": "ista", "prior": "l1", "params": {"lam": 0.001}}


def test_step_records_one_metric_point_per_iteration_and_values_match_references():
    run = Run(make_config([FISTA, ISTA], keep_iterates=10))
    run.step(5)
    snap = run.snapshot()
    truth = run.problem.x_true[0].numpy().astype(np.float64)
    for index, lane in enumerate(snap.lanes):
        assert lane.k == 5 and lane.status == "running"
        np.testing.assert_array_equal(lane.iterations, np.arange(1, 6))
        assert all(len(values) == 5 for values in lane.metrics.values())
        assert len(lane.seconds) == 5 and np.all(np.diff(lane.seconds) >= 0)
        final = np.clip(lane.image.astype(np.float64), 0, 1)
        assert lane.metrics["psnr"][-1] == pytest.approx(peak_signal_noise_ratio(truth, final, data_range=1), abs=2e-3)
        assert lane.metrics["ssim"][-1] == pytest.approx(structural_similarity(truth, final, data_range=1), abs=2e-4)
        x4, x5 = run.iterate(index, 4).astype(np.float64), run.iterate(index, 5).astype(np.float64)
        assert lane.metrics["rel_change"][-1] == pytest.approx(np.linalg.norm(x5 - x4) / np.linalg.norm(x4), rel=1e-4)
        np.testing.assert_allclose(lane.error_map, lane.image - truth, atol=1e-6)
        # objective = ½‖Ax − y‖² + λ‖x‖₁ evaluated independently
        x = torch.from_numpy(lane.image[None])
        residual = run.problem.operator.forward(x) - run.problem.y
        expected = 0.5 * float((residual**2).sum()) + 0.001 * float(x.abs().sum())
        assert lane.metrics["objective"][-1] == pytest.approx(expected, rel=1e-4)
        assert np.all(np.isnan(lane.metrics["opt_error"])) and np.all(np.isnan(lane.metrics["accepted"]))
    assert snap.lanes[0].series["momentum"][0] == 0.0  # FISTA's (t₁ − 1)/t₂


def test_fista_objective_decreases_faster_than_ista():
    run = Run(make_config([FISTA, ISTA], iterations=40))
    run.run()
    fista, ista = run.snapshot().lanes
    assert fista.metrics["objective"][-1] < ista.metrics["objective"][-1]
    assert np.all(np.diff(ista.metrics["objective"]) <= 1e-6)  # ISTA is monotone


def test_diverging_lane_is_stopped_while_fista_finishes():
    config = make_config([FISTA, ISTA], iterations=60)
    run = Run(config)
    lipschitz = run.problem.lipschitz()
    run.replace_lane(
        1, LaneSpec(solver="ista", label="ISTA 50/L", prior="l1", params={"lam": 0.001, "step_size": 50.0 / lipschitz})
    )
    run.run()
    fista, ista = run.snapshot().lanes
    assert fista.status == "running" and fista.k == 60 and np.all(np.isfinite(fista.metrics["psnr"]))
    assert ista.status == f"diverged at {ista.k}"
    assert 5 < ista.k < 60
    blow_up = ista.metrics["objective"][:8]  # history kept, showing the blow-up
    assert np.all(np.isfinite(blow_up)) and np.all(np.diff(blow_up) > 0) and blow_up[-1] > 1e10
    assert len(ista.metrics["objective"]) == ista.k
    assert not np.all(np.isfinite(run.iterate(1, ista.k)))
    assert np.all(np.isfinite(run.iterate(1, ista.k - 1)))
    assert run.done


def test_sync_every_detects_the_same_divergence_iteration():
    results = []
    for sync_every in (1, 7):
        run = Run(make_config([FISTA], iterations=60, sync_every=sync_every))
        run.add_lane(
            LaneSpec(solver="ista", label="bad", prior="l1", params={"step_size": 50.0 / run.problem.lipschitz()})
        )
        run.run()
        results.append((run.lanes[1].status, run.lanes[1].k, len(run.snapshot().lanes[1].seconds)))
    assert results[0] == results[1]


def test_tolerance_stops_lane_at_first_small_relative_change():
    run = Run(make_config([ISTA], iterations=200, tolerance=2e-3))
    run.run()
    lane = run.snapshot().lanes[0]
    rel = lane.metrics["rel_change"]
    assert lane.status == f"converged at {lane.k}"
    assert rel[-1] < 2e-3 and np.all(rel[:-1] >= 2e-3)
    assert lane.k < 200


def test_ended_and_error_lanes_stop_while_others_continue(fake_solvers):
    run = Run(
        make_config(
            [FISTA, {"label": "stages", "solver": "_test_stages"}, {"label": "raises", "solver": "_test_raises"}],
            iterations=8,
        )
    )
    run.run()
    fista, stages, raises = run.snapshot().lanes
    assert fista.k == 8 and fista.status == "running"
    assert stages.status == "ended at 4" and stages.k == 4
    np.testing.assert_array_equal(stages.series["gain"], [1.0, 2.0, 3.0, 4.0])
    assert raises.status == "error: RuntimeError: boom" and raises.k == 2


def test_history_keeps_last_k_iterates_plus_x0():
    run = Run(make_config([FISTA], keep_iterates=3))
    run.step(10)
    assert run.kept_iterations(0) == [0, 8, 9, 10]
    assert run.iterate(0, 7) is None and run.iterate(0, 11) is None
    np.testing.assert_array_equal(run.iterate(0, 10), run.snapshot().lanes[0].image)
    np.testing.assert_allclose(run.iterate(0, 0), run.problem.x0[0].numpy())
    small = run.memory_bytes()
    big_run = Run(make_config([FISTA], keep_iterates=8))
    big_run.step(10)
    per_image = 32 * 32 * 4  # float32
    assert big_run.memory_bytes() - small == 5 * per_image


def test_extras_are_kept_with_the_last_k_iterates(fake_solvers):
    keep, steps = 3, 7
    run = Run(make_config([{"label": "probe", "solver": "_test_extras"}], keep_iterates=keep))
    run.step(steps)
    assert run.kept_iterations(0) == [0, 5, 6, 7]
    for k in (5, 6, 7):  # the probe the solver yielded at iteration k: k·x^k
        extras = run.extras(0, k)
        assert set(extras) == {"probe"} and extras["probe"].shape == (32, 32)
        np.testing.assert_allclose(extras["probe"], k * run.iterate(0, k), rtol=1e-6)
    assert not np.allclose(run.extras(0, 5)["probe"], run.extras(0, 6)["probe"])
    for k in (0, 1, 4, 8):
        assert run.extras(0, k) == {}
    np.testing.assert_array_equal(run.extras(0, steps)["probe"], run.snapshot().lanes[0].extras["probe"])
    lane = run.lanes[0]
    per_image = 32 * 32 * 4  # float32: x⁰, then an iterate and a probe per kept iteration
    seconds = 8 * steps  # the step times, one float64 each
    assert run.memory_bytes() == lane.history.nbytes() + seconds + (1 + 2 * keep) * per_image


def test_divergence_cut_back_also_drops_later_extras(fake_solvers):
    run = Run(
        make_config(
            [{"label": "probe", "solver": "_test_extras", "params": {"blow_up_at": 3}}], keep_iterates=10, sync_every=50
        )
    )
    run.step(5)
    assert np.all(np.isfinite(run.extras(0, 5)["probe"]))  # finite again, not yet checked
    run.check()
    assert run.lanes[0].status == "diverged at 3" and run.kept_iterations(0) == [0, 1, 2, 3]
    assert run.extras(0, 4) == {} and run.extras(0, 5) == {}
    np.testing.assert_allclose(run.extras(0, 2)["probe"], 2 * run.iterate(0, 2), rtol=1e-6)
    assert np.all(np.isnan(run.snapshot().lanes[0].extras["probe"]))  # latest = iteration 3's


def test_metric_buffers_grow_past_initial_capacity():
    run = Run(make_config([ISTA], iterations=150, keep_iterates=0))
    run.run()
    lane = run.snapshot().lanes[0]
    assert lane.k == 150 and len(lane.metrics["psnr"]) == 150 and np.all(np.isfinite(lane.metrics["psnr"]))
    assert run.kept_iterations(0) == [0]


def test_two_runs_are_identical():
    lanes = [FISTA, {"label": "PnP", "solver": "pnp_hqs", "denoiser": "gaussian"}]
    first, second = Run(make_config(lanes)), Run(make_config(lanes))
    first.run(12)
    second.run(12)
    for a, b in zip(first.snapshot().lanes, second.snapshot().lanes):
        for name in a.metrics:
            np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
        np.testing.assert_array_equal(a.image, b.image)


def test_replace_lane_restarts_only_that_lane_and_matches_a_fresh_run():
    run = Run(make_config([FISTA, ISTA]))
    run.step(6)
    run.replace_lane(1, LaneSpec(solver="admm", label="ADMM", prior="l1", params={"lam": 0.001}))
    assert run.lanes[0].k == 6 and run.lanes[1].k == 0 and run.lanes[1].status == "ready"
    run.step(4)
    fresh = Run(make_config([{"label": "ADMM", "solver": "admm", "prior": "l1", "params": {"lam": 0.001}}]))
    fresh.step(4)
    np.testing.assert_array_equal(run.snapshot().lanes[1].metrics["psnr"], fresh.snapshot().lanes[0].metrics["psnr"])
    assert [lane.label for lane in run.config.lanes] == ["FISTA", "ADMM"]
    run.remove_lane(0)
    assert [lane.label for lane in run.lanes] == ["ADMM"] and len(run.config.lanes) == 1
    with pytest.raises(ValueError, match="duplicate label 'ADMM'"):
        run.add_lane(LaneSpec(solver="ista", label="ADMM", prior="l1"))
    with pytest.raises(ValueError, match="unknown parameter"):
        run.add_lane(LaneSpec(solver="ista", label="x", prior="l1", params={"rho": 1.0}))


def test_metrics_csv_columns_rows_and_values(tmp_path, fake_solvers):
    run = Run(make_config([FISTA, {"label": "stages", "solver": "_test_stages"}]))
    run.step(6)
    write_metrics_csv(run, tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[
        0
    ] == "lane,iteration,rel_change,rec_error,psnr,ssim,objective,opt_error,opt_bound,accepted,status".split(",")
    assert [r[0] for r in rows[1:]] == ["FISTA"] * 6 + ["stages"] * 4
    snap = run.snapshot()
    assert [int(r[1]) for r in rows[1:7]] == list(range(1, 7))
    assert float(rows[6][4]) == snap.lanes[0].metrics["psnr"][5]
    assert rows[7][7] == "nan" and rows[10][-1] == "ended at 4"


def test_colour_run_in_y_mode_displays_rgb():
    config = Config.from_dict(
        {
            "problem": {
                "image": "astronaut",
                "size": 32,
                "grayscale": False,
                "color_mode": "y",
                "degradation": "denoise",
                "noise_sigma": 0.05,
            },
            "lanes": [FISTA],
            "run": {"iterations": 2},
        }
    )
    run = Run(config)
    run.run()
    snap = run.snapshot()
    assert run.problem.x_true.shape[0] == 1
    assert snap.ground_truth.shape == (32, 32, 3) and snap.lanes[0].image.shape == (32, 32, 3)
    assert snap.lanes[0].error_map.shape == (32, 32)
    from core.images import load_image

    np.testing.assert_allclose(snap.ground_truth, load_image("astronaut", size=32, grayscale=False), atol=1e-5)


def test_cuda_requested_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the error path cannot occur")
    with pytest.raises(ValueError, match="no CUDA device"):
        Run(make_config([FISTA], device="cuda"))


def test_each_lane_has_its_own_random_stream(fake_solvers):
    alone = Run(make_config([{"label": "r", "solver": "_test_random"}]))
    alone.step(5)
    crowded = Run(make_config([{"label": "other", "solver": "_test_random"}]))
    crowded.step(2)
    torch.rand(100)  # global random state changes between steps must not matter
    crowded.add_lane(LaneSpec(solver="_test_random", label="r"))
    crowded.step(5)
    np.testing.assert_array_equal(alone.snapshot().lanes[0].image, crowded.snapshot().lanes[1].image)
    np.testing.assert_array_equal(
        alone.snapshot().lanes[0].metrics["psnr"], crowded.snapshot().lanes[1].metrics["psnr"]
    )
    first, second = crowded.snapshot().lanes
    assert first.metrics["rel_change"][0] > 0  # the noise really is random per step


@pytest.mark.parametrize("compiled_metrics", [False, True])
def test_stepping_does_not_synchronise_with_the_host_between_checks(monkeypatch, compiled_metrics):
    """No host sync between checks. The compiled image metrics (core/fused_metrics.py) run on CPU
    images only, where there is no device to wait for: they read the images through numpy views
    (``Tensor.numpy``) and nothing else."""
    from core import fused_metrics

    if not compiled_metrics:
        monkeypatch.setattr(fused_metrics, "kernel", lambda: None)
    run = Run(make_config([FISTA, {"label": "ADMM", "solver": "admm", "prior": "l1"}], sync_every=1000))
    run.step(1)  # first step computes the Lipschitz constant / factorisations once
    calls = []
    for name in ("item", "cpu", "numpy", "tolist", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    run.step(5)
    if compiled_metrics:
        assert calls and set(calls) == {"numpy"}
        calls.clear()
    assert calls == []
    run.check()  # the one synchronisation for all lanes
    assert calls.count("cpu") == 1
    monkeypatch.undo()
    assert [lane.k for lane in run.lanes] == [6, 6]


# --- problem builder ---------------------------------------------------------------------------
def build(**problem):
    from core.problem import build_problem

    spec = Config.from_dict({"problem": {"image": "camera", "size": 64, **problem}}).problem
    return build_problem(spec, "cpu", "float64")


def test_noise_is_seeded_gaussian_with_the_requested_sigma():
    problem = build(degradation="blur", noise_sigma=0.05, seed=1)
    noise = problem.y - problem.operator.forward(problem.x_true)
    assert float(noise.std()) == pytest.approx(0.05, rel=0.05) and abs(float(noise.mean())) < 0.005
    assert torch.equal(build(degradation="blur", noise_sigma=0.05, seed=1).y, problem.y)
    assert not torch.equal(build(degradation="blur", noise_sigma=0.05, seed=2).y, problem.y)
    clean = build(degradation="blur", noise_sigma=0.0)
    assert torch.equal(clean.y, clean.operator.forward(clean.x_true))


def test_mri_noise_is_complex_with_expected_power():
    problem = build(degradation="mri", noise_sigma=0.05, params={"ratio": 50})
    noise = problem.y - problem.operator.forward(problem.x_true)
    assert noise.is_complex()
    sampled = noise[noise.abs() > 0]
    assert float((sampled.abs() ** 2).mean()) == pytest.approx(0.05**2, rel=0.1)
    assert float(sampled.real.std()) == pytest.approx(0.05 / 2**0.5, rel=0.1)
    assert float(sampled.imag.std()) == pytest.approx(0.05 / 2**0.5, rel=0.1)


def test_images_are_cropped_to_the_degradation_multiple():
    sr3 = build(image="coins", degradation="sr", params={"scale": 3}, size=100)
    assert tuple(sr3.x_true.shape) == (1, 72, 96)  # coins 79×100 → multiples of lcm(8, 3) = 24
    sparse = build(degradation="sparse_sr", params={"scale": 2, "levels": 4}, size=100)
    assert all(side % 16 == 0 for side in sparse.x_true.shape[1:])
    assert sparse.x0.shape == sparse.x_true.shape
    np.testing.assert_allclose(sparse.to_image(sparse.from_image(sparse.x_true)), sparse.x_true, atol=1e-10)


def test_colour_modes():
    rgb = build(image="astronaut", grayscale=False, color_mode="rgb", degradation="inpaint")
    assert rgb.x_true.shape[0] == 3 and rgb.y.shape[0] == 3 and not rgb.display
    luma = build(image="astronaut", grayscale=False, color_mode="y", degradation="sr")
    from core.images import load_image, rgb_to_ycbcr

    ycbcr = rgb_to_ycbcr(load_image("astronaut", size=64, grayscale=False))
    np.testing.assert_allclose(luma.x_true[0].numpy(), ycbcr[..., 0], atol=1e-12)
    np.testing.assert_allclose(luma.display["cbcr_true"].numpy(), np.moveaxis(ycbcr[..., 1:], -1, 0), atol=1e-12)
    assert luma.display["cbcr"].shape == (2, 64, 64)


def test_grey_image_with_grayscale_off_is_solved_as_one_channel():
    from core.images import load_image

    grey = build(image="camera", grayscale=False, color_mode="y", degradation="sr")
    assert grey.x_true.shape[0] == 1 and not grey.display
    np.testing.assert_allclose(grey.x_true[0].numpy(), load_image("camera", size=64), atol=1e-12)
