"""Lanes panel: add, remove, duplicate, rename, reorder lanes; per lane solver, prior,
denoiser, their generated parameter forms, and colour.

Lanes are edited as TOML-shaped dicts (``[[lanes]]`` entries). The panel emits one signal per
kind of edit so that the main window can restart only the lane that changed.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.lane_spec import applicability, complete_lane
from core.registry import DENOISERS, PRIORS, SOLVERS, load_all

from .forms import ParamForm

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def assign_lane_colors(config) -> None:
    """Give every lane of ``config`` without a colour the first palette colour not yet used."""
    used = {lane.color for lane in config.lanes if lane.color}
    for lane in config.lanes:
        if not lane.color:
            lane.color = next((c for c in PALETTE if c not in used), PALETTE[len(used) % len(PALETTE)])
            used.add(lane.color)


def component_tooltip(entry) -> str:
    """Tooltip of a component in a list: its config name and its doc."""
    return f"config name: {entry.name}\n\n{entry.doc}"


def swatch(color: str) -> QIcon:
    """A small square icon filled with ``color``."""
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


def unique_label(base: str, taken: set[str]) -> str:
    """``base``, or ``base 2``, ``base 3``... whichever is not in ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base} {n}" in taken:
        n += 1
    return f"{base} {n}"


class LanesPanel(QWidget):
    """Editor of the ``[[lanes]]`` list.

    Signals
    -------
    lane_changed(int, dict)
        Solver, prior, denoiser or a parameter of lane ``i`` changed (the lane restarts).
    lane_relabeled(int, dict)
        Only the label or colour changed (history kept).
    lane_added(dict), lane_removed(int), lanes_reordered(list)
        Structure edits; ``lanes_reordered`` carries the new order as old indices.
    invalid(str)
        A rejected parameter value.
    """

    lane_changed = Signal(int, dict)
    lane_relabeled = Signal(int, dict)
    lane_added = Signal(dict)
    lane_removed = Signal(int)
    lanes_reordered = Signal(list)
    invalid = Signal(str)

    def __init__(self, lanes: list[dict[str, Any]], parent: QWidget | None = None, degradation: str | None = None):
        super().__init__(parent)
        load_all()
        self._degradation = degradation
        self._lanes: list[dict[str, Any]] = []
        self._updating = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(self._show_lane)
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.buttons = {}
        for key, text, tip, slot in (
            ("add", "Add", "add a FISTA lane", self.add_lane),
            ("duplicate", "Dup", "duplicate the selected lane", self.duplicate_lane),
            ("remove", "Del", "remove the selected lane", self.remove_lane),
            ("up", "↑", "move the selected lane up", lambda: self.move_lane(-1)),
            ("down", "↓", "move the selected lane down", lambda: self.move_lane(1)),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            # clicked(bool) would pass its checked state as the slot's first argument
            button.clicked.connect(lambda _checked=False, slot=slot: slot())
            buttons.addWidget(button)
            self.buttons[key] = button
        layout.addLayout(buttons)

        form = QFormLayout()
        self.label_edit = QLineEdit()
        self.label_edit.editingFinished.connect(self._on_label)
        self.color_button = QToolButton()
        self.color_button.setText("colour…")
        self.color_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.color_button.clicked.connect(self._pick_color)
        label_row = QHBoxLayout()
        label_row.addWidget(self.label_edit, 1)
        label_row.addWidget(self.color_button)
        form.addRow("label", label_row)
        self.solver = QComboBox()
        self.prior = QComboBox()
        self.denoiser = QComboBox()
        self._fill_components()
        self.solver.currentIndexChanged.connect(lambda _: self._on_component("solver", self.solver))
        self.prior.currentIndexChanged.connect(lambda _: self._on_component("prior", self.prior))
        self.denoiser.currentIndexChanged.connect(lambda _: self._on_component("denoiser", self.denoiser))
        form.addRow("solver", self.solver)
        form.addRow("prior", self.prior)
        form.addRow("denoiser", self.denoiser)
        layout.addLayout(form)
        self.forms_box = QVBoxLayout()
        layout.addLayout(self.forms_box)
        layout.addStretch(1)
        self.forms: list[QGroupBox] = []
        self.set_lanes(lanes)

    def _fill_components(self) -> None:
        """(Re)fill the solver/prior/denoiser lists from the registries; solvers that do not apply
        to the problem's degradation are disabled, the reason in their tooltip."""
        for combo, registry in ((self.solver, SOLVERS), (self.prior, PRIORS), (self.denoiser, DENOISERS)):
            combo.blockSignals(True)
            combo.clear()
            for name in sorted(registry, key=lambda n: registry[n].title.lower()):
                entry = registry[name]  # readable title shown, the registry name kept as item data
                combo.addItem(entry.title + (" (learned)" if entry.extra.get("learned") else ""), name)
                combo.setItemData(combo.count() - 1, component_tooltip(entry), Qt.ItemDataRole.ToolTipRole)
            combo.blockSignals(False)
        self._mark_applicable()

    def _mark_applicable(self) -> None:
        model = self.solver.model()
        for row in range(self.solver.count()):
            name = self.solver.itemData(row)
            reason = applicability(name, self._degradation) if self._degradation else None
            model.item(row).setEnabled(reason is None)
            doc = component_tooltip(SOLVERS[name])
            self.solver.setItemData(
                row, doc if reason is None else f"not available: {reason}\n\n{doc}", Qt.ItemDataRole.ToolTipRole
            )

    def set_degradation(self, degradation: str) -> None:
        """The problem's degradation: solvers that do not apply to it are shown disabled."""
        self._degradation = degradation
        self._mark_applicable()

    def refresh_components(self) -> None:
        """Re-read the registries (a plugin was loaded): new names appear in the lists."""
        self._fill_components()
        self._show_lane(self.current())

    # state ------------------------------------------------------------------------------
    def lanes(self) -> list[dict[str, Any]]:
        """The edited lanes (deep copies)."""
        return copy.deepcopy(self._lanes)

    def current(self) -> int:
        return self.list.currentRow()

    def set_lanes(self, lanes: list[dict[str, Any]], current: int = 0) -> None:
        """Show ``lanes`` without emitting signals."""
        self._updating = True
        try:
            self._lanes = copy.deepcopy(list(lanes))
            for i, lane in enumerate(self._lanes):
                lane.setdefault("color", PALETTE[i % len(PALETTE)])
                lane.setdefault("params", {})
            self.list.clear()
            for lane in self._lanes:
                self.list.addItem(lane.get("label") or lane["solver"])
                self.list.item(self.list.count() - 1).setIcon(swatch(lane["color"]))
        finally:
            self._updating = False
        if self._lanes:
            self.list.setCurrentRow(min(max(current, 0), len(self._lanes) - 1))
        self._show_lane(self.current())

    def _show_lane(self, index: int) -> None:
        if self._updating:
            return
        self._updating = True
        try:
            has_lane = 0 <= index < len(self._lanes)
            for widget in (
                self.label_edit,
                self.color_button,
                self.solver,
                self.prior,
                self.denoiser,
                self.buttons["remove"],
                self.buttons["duplicate"],
            ):
                widget.setEnabled(has_lane)
            for box in self.forms:
                box.setParent(None)
                box.deleteLater()
            self.forms = []
            if not has_lane:
                return
            lane = self._lanes[index]
            self.label_edit.setText(lane.get("label") or lane["solver"])
            self.color_button.setIcon(swatch(lane["color"]))
            self.solver.setCurrentIndex(self.solver.findData(lane["solver"]))
            entry = SOLVERS[lane["solver"]]
            needs_prior = entry.extra.get("needs_prior", False)
            needs_denoiser = entry.extra.get("needs_denoiser", False)
            self.prior.setEnabled(needs_prior)
            self.denoiser.setEnabled(needs_denoiser)
            self.prior.setCurrentIndex(self.prior.findData(lane.get("prior")) if needs_prior else -1)
            self.denoiser.setCurrentIndex(self.denoiser.findData(lane.get("denoiser")) if needs_denoiser else -1)
            parts = [("solver", entry)]
            if needs_prior and lane.get("prior") in PRIORS:
                parts.append(("prior", PRIORS[lane["prior"]]))
            if needs_denoiser and lane.get("denoiser") in DENOISERS:
                parts.append(("denoiser", DENOISERS[lane["denoiser"]]))
            for kind, part in parts:
                box = QGroupBox(f"{kind}: {part.title}")
                box.setToolTip(part.doc)
                box_layout = QVBoxLayout(box)
                box_layout.setContentsMargins(4, 2, 4, 2)
                form = ParamForm(part.params, lane["params"], owner=f"{kind} '{part.name}'")
                form.changed.connect(self._on_param)
                form.invalid.connect(self.invalid)
                box_layout.addWidget(form)
                self.forms_box.addWidget(box)
                self.forms.append(box)
        finally:
            self._updating = False

    # edits ------------------------------------------------------------------------------
    def _on_label(self) -> None:
        index = self.current()
        if self._updating or not 0 <= index < len(self._lanes):
            return
        text = self.label_edit.text().strip()
        lane = self._lanes[index]
        taken = {ln.get("label") for i, ln in enumerate(self._lanes) if i != index}
        if not text or text == lane.get("label"):
            self.label_edit.setText(lane.get("label") or "")
            return
        lane["label"] = unique_label(text, taken)
        self.label_edit.setText(lane["label"])
        self.list.item(index).setText(lane["label"])
        self.lane_relabeled.emit(index, copy.deepcopy(lane))

    def set_color(self, color: str) -> None:
        """Set the selected lane's colour."""
        index = self.current()
        if not 0 <= index < len(self._lanes):
            return
        self._lanes[index]["color"] = color
        self.list.item(index).setIcon(swatch(color))
        self.color_button.setIcon(swatch(color))
        self.lane_relabeled.emit(index, copy.deepcopy(self._lanes[index]))

    def _pick_color(self) -> None:
        index = self.current()
        color = QColorDialog.getColor(QColor(self._lanes[index]["color"]), self, "Lane colour")
        if color.isValid():
            self.set_color(color.name())

    def _on_component(self, kind: str, combo: QComboBox) -> None:
        index = self.current()
        if self._updating or not 0 <= index < len(self._lanes):
            return
        lane = self._lanes[index]
        lane[kind] = combo.currentData()
        complete_lane(lane)
        self._show_lane(index)
        self.lane_changed.emit(index, copy.deepcopy(lane))

    def set_component(self, kind: str, name: str) -> None:
        """Select solver/prior/denoiser ``name`` for the selected lane (as the combo does)."""
        combo = {"solver": self.solver, "prior": self.prior, "denoiser": self.denoiser}[kind]
        combo.setCurrentIndex(combo.findData(name))

    def _on_param(self, name: str, value: Any) -> None:
        index = self.current()
        if self._updating or not 0 <= index < len(self._lanes):
            return
        params = self._lanes[index].setdefault("params", {})
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        self.lane_changed.emit(index, copy.deepcopy(self._lanes[index]))

    def add_lane(self, lane: dict | None = None) -> None:
        """Append ``lane`` (default: a FISTA lane with an ℓ1-wavelet prior) and select it."""
        taken = {ln.get("label") for ln in self._lanes}
        if lane is None:
            lane = {"solver": "fista" if "fista" in SOLVERS else sorted(SOLVERS)[0], "params": {}}
        lane = copy.deepcopy(lane)
        lane["label"] = unique_label(lane.get("label") or lane["solver"].upper(), taken)
        used = {ln.get("color") for ln in self._lanes}
        lane.setdefault("color", next((c for c in PALETTE if c not in used), PALETTE[len(self._lanes) % 8]))
        complete_lane(lane)
        self._lanes.append(lane)
        self.set_lanes(self._lanes, current=len(self._lanes) - 1)
        self.lane_added.emit(copy.deepcopy(lane))

    def duplicate_lane(self) -> None:
        """Add a copy of the selected lane (new label and colour)."""
        index = self.current()
        if 0 <= index < len(self._lanes):
            lane = copy.deepcopy(self._lanes[index])
            lane.pop("color", None)
            self.add_lane(lane)

    def remove_lane(self) -> None:
        """Remove the selected lane."""
        index = self.current()
        if 0 <= index < len(self._lanes):
            del self._lanes[index]
            self.set_lanes(self._lanes, current=index - 1 if index else 0)
            self.lane_removed.emit(index)

    def move_lane(self, offset: int) -> None:
        """Move the selected lane up (-1) or down (+1)."""
        index = self.current()
        target = index + offset
        if not (0 <= index < len(self._lanes) and 0 <= target < len(self._lanes)):
            return
        order = list(range(len(self._lanes)))
        order[index], order[target] = order[target], order[index]
        self._lanes = [self._lanes[i] for i in order]
        self.set_lanes(self._lanes, current=target)
        self.lanes_reordered.emit(order)
