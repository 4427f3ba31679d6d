"""Forms show only the parameters that apply (issue 7): a Gaussian kernel hides the motion fields."""

from __future__ import annotations

from core.registry import DEGRADATIONS, load_all
from workbench.forms import ParamForm

load_all()


def test_blur_form_shows_only_the_chosen_kernels_parameters(qtbot):
    form = ParamForm(DEGRADATIONS["blur"].params, owner="degradation 'blur'")
    qtbot.addWidget(form)
    form.show()
    shown = lambda: {n for n in form.params if form._layout.isRowVisible(form.editors[n])}  # noqa: E731
    assert shown() == {"kernel", "kernel_sigma", "kernel_size"}
    form.set_value("kernel", "motion")
    assert shown() == {"kernel", "motion_length"} == set(form.visible_names())
    form.set_value("kernel", "levin")
    assert shown() == {"kernel", "kernel_path", "levin_index"}
    assert set(form.values()) == {p.name for p in DEGRADATIONS["blur"].params}  # hidden ones still resolved


def test_inpaint_form_follows_the_mode(qtbot):
    form = ParamForm(DEGRADATIONS["inpaint"].params)
    qtbot.addWidget(form)
    assert form.visible_names() == ["mode", "keep_rate"]
    form.set_value("mode", "blocks")
    assert form.visible_names() == ["mode", "n_blocks", "block_fraction"]
