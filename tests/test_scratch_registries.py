"""The ``scratch_registries`` fixture: whatever a test registers, removes or replaces in any
registry of core.registry is undone afterwards, entry by entry."""

from __future__ import annotations

import pytest
from _registries import all_registries, differences, scratch, snapshot

from core import registry
from core.params import Param

PROBE = "_scratch_probe"


def test_every_registry_of_core_registry_is_covered():
    names = set(all_registries())
    assert {"DEGRADATIONS", "PRIORS", "DENOISERS", "SOLVERS", "TRAINERS", "REPRODUCERS"} <= names
    assert all(len(table) > 0 for table in all_registries().values())  # loaded before the snapshot


def test_registrations_removals_and_replacements_are_undone():
    before = snapshot()
    fista = registry.SOLVERS["fista"]
    with scratch() as tables:
        assert set(tables) == set(before)
        for name, table in tables.items():
            table.register(PROBE, params=[Param("p", 1.0)], doc=f"probe in {name}")(lambda *a, **k: None)
        del registry.PRIORS["l1"]
        registry.DENOISERS["tv"] = registry.DENOISERS["gaussian"]
        found = differences(before)
        assert f"SOLVERS: '{PROBE}' added" in found and "PRIORS: 'l1' removed" in found
        assert "DENOISERS: 'tv' replaced" in found and len(found) == len(before) + 2
    assert differences(before) == []
    assert registry.SOLVERS["fista"] is fista
    assert all(PROBE not in table for table in all_registries().values())


def test_restored_even_when_the_block_raises():
    before = snapshot()
    with pytest.raises(RuntimeError), scratch():
        registry.SOLVERS.register(PROBE, doc="probe")(lambda problem: iter(()))
        raise RuntimeError("test failed half-way")
    assert differences(before) == []


# The fixture itself: the first test registers into every registry, the next one (pytest runs a
# module's tests in file order) sees none of it.
def test_fixture_registration_inside_a_test(scratch_registries):
    for table in scratch_registries.values():
        table.register(PROBE, doc="probe")(lambda *a, **k: None)
    assert all(PROBE in table for table in all_registries().values())


def test_fixture_registration_is_gone_in_the_next_test():
    assert all(PROBE not in table for table in all_registries().values())
    assert differences(snapshot()) == []
