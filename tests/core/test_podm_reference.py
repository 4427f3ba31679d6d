"""podm.py's refactor (propagation callable, shared residuals, carried ∇f, Φ in info) keeps the
iterates of the implementation before it: reference numbers recorded from that implementation
(commit 75fb11d) on camera 32 px, sparse-coding SR ×2 (db4), ℓ0.8 prior, float64, 12 stages.
Per stage: (Σx, ‖x‖, ‖ψ‖, accepted). The dncnn case depends on the shipped weights: recorded again
with that implementation (a worktree of 75fb11d) whenever the dncnn weights change (last: the
weights of SHA-256 e875e7c1…)."""

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
            (61.42827419901, 18.25514711477, 0.007835896693557, True),
            (61.39474236847, 18.25781238106, 0.007106644628456, False),
            (61.40472001796, 18.25800096919, 0.007344508364921, False),
            (61.418194726, 18.25806310756, 0.007335612984014, False),
            (61.43028752446, 18.25812377464, 0.007503851293897, False),
            (61.43311366812, 18.25818689942, 0.007499018793108, False),
            (61.43321221274, 18.25823534935, 0.007527453367351, False),
            (61.44416492469, 18.25829950575, 0.007514885104263, False),
            (61.45720196483, 18.25836653424, 0.007656617018332, False),
            (61.46988459428, 18.25846194334, 0.007730836009025, False),
            (61.47774435192, 18.25856855092, 0.007669554402037, False),
            (61.48197256162, 18.25869064286, 0.007640006428817, False),
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
