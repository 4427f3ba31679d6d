"""Forms generated from the registry's parameter declarations: every registered component gets
one, with ranges, defaults and tooltips; invalid input is rejected with the Param's message."""

from __future__ import annotations

from core.params import Param
from core.registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS, load_all
from workbench.forms import ParamForm, param_tooltip


def all_entries():
    load_all()
    return [entry for registry in (DEGRADATIONS, PRIORS, DENOISERS, SOLVERS) for entry in registry.values()]


def test_every_registered_component_gets_a_form_with_its_defaults(qtbot):
    entries = all_entries()
    assert {"fista", "podm", "sr", "blur", "l1_wavelet"} <= {entry.name for entry in entries}
    for entry in entries:
        form = ParamForm(entry.params, owner=entry.name)
        qtbot.addWidget(form)
        assert set(form.editors) == {p.name for p in entry.params}
        assert form.values() == {p.name: p.default for p in entry.params}, entry.name
        for param in entry.params:
            assert param.help in form.editors[param.name].toolTip()


def test_tooltip_shows_meaning_math_range_and_default():
    param = Param("lam", 0.01, low=0.0, high=10.0, unit="", help="weight λ of the prior", math="λ‖Wx‖₁")
    tip = param_tooltip(param)
    for text in ("weight λ of the prior", "λ‖Wx‖₁", "[0, 10]", "default: 0.01"):
        assert text in tip


def test_valid_edit_emits_the_validated_value_and_invalid_edit_is_rejected(qtbot):
    params = [
        Param("lam", 0.01, low=0.0, high=1.0, help="weight"),
        Param("iters", 5, kind="int", low=1, high=50, help="count"),
        Param("mode", "a", kind="choice", choices=("a", "b"), help="mode"),
        Param("step_size", None, low=1e-12, high=1e12, help="auto step"),
    ]
    form = ParamForm(params, owner="solver 'demo'")
    qtbot.addWidget(form)
    changes, errors = [], []
    form.changed.connect(lambda name, value: changes.append((name, value)))
    form.invalid.connect(errors.append)
    form.set_value("lam", "0.5")
    form.set_value("iters", 7)
    form.set_value("mode", "b")
    form.set_value("step_size", "2e-3")
    assert changes == [("lam", 0.5), ("iters", 7), ("mode", "b"), ("step_size", 2e-3)]
    form.set_value("lam", "3")  # above the maximum
    assert errors and "lam" in errors[-1] and "maximum" in errors[-1]
    assert form.values()["lam"] == 0.5 and "background" in form.editors["lam"].styleSheet()
    form.set_value("step_size", "")  # back to automatic
    assert form.values()["step_size"] is None
    spin = form.editors["iters"]
    assert (spin.minimum(), spin.maximum()) == (1, 50)
