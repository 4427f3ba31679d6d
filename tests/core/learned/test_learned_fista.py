"""Learned FISTA: FISTA-initialised stages are FISTA's iterates, shipped weights load and beat FISTA
at K iterations, the lane on every degradation, a tiny training run; LISTA declared for denoising."""

from __future__ import annotations

import math

import pytest
import torch

from core.config import ProblemSpec
from core.learned.learned_fista.lane import auto_weights
from core.learned.learned_fista.net import LearnedFISTA, fista_momenta
from core.learned.learned_fista.train import LEVELS, PROBLEMS, WAVELET, train_learned_fista
from core.learned.training.common import TrainSettings
from core.learned.weights import WeightsError, load_state, read_manifest, sha256_file, weights_meta
from core.metrics import psnr
from core.problem import build_problem
from core.registry import DEGRADATIONS, SOLVERS, load_all
from core.reproduce.common import solver

load_all()


def make_problem(degradation, image="camera", size=40, dtype="float64"):
    params, sigma, _ = PROBLEMS[degradation]
    spec = ProblemSpec(
        image=image,
        size=size,
        degradation=degradation,
        noise_sigma=sigma,
        seed=0,
        params=DEGRADATIONS.get_entry(degradation).resolve(params),
    )
    return build_problem(spec, dtype=dtype)


def image_psnr(problem, x):
    return float(psnr(problem.to_image(x), problem.x_true, image_dims=(0, 1, 2)))


def lane(problem, **params):
    return SOLVERS.get_entry("learned_fista").factory(problem, **{"weights": "auto", **params})


def fista_lane(problem, degradation, lam):
    """FISTA on the same model: λ‖Wx‖₁ (sparse-coding SR's unknown is α = Wx itself: λ‖α‖₁)."""
    if degradation == "sparse_sr":
        return solver("fista", problem, "l1", {"lam": lam})
    return solver("fista", problem, "l1_wavelet", {"lam": lam, "wavelet": WAVELET, "levels": LEVELS})


def test_every_built_in_degradation_has_shipped_weights_that_load_safely():
    assert set(PROBLEMS) == set(DEGRADATIONS)
    manifest = read_manifest()
    for degradation in PROBLEMS:
        name = f"learned_fista_{degradation}"
        state = load_state(name)  # SHA-256 checked, torch.load(weights_only=True)
        net = LearnedFISTA.from_state_dict(state)
        meta = weights_meta(name)
        assert meta["degradation"] == degradation and meta["stages"] == net.stages >= 10
        assert net.wavelet == WAVELET and int(net.levels) == LEVELS
        assert manifest[name]["meta"]["training"]["settings"]["threads"] == 1
        for k in range(net.stages):
            scale, threshold, _ = (v.detach() for v in net.scalars(k))
            assert 0.0 < float(scale) < 2.0 and float(threshold) > 0.0


@pytest.mark.parametrize("degradation", sorted(PROBLEMS))
def test_fista_initialised_stages_are_fistas_iterates(degradation):
    problem = make_problem(degradation)
    lam = PROBLEMS[degradation][2]
    net = LearnedFISTA.from_fista(10, lam, float(problem.lipschitz()), WAVELET, LEVELS, dtype=torch.float64)
    steps = list(lane(problem, net=net))
    reference = fista_lane(problem, degradation, lam)
    assert len(steps) == 10
    for step in steps:
        expected = next(reference)
        assert step.k == expected.k
        torch.testing.assert_close(step.x, expected.x, rtol=0, atol=1e-12)
        if step.k >= 2:  # FISTA's momentum reported by the classical solver one iteration earlier
            assert float(step.info["momentum"]) == pytest.approx(fista_momenta(10)[step.k - 1], abs=1e-15)
    # the iterates really move (the test above is not FISTA standing still)
    assert float((steps[-1].x - problem.x0).abs().max()) > 1e-3


def test_fista_momenta_follow_the_t_sequence():
    t, expected = [1.0], [0.0]
    for _ in range(5):
        t.append((1 + math.sqrt(1 + 4 * t[-1] ** 2)) / 2)
    expected += [(t[k - 1] - 1) / t[k] for k in range(1, 6)]
    assert fista_momenta(6) == pytest.approx(expected, abs=1e-15)
    assert fista_momenta(6)[:3] == pytest.approx([0.0, 0.0, (t[1] - 1) / t[2]])


@pytest.mark.parametrize(
    "degradation", sorted(SOLVERS.get_entry("learned_fista").extra.get("degradations") or PROBLEMS)
)
def test_shipped_lane_is_finite_reports_its_scalars_ends_and_improves_over_x0(degradation):
    problem = make_problem(degradation, dtype="float32")
    with torch.no_grad():
        steps = list(lane(problem))
    stages = weights_meta(auto_weights(problem.operator))["stages"]
    assert [s.k for s in steps] == list(range(1, stages + 1))
    assert [s.info.get("ended", False) for s in steps] == [False] * (stages - 1) + [True]
    for step in steps:
        assert bool(torch.isfinite(step.x).all())
        assert {"step", "threshold", "momentum"} <= set(step.info)
        assert float(step.info["step"]) > 0.0 and float(step.info["threshold"]) > 0.0
    assert image_psnr(problem, steps[-1].x) > image_psnr(problem, problem.x0) + 0.1


#: measured margin (dB) over FISTA at K iterations on camera, 64 px (bench/results/learned_fista.md
#: has Set12): the wavelet-ℓ1 model leaves little to learn for MRI and sparse-coding SR
MARGIN = {"mri": 0.0, "sparse_sr": 0.0}


@pytest.mark.parametrize("degradation", sorted(PROBLEMS))
def test_trained_stages_beat_fista_at_as_many_iterations_on_the_validation_image(degradation):
    # camera is held out of training (only the logged validation figure uses it)
    problem = make_problem(degradation, image="camera", size=64, dtype="float32")
    lam = PROBLEMS[degradation][2]
    with torch.no_grad():
        learned = list(lane(problem))
        reference = fista_lane(problem, degradation, lam)
        fista = [next(reference) for _ in learned][-1]
        untrained = list(lane(problem, weights="none"))[-1]
    torch.testing.assert_close(untrained.x, fista.x, rtol=0, atol=1e-4)  # 'none' = K FISTA iterations
    assert image_psnr(problem, learned[-1].x) > image_psnr(problem, fista.x) + MARGIN.get(degradation, 0.2)


def test_auto_weights_name_the_missing_degradation():
    class Plugin:
        name = "my_plugin_blur"

    with pytest.raises(WeightsError, match="no weights 'learned_fista_my_plugin_blur'.*learned_fista_blur"):
        auto_weights(Plugin())


def test_tiny_training_run_writes_loadable_weights_log_and_manifest(tmp_path):
    settings = TrainSettings(
        name="learned_fista_inpaint", epochs=1, out=tmp_path, steps_per_epoch=2, batch_size=2, threads=1, progress=False
    )
    summary = train_learned_fista(settings, "inpaint")
    assert math.isfinite(summary["history"][0]["loss"])
    assert summary["final_validation"]["psnr"] > summary["final_validation"]["fista_psnr"] - 1.0
    entry = read_manifest(tmp_path)["learned_fista_inpaint"]
    assert entry["sha256"] == sha256_file(tmp_path / "learned_fista_inpaint.pt")
    assert entry["meta"]["degradation"] == "inpaint" and entry["meta"]["lam"] == PROBLEMS["inpaint"][2]
    net = LearnedFISTA.from_state_dict(load_state("learned_fista_inpaint", tmp_path))
    untrained = LearnedFISTA.from_fista(net.stages, PROBLEMS["inpaint"][2], 1.0)
    assert not torch.equal(net.log_threshold, untrained.log_threshold)  # two Adam steps moved it
    assert "fista_psnr" in (tmp_path / "learned_fista_inpaint.log").read_text()


def test_lista_is_declared_a_sparse_coder_for_denoising_only():
    entry = SOLVERS.get_entry("lista")
    assert entry.extra["degradations"] == ("denoise",)
    assert "sparse coding (denoising)" in entry.doc
    assert SOLVERS.get_entry("learned_fista").extra.get("degradations") is None  # every degradation
