"""The degradation, solver, prior and denoiser lists show readable names (``Entry.title``)
while the config keeps the registry identifiers."""

from __future__ import annotations

from test_gui_runtime import wait_built

from core.registry import DEGRADATIONS, DENOISERS, PRIORS, SOLVERS


def row_with_text(combo, text: str) -> int:
    rows = [row for row in range(combo.count()) if combo.itemText(row) == text]
    assert len(rows) == 1, (text, [combo.itemText(row) for row in range(combo.count())])
    return rows[0]


def test_degradations_show_titles_and_the_config_keeps_the_name(main_window, qtbot):
    combo = main_window.problem_panel.degradation
    assert combo.currentText() == DEGRADATIONS["sparse_sr"].title != "sparse_sr"
    combo.setCurrentIndex(row_with_text(combo, DEGRADATIONS["blur"].title))  # as a user picks it
    wait_built(qtbot, main_window)  # the new problem is built in the background
    assert main_window.run.config.problem.degradation == "blur"
    assert combo.currentData() == "blur" and combo.currentText() == "Deblurring"
    assert combo.itemData(combo.currentIndex(), 3).startswith("config name: blur")  # tooltip


def test_solvers_show_titles_and_the_config_keeps_the_name(main_window):
    panel = main_window.lanes_panel
    panel.list.setCurrentRow(0)
    assert panel.solver.currentText() == SOLVERS["fista"].title
    panel.solver.setCurrentIndex(row_with_text(panel.solver, SOLVERS["ista"].title))
    assert main_window.run.lanes[0].spec.solver == "ista"
    assert panel.forms[0].title() == f"solver: {SOLVERS['ista'].title}"
    learned = [
        panel.solver.itemText(row) for row in range(panel.solver.count()) if "(learned)" in panel.solver.itemText(row)
    ]
    assert f"{SOLVERS['ista_net_plus'].title} (learned)" in learned


def test_priors_and_denoisers_show_titles_and_the_config_keeps_the_name(main_window):
    panel = main_window.lanes_panel
    for combo, registry in ((panel.prior, PRIORS), (panel.denoiser, DENOISERS)):
        shown = {combo.itemData(row): combo.itemText(row) for row in range(combo.count())}
        assert shown.keys() == registry.keys()
        untitled = [name for name, text in shown.items() if text.removesuffix(" (learned)") == name]
        assert not untitled, f"no readable name for {untitled}"
    row = next(i for i, lane in enumerate(main_window.run.lanes) if lane.spec.denoiser)
    panel.list.setCurrentRow(row)
    panel.denoiser.setCurrentIndex(row_with_text(panel.denoiser, DENOISERS["wavelet"].title))
    assert main_window.run.lanes[row].spec.denoiser == "wavelet"
    if main_window.run.lanes[row].spec.prior:
        panel.prior.setCurrentIndex(row_with_text(panel.prior, PRIORS["l1_wavelet"].title))
        assert main_window.run.lanes[row].spec.prior == "l1_wavelet"
