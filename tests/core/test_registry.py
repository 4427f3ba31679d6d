"""Registry: parameter names never collide within a lane, and every declaration is usable."""

from __future__ import annotations

import itertools

import pytest

from core.lane_spec import LaneSpec, resolve_lane, split_lane_params
from core.registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS, load_all

load_all()


def lane_combinations():
    """Every (solver, prior, denoiser) a config can name (None where the solver takes none)."""
    for name, entry in sorted(SOLVERS.items()):  # test-only solvers never leak in (scratch_registries)
        priors = sorted(PRIORS) if entry.extra.get("needs_prior") else [None]
        denoisers = sorted(DENOISERS) if entry.extra.get("needs_denoiser") else [None]
        yield from itertools.product([name], priors, denoisers)


def test_no_parameter_name_collisions_in_any_lane_combination():
    collisions = []
    count = 0
    for solver, prior, denoiser in lane_combinations():
        count += 1
        seen = {}
        for kind, registry, name in (
            ("solver", SOLVERS, solver),
            ("prior", PRIORS, prior),
            ("denoiser", DENOISERS, denoiser),
        ):
            if name is None:
                continue
            for param in registry[name].params:
                if param.name in seen:
                    collisions.append((solver, prior, denoiser, param.name, seen[param.name], kind))
                seen[param.name] = kind
    assert count >= len(SOLVERS)
    assert collisions == []


def test_every_combination_resolves_and_splits_back_to_its_owners():
    for solver, prior, denoiser in lane_combinations():
        lane = resolve_lane(LaneSpec(solver=solver, prior=prior, denoiser=denoiser))
        parts = split_lane_params(lane)
        for registry, name, part in zip((SOLVERS, PRIORS, DENOISERS), (solver, prior, denoiser), parts):
            expected = {p.name: p.default for p in registry[name].params} if name else {}
            assert part == expected, (solver, prior, denoiser)


def test_denoiser_params_are_prefixed():
    for name, entry in DENOISERS.items():
        for param in entry.params:
            assert param.name.startswith("denoiser_"), (name, param.name)


@pytest.mark.parametrize("registry", [DEGRADATIONS, PRIORS, DENOISERS, SOLVERS], ids=lambda r: r.kind)
def test_declarations_are_consistent(registry):
    for name, entry in registry.items():
        assert entry.doc, f"{registry.kind} '{name}' has no one-line doc"
        names = [p.name for p in entry.params]
        assert len(names) == len(set(names)), name
        for param in entry.params:
            assert param.describe().startswith(param.name)
            assert param.validate(param.default, name) == param.default or param.default is None
        if registry is SOLVERS:
            assert {"needs_prior", "needs_denoiser", "learned"} <= set(entry.extra), name


def test_unknown_names_list_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown solver 'nope'; available: \[.*'fista'"):
        SOLVERS.get_entry("nope")
