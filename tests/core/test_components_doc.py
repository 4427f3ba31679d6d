"""docs/components.md is generated from the registries and must match them."""

from __future__ import annotations

from core.components_doc import components_markdown
from core.paths import CHECKOUT_DIR
from core.registry import DEGRADATIONS, DENOISERS, PRIORS, REPRODUCERS, SOLVERS, TRAINERS, load_all


def test_committed_components_page_is_what_the_registry_generates():
    page = (CHECKOUT_DIR / "docs" / "components.md").read_text(encoding="utf-8")
    assert page == components_markdown(), "regenerate with: python -m core list --markdown > docs/components.md"


def test_every_registered_component_has_a_row_with_its_source_file():
    load_all()
    page = components_markdown()
    for registry in (DEGRADATIONS, PRIORS, DENOISERS, SOLVERS, TRAINERS, REPRODUCERS):
        for name in registry:
            row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
            assert "](../core/" in row, (registry.kind, name)
