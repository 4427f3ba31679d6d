"""A problem build asked to stop (``Run(config, should_stop=...)``) stops at the next stage
boundary and raises ``BuildCancelled``; never asked, it builds the same run as without."""

from __future__ import annotations

import pytest
import torch
from conftest import small_config

from core.engine import Run
from core.problem import BuildCancelled


def test_a_build_stops_at_the_first_stage_boundary_after_it_is_asked_to():
    config = small_config(32)
    config.problem.image, config.problem.grayscale = "astronaut", False  # Y mode: the chroma display is 2 stages
    asked = []

    def never() -> bool:
        asked.append(1)
        return False

    full = Run(config, should_stop=never)
    stages = len(asked)
    # image, operator, degradation, x⁰, two chroma channels, the move, then one per lane
    assert stages == 7 + len(config.lanes)
    reference = Run(config)
    assert torch.equal(full.problem.x0, reference.problem.x0) and torch.equal(full.problem.y, reference.problem.y)
    for stop_at in range(stages):
        asked.clear()

        def after(n=stop_at) -> bool:
            asked.append(1)
            return len(asked) > n

        with pytest.raises(BuildCancelled):
            Run(config, should_stop=after)
        assert len(asked) == stop_at + 1  # stopped at the first boundary after the request
