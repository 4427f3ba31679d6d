"""podm.py's refactor (propagation callable, shared residuals, carried ∇f, Φ in info) keeps the
iterates of the implementation before it: reference numbers recorded from that implementation
(commit 75fb11d) on camera 32 px, sparse-coding SR ×2 (db4), ℓ0.8 prior, float64, 12 stages.
Per stage: (Σx, ‖x‖, ‖ψ‖, accepted)."""

from __future__ import annotations

import pytest
import torch

from core.lane import build_solver
from core.lane_spec import LaneSpec, resolve_lane
from core.reproduce.common import build

REFERENCE = {
    "dncnn_mono": (
        "dncnn",
        {"sigma_max": 15.0, "sigma_min": 2.0},
        [
            (61.70003878831, 18.25536915216, 0.007489153732157, True),
            (61.68037330291, 18.25814583312, 0.007021516644641, False),
            (61.68080189801, 18.25843664115, 0.007173808023802, False),
            (61.67869436848, 18.25860979308, 0.00718593401635, False),
            (61.67530571972, 18.2587581138, 0.007310960328896, False),
            (61.66698297049, 18.25891492748, 0.007405482885037, False),
            (61.65617402625, 18.25909874933, 0.007390793661048, False),
            (61.63720115373, 18.25928984487, 0.007498780361221, False),
            (61.63347060833, 18.25948171845, 0.00748364284955, False),
            (61.62970210156, 18.25966712479, 0.007453917539145, False),
            (61.62949593453, 18.25981879528, 0.007601231104779, False),
            (61.62728372545, 18.25998456083, 0.007664845266136, False),
        ],
    ),
    "gauss_plain": (
        "gaussian",
        {"monotone": False, "c": 0.08},
        [
            (61.79858539474, 18.23495742425, 0.009340786077082, True),
            (61.77704746602, 18.23790126886, 0.005748502138166, False),
            (61.70487426605, 18.2404222126, 0.005963909566881, True),
            (61.69890967164, 18.24073937668, 0.005878121234465, False),
            (61.63412048874, 18.24387347985, 0.005897358391924, True),
            (61.63653559565, 18.24418913906, 0.005797476631031, False),
            (61.57627191985, 18.24755875321, 0.005923041702009, True),
            (61.57353760484, 18.24785765023, 0.005929961598007, False),
            (61.54279827036, 18.25111472936, 0.005962638725973, True),
            (61.53171114009, 18.25140701012, 0.005915004601999, False),
            (61.53330113499, 18.25166641548, 0.006024484649596, False),
            (61.52092286053, 18.25508483362, 0.006075848160694, True),
        ],
    ),
    "gauss_mono_mu": (
        "gaussian",
        {"mu": 0.05, "mu_opt": 0.2, "c": 0.3},
        [
            (61.92726802248, 18.21260074927, 0.0475876605482, True),
            (61.82502866195, 18.22601189153, 0.01974058308011, True),
            (61.76254137617, 18.23339107867, 0.008903431697601, True),
            (61.71423617329, 18.23771272879, 0.006602663328251, True),
            (61.66789528063, 18.24066890604, 0.00689829555668, True),
            (61.63657751436, 18.24304973968, 0.007224978110051, True),
            (61.60791456283, 18.24518522054, 0.007296172768426, True),
            (61.58108338472, 18.2471933132, 0.007240119199372, True),
            (61.56252082288, 18.24909740043, 0.007034872823837, True),
            (61.54350865323, 18.25088373786, 0.006814669539673, True),
            (61.54141514163, 18.25252526848, 0.006631289549395, True),
            (61.53524102312, 18.25399391537, 0.006347596483181, True),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_podm_iterates_match_the_reference(case):
    denoiser, params, reference = REFERENCE[case]
    problem = build("camera", "sparse_sr", 32, scale=2, levels=3, wavelet="db4").to(dtype=torch.float64)
    spec = resolve_lane(
        LaneSpec(solver="podm", prior="lp", denoiser=denoiser, params={"lam": 1e-4, "p": 0.8, **params})
    )
    steps, prior, _ = build_solver(spec, problem)
    accepted = 0
    for k, (step, (total, norm, opt_error, ok)) in enumerate(zip(steps, reference), start=1):
        assert float(step.x.sum()) == pytest.approx(total, rel=1e-10, abs=1e-10), (case, k)
        assert float(step.x.norm()) == pytest.approx(norm, rel=1e-10), (case, k)
        assert float(step.info["opt_error"]) == pytest.approx(opt_error, rel=1e-8), (case, k)
        assert bool(step.info["accepted"]) == ok, (case, k)
        accepted += ok
        assert float(step.info["accept_rate"]) == pytest.approx(accepted / k)
        assert float(step.info["objective"]) == pytest.approx(float(problem.objective(step.x, prior)), rel=1e-12)
    assert k == len(reference)
