"""PODM with the stage-wise trained propagation (core/learned/podm_stagewise): shipped weights,
against the dncnn propagation and random weights on a small case, the denoiser fallback, the
greedy trainer (stages < l frozen, resumable) and the Table 1 reproduction (quick)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.lane import build_solver
from core.lane_spec import LaneSpec, resolve_lane
from core.learned.podm_stagewise import problem_class as pc
from core.learned.podm_stagewise import train as stagewise_train
from core.learned.podm_stagewise.lane import load_stagewise, propagation_from
from core.learned.podm_stagewise.net import StagewisePropagation, strong_convexity_momentum
from core.learned.training.common import TrainSettings
from core.learned.weights import read_manifest, weights_meta
from core.reproduce.common import build
from core.solvers.podm import podm_stages

STAGES = 10
PRESET_PRIOR = {"lam": 1e-4, "p": 0.8}


def tiny_problem(size=48, **params):
    return build("camera", "sparse_sr", size, scale=2, levels=3, wavelet="db4", **params)


def lane_steps(solver, problem, **params):
    denoiser = None if solver == "fista" else "dncnn"
    spec = resolve_lane(LaneSpec(solver=solver, prior="lp", denoiser=denoiser, params={**PRESET_PRIOR, **params}))
    steps, prior, _ = build_solver(spec, problem)
    return steps, prior


def summary(steps, c, stages=STAGES):
    """(median check ratio ‖ψ‖/‖x_G − x^{l−1}‖, accepted stages, Φ after the last stage, infos)."""
    ratios, accepted, infos = [], 0, []
    for _, step in zip(range(stages), steps):
        ratios.append(c * float(step.info["opt_error"]) / float(step.info["opt_bound"]))
        accepted += int(step.info["accepted"])
        infos.append(step.info)
    return float(np.median(ratios)), accepted, float(infos[-1]["objective"]), infos


@pytest.mark.parametrize("scale", pc.SCALES)
def test_shipped_weights_load_and_fit_their_manifest(scale):
    name = pc.weights_name(scale)
    assert name in read_manifest()
    net = load_stagewise(name)
    meta = weights_meta(name)
    assert isinstance(net, StagewisePropagation) and net.stages == meta["stages"] >= 2
    assert net.inner == meta["inner"] == stagewise_train.INNER
    assert meta["problem_class"]["scale"] == scale and meta["problem_class"]["prior"] == pc.PRIOR
    assert not any(p.requires_grad for p in net.parameters())
    # trained: the stages differ from each other and from the initial steps s = 0
    first, last = (torch.cat([p.flatten() for p in net.nets[i].parameters()]) for i in (0, net.stages - 1))
    assert not torch.equal(first, last)
    assert float(net.nets[0].log_step.abs().sum()) > 0.0


def test_level_index_matches_the_wavelet_layout():
    """level_index agrees with PyWavelets' pyramid layout (the one core.wavelets follows)."""
    import pywt

    from core.learned.podm_stagewise.net import level_index

    levels = 3
    index = level_index(64, 64, levels).numpy()
    coeffs = pywt.wavedec2(np.zeros((64, 64)), "db4", mode="periodization", level=levels)
    _, slices = pywt.coeffs_to_array(coeffs)
    assert (index[slices[0]] == 0).all()
    for position, details in enumerate(slices[1:]):  # coarsest details first
        for key in ("da", "ad", "dd"):
            assert (index[details[key]] == levels - position).all()


def untrained_like(net: StagewisePropagation, gamma: float) -> StagewisePropagation:
    """The same unrolled solver with its initial parameters (steps γ, accelerated-gradient momentum)."""
    return StagewisePropagation(
        stages=1, inner=net.inner, levels=net.levels, momentum=strong_convexity_momentum(pc.MU, gamma)
    ).requires_grad_(False)


def podm_with(net, problem, prior, gamma, c=pc.C_DEFAULT):
    return podm_stages(
        problem,
        prior,
        propagation_from(net, problem, prior, gamma),
        mu=pc.MU,
        mu_opt=None,
        c=c,
        step_size=None,
        monotone=True,
    )


def test_trained_propagation_is_accepted_and_beats_untrained_and_dncnn():
    """Same tiny problem, c = 4.5e-3 < μ/2: the trained A is accepted at most stages and descends
    faster than the same unrolled solver with its initial parameters (same cost per stage), than
    dncnn as A and than FISTA per iteration."""
    problem = tiny_problem()
    steps, prior = lane_steps("podm_stagewise", problem)
    ratio_trained, acc_trained, phi_trained, infos = summary(steps, pc.C_DEFAULT)
    assert all(float(info["trained_propagation"]) == 1.0 for info in infos)
    assert acc_trained >= 0.8 * STAGES, acc_trained
    assert ratio_trained < 0.5 * pc.C_DEFAULT
    phis = [float(info["objective"]) for info in infos]
    assert all(b <= a for a, b in zip(phis, phis[1:]))  # Φ never increases

    gamma = 0.99 / (problem.lipschitz() + pc.MU)
    net = load_stagewise(pc.weights_name(2))
    ratio_untrained, acc_untrained, phi_untrained, _ = summary(
        podm_with(untrained_like(net, gamma), problem, prior, gamma), pc.C_DEFAULT
    )
    assert ratio_trained < 0.5 * ratio_untrained, (ratio_trained, ratio_untrained)
    assert acc_trained > acc_untrained and phi_trained < phi_untrained, (acc_untrained, phi_untrained)

    dncnn = dict(c=pc.C_DEFAULT, sigma_max=15.0, sigma_min=2.0)
    ratio_dncnn, acc_dncnn, phi_dncnn, _ = summary(lane_steps("podm", problem, **dncnn)[0], pc.C_DEFAULT)
    assert ratio_trained < 0.1 * ratio_dncnn and acc_dncnn == 0 and phi_trained < phi_dncnn

    # FISTA after as many iterations as PODM ran stages (per gradient FISTA is cheaper: see podm_check.md)
    fista, _ = lane_steps("fista", problem)
    last = [s for _, s in zip(range(STAGES), fista)][-1]
    assert phi_trained < float(problem.objective(last.x, prior)), phi_trained


def test_other_problems_fall_back_to_the_denoiser_and_say_so():
    problem = tiny_problem(size=32)
    with pytest.warns(UserWarning, match=r"prior lam = 0.001 differs.*falling back to the denoiser"):
        fallback, _ = lane_steps("podm_stagewise", problem, lam=1e-3, sigma_max=15.0, sigma_min=2.0)
        steps = [s for _, s in zip(range(4), fallback)]
    reference, _ = lane_steps("podm", problem, lam=1e-3, c=pc.C_DEFAULT, sigma_max=15.0, sigma_min=2.0)
    for step, ref in zip(steps, reference):
        assert float(step.info["trained_propagation"]) == 0.0
        assert torch.equal(step.x, ref.x)
    blur = build("camera", "blur", 32)
    with pytest.warns(UserWarning, match="degradation 'blur' is not sparse_sr"):
        next(lane_steps("podm_stagewise", blur)[0])


def test_stagewise_trainer_freezes_earlier_stages_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(stagewise_train, "PATCHES", 6)
    monkeypatch.setattr(stagewise_train, "VALIDATION_SIZE", 48)
    monkeypatch.setattr(stagewise_train, "VALIDATION_STAGES", 2)
    settings = dict(name="podm_stagewise_x2", out=tmp_path, steps_per_epoch=3, batch_size=3, threads=1, progress=False)
    first = stagewise_train.train_stagewise(TrainSettings(epochs=2, **settings), 2)
    assert [r["stage"] for r in first["history"]] == [1, 2] and not first["cancelled"]
    assert (tmp_path / "podm_stagewise_x2.pt").is_file() and (tmp_path / "podm_stagewise_x2.log").is_file()
    net_2 = load_stagewise("podm_stagewise_x2", tmp_path)
    assert weights_meta("podm_stagewise_x2", tmp_path)["stages"] == 2
    assert float(net_2.nets[0].log_step.abs().sum()) > 0.0  # stage 1 was trained (initial steps: s = 0)
    resumed = stagewise_train.train_stagewise(TrainSettings(epochs=3, resume=True, **settings), 2)
    assert [r["stage"] for r in resumed["history"]] == [1, 2, 3]
    net_3 = StagewisePropagation(stages=3, inner=stagewise_train.INNER)
    state = torch.load(tmp_path / "podm_stagewise_x2.pt", weights_only=True)
    net_3.load_state_dict(state)
    for i in range(2):  # stages < 3 stayed frozen while stage 3 was trained
        for a, b in zip(net_2.nets[i].parameters(), net_3.nets[i].parameters()):
            assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(net_3.nets[1].parameters(), net_3.nets[2].parameters()))


def test_table1_quick_reproduction(tmp_path):
    from core.learned.podm_stagewise.reproduce import reproduce_podm_table1

    (path,) = reproduce_podm_table1(tmp_path, quick=True)
    text = path.read_text()
    for scale in ("×2", "×3", "×4"):
        assert f"| {scale} | PSNR | " in text
    assert "| 35.14 | 37.43 | 37.46 |" in text and "Ordering" in text
    assert "dncnn fallback" not in text  # weights for every scale


def test_trained_lane_steps_without_host_sync(monkeypatch):
    """The trained propagation's stages call no host-synchronising tensor method (after stage 1)."""
    steps, _ = lane_steps("podm_stagewise", tiny_problem(size=32))
    first = next(steps)
    assert float(first.info["trained_propagation"]) == 1.0
    calls = []
    for method in ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy"):
        original = getattr(torch.Tensor, method)

        def spy(self, *args, _name=method, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, method, spy)
    later = [next(steps) for _ in range(3)]
    monkeypatch.undo()
    assert calls == [] and [s.k for s in later] == [2, 3, 4]


def test_table1_ends_pnp_at_its_reported_iteration_and_the_rest_at_the_last():
    import warnings

    from core.engine import Run
    from core.learned.podm_stagewise.reproduce import reported_iteration, run_to_reported
    from core.reproduce.podm_fig2 import fig2_config, fig2_images

    _, images = fig2_images(True)
    _, source, grayscale = images[0]
    config = fig2_config(source, grayscale=grayscale, size=32, iterations=34, scale=2)
    for lane in config.lanes:
        if lane.solver == "pnp_hqs":
            lane.params["schedule_iters"] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = Run(config)
        run_to_reported(run, 34)
    steps = {lane.label: lane.k for lane in run.lanes}
    assert steps.pop("PnP") == 5 == reported_iteration(run, "PnP", 34)
    assert set(steps.values()) == {34}
