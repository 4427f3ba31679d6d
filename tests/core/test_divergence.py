"""A lane whose objective explodes is flagged as diverging while it runs on, history kept; others go on."""

from __future__ import annotations

from core.config import Config
from core.engine import DIVERGENCE_FACTOR, Run


def test_an_exploding_objective_flags_that_lane_only_and_keeps_its_history():
    config = Config.from_dict(
        {
            "problem": {"image": "camera", "size": 64, "degradation": "blur", "noise_sigma": 0.01},
            "lanes": [
                {"label": "step 50", "solver": "fista", "prior": "l1_wavelet", "params": {"step_size": 50.0}},
                {"label": "FISTA", "solver": "fista", "prior": "l1_wavelet"},
                {"label": "PnP", "solver": "pnp_hqs", "denoiser": "tv"},
            ],
            "run": {"iterations": 12},
        }
    )
    run = Run(config)
    run.run()
    bad, good, pnp = run.snapshot().lanes
    assert bad.status.startswith("running (diverging since ") and "objective above 1e+04" in bad.status
    since = int(bad.status.split("since ")[1].split(":")[0])
    objective = bad.metrics["objective"]
    assert since < 10 and objective[since - 1] > DIVERGENCE_FACTOR * run.objective_scale
    assert objective[since - 2] <= DIVERGENCE_FACTOR * max(abs(objective[0]), run.objective_scale)
    assert good.status == pnp.status == "running" and good.k == pnp.k == bad.k == 12


def test_no_registered_solver_is_flagged_on_the_presets_problems():
    from core.config import load_config
    from core.paths import presets_dir

    for preset in sorted(presets_dir().glob("*.toml")):
        config = load_config(preset)
        config.problem.size, config.run.iterations = 48, 15
        run = Run(config)
        run.run()
        for lane in run.snapshot().lanes:
            assert "diverging" not in lane.status, (preset.name, lane.label, lane.status)
