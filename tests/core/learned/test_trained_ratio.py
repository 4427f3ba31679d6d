"""Learned CS solvers refuse weights trained for another sampling ratio (issue 7), with the reason."""

from __future__ import annotations

from core.config import Config
from core.engine import Run


def test_weights_of_another_ratio_fail_the_lane_with_a_clear_message_and_auto_picks_the_right_ones():
    config = Config.from_dict(
        {
            "problem": {"image": "camera", "size": 66, "degradation": "cs", "params": {"ratio": 50}},
            "lanes": [
                {"label": "r10", "solver": "ista_net_plus", "params": {"weights": "ista_net_plus_r10"}},
                {"label": "auto", "solver": "ista_net_plus"},
                {"label": "r50", "solver": "ista_net_plus", "params": {"weights": "ista_net_plus_r50"}},
                {"label": "FISTA-Net", "solver": "fista_net"},
            ],
            "run": {"iterations": 3},
        }
    )
    run = Run(config)
    run.run()
    r10, auto, r50, fista_net = run.snapshot().lanes
    assert r10.status.startswith("error") and "trained at 10 % sampling, the problem samples 50 %" in r10.status
    assert fista_net.status.startswith("error") and "trained at 25 %" in fista_net.status
    assert auto.status == r50.status == "running"
    assert abs(auto.metrics["psnr"] - r50.metrics["psnr"]).max() < 1e-9
