"""Parameter forms generated from the registry's ``Param`` declarations.

A form shows one editor per declared parameter (range, unit, default and a tooltip with the
meaning and the math) and validates every edit with ``Param.validate``, so adding a solver,
prior, denoiser or degradation needs no GUI edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from core.params import Param

_ERROR_STYLE = "QLineEdit { background: #f8d0d0; }"


def param_tooltip(param: Param) -> str:
    """Rich-text tooltip: meaning, math, range, unit and default of ``param``."""
    lines = [f"<b>{param.name}</b>"]
    if param.help:
        lines.append(param.help)
    if param.math:
        lines.append(f"<i>{param.math}</i>")
    if param.kind == "choice":
        lines.append("choices: " + ", ".join(map(str, param.choices)))
    elif param.low is not None or param.high is not None:
        low = "−∞" if param.low is None else f"{param.low:g}"
        high = "∞" if param.high is None else f"{param.high:g}"
        lines.append(f"range: [{low}, {high}]{' ' + param.unit if param.unit else ''}")
    default = "auto (empty field)" if param.default is None else repr(param.default)
    lines.append(f"default: {default}")
    return "<br>".join(lines)


def format_value(value: Any) -> str:
    """Text shown in a line edit for ``value`` (empty for an automatic value)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class ParamForm(QWidget):
    """Editors for a sequence of ``Param`` declarations.

    Signals
    -------
    changed(str, object)
        Emitted with the parameter name and its validated value after a valid edit.
    invalid(str)
        Emitted with the ``ValueError`` message of a rejected edit (the field turns red).
    """

    changed = Signal(str, object)
    invalid = Signal(str)

    def __init__(
        self,
        params: Sequence[Param],
        values: Mapping[str, Any] | None = None,
        owner: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.params = {p.name: p for p in params}
        self.owner = owner
        self._values: dict[str, Any] = {}
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        values = dict(values or {})
        for param in params:
            value = values.get(param.name, param.default)
            editor = self._make_editor(param, value)
            editor.setToolTip(param_tooltip(param))
            label = QLabel(param.name + (f" [{param.unit}]" if param.unit else ""))
            label.setToolTip(param_tooltip(param))
            layout.addRow(label, editor)
            self.editors[param.name] = editor
            self._values[param.name] = value
        if not params:
            layout.addRow(QLabel("<i>no parameters</i>"))
        self._layout = layout
        self._update_visibility()

    def _update_visibility(self) -> None:
        """Show only the parameters that apply to the current values (``Param.when``)."""
        for name, param in self.params.items():
            self._layout.setRowVisible(self.editors[name], param.applies(self._values))

    def visible_names(self) -> list[str]:
        """The parameters currently shown."""
        return [name for name, param in self.params.items() if param.applies(self._values)]

    # editors ----------------------------------------------------------------------------
    def _make_editor(self, param: Param, value: Any) -> QWidget:
        name = param.name
        if param.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda checked, n=name: self._commit(n, checked))
            return box
        if param.kind == "choice":
            combo = QComboBox()
            combo.addItems([str(c) for c in param.choices])
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda text, n=name: self._commit(n, text))
            return combo
        if param.kind == "int" and value is not None and param.default is not None:
            spin = QSpinBox()
            spin.setRange(
                int(param.low) if param.low is not None else -(10**9),
                int(param.high) if param.high is not None else 10**9,
            )
            spin.setValue(int(value))
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda v, n=name: self._commit(n, int(v)))
            return spin
        edit = QLineEdit(format_value(value))
        if param.default is None:
            edit.setPlaceholderText("auto")
        edit.editingFinished.connect(lambda n=name, e=edit: self._commit_text(n, e))
        return edit

    def _commit_text(self, name: str, edit: QLineEdit) -> None:
        text = edit.text().strip()
        param = self.params[name]
        try:
            value = param.parse(text, self.owner)
        except ValueError as exc:
            self._show_invalid(param, edit, exc)
            return
        self._commit(name, value, edit)

    def _show_invalid(self, param, edit: QLineEdit | None, exc: ValueError) -> None:
        if edit is not None:
            edit.setStyleSheet(_ERROR_STYLE)
            edit.setToolTip(param_tooltip(param) + f"<br><font color='red'>{exc}</font>")
        self.invalid.emit(str(exc))

    def _commit(self, name: str, raw: Any, edit: QLineEdit | None = None) -> None:
        param = self.params[name]
        try:
            value = param.validate(raw, self.owner)
        except ValueError as exc:
            self._show_invalid(param, edit, exc)
            return
        if edit is not None:
            edit.setStyleSheet("")
            edit.setToolTip(param_tooltip(param))
        if value == self._values.get(name) and type(value) is type(self._values.get(name)):
            return
        self._values[name] = value
        self._update_visibility()
        self.changed.emit(name, value)

    # API --------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Current validated values, one per declared parameter."""
        return dict(self._values)

    def set_value(self, name: str, value: Any) -> None:
        """Set an editor programmatically (as a user edit would, emitting ``changed``)."""
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        else:
            editor.setText(format_value(value))
            self._commit_text(name, editor)
