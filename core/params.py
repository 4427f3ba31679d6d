"""Parameter declarations shared by operators, priors, denoisers and solvers.

Every configurable piece declares its parameters once (name, default, range, unit, meaning,
math). The CLI validates configs against these declarations and the GUI builds its forms
from them, so adding a solver needs no GUI edit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Param:
    """Declaration of one parameter.

    Parameters
    ----------
    name : str
        Key used in configs (``[lanes.params]`` / ``[problem.params]``).
    default : Any
        Default value; ``None`` means "derived automatically" (e.g. step size 1/L).
    kind : {"float", "int", "bool", "choice", "str"}
    low, high : float, optional
        Inclusive bounds for numeric kinds.
    choices : sequence of str, optional
        Allowed values for ``kind="choice"``.
    unit : str
        Unit shown in the GUI ("px", "%", "/255", ...).
    help : str
        One-line meaning.
    math : str
        One-line formula where it helps (shown in tooltips and ``python -m core list``).
    log : bool
        Whether a GUI slider should be logarithmic.
    when : tuple of (str, tuple)
        The parameter matters only when each named sibling parameter has one of the listed values,
        e.g. ``(("kernel", ("gaussian",)),)``; forms hide it otherwise (it is still resolved).
    """

    name: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: Sequence[str] = field(default_factory=tuple)
    unit: str = ""
    help: str = ""
    math: str = ""
    log: bool = False
    when: tuple = ()

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter matters given its siblings' ``values`` (see ``when``)."""
        return all(values.get(name) in allowed for name, allowed in self.when)

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` as this parameter's kind, or raise ``ValueError`` naming it.

        Types are strict (a config says ``lam = 0.1``, not ``"0.1"``; ``true``, not ``"yes"``);
        numbers must be finite and within [low, high]; an integer parameter accepts an integral
        float. ``None`` is accepted only when the default is ``None`` (automatic value). Text
        from an edit field goes through :meth:`parse` first.
        """
        where = f"{owner}: " if owner else ""
        if value is None:
            if self.default is None:
                return None
            raise ValueError(f"{where}parameter '{self.name}' must not be empty")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{where}parameter '{self.name}' must be true or false, got {value!r}")
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{where}parameter '{self.name}' must be one of {list(self.choices)}, got {value!r}")
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"{where}parameter '{self.name}' must be a string, got {value!r}")
            return value
        wanted = "an integer" if self.kind == "int" else "a number"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where}parameter '{self.name}' must be {wanted}, got {value!r}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise ValueError(f"{where}parameter '{self.name}' must be finite, got {value!r}")
        if self.kind == "int":
            if float(value) != int(value):
                raise ValueError(f"{where}parameter '{self.name}' must be {wanted}, got {value!r}")
            num = int(value)
        else:
            num = float(value)
        if self.low is not None and num < self.low:
            raise ValueError(f"{where}parameter '{self.name}' = {num} is below its minimum {self.low}")
        if self.high is not None and num > self.high:
            raise ValueError(f"{where}parameter '{self.name}' = {num} is above its maximum {self.high}")
        return num

    def parse(self, text: str | None, owner: str = "") -> Any:
        """The value an edit field or a command line gives as text (``None``/empty: automatic),
        validated as :meth:`validate` does."""
        where = f"{owner}: " if owner else ""
        if text is None or (isinstance(text, str) and not text.strip()):
            return self.validate(None, owner)
        if not isinstance(text, str):
            return self.validate(text, owner)
        text = text.strip()
        if self.kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{where}parameter '{self.name}' must be true or false, got {text!r}")
            return text.lower() == "true"
        if self.kind in ("int", "float"):
            try:
                value = int(text) if self.kind == "int" and text.lstrip("+-").isdigit() else float(text)
            except ValueError:
                wanted = "an integer" if self.kind == "int" else "a number"
                raise ValueError(f"{where}parameter '{self.name}' must be {wanted}, got {text!r}") from None
            return self.validate(value, owner)
        return self.validate(text, owner)

    def describe(self) -> str:
        """One line for ``python -m core list``."""
        rng = ""
        if self.kind == "choice":
            rng = "{" + ", ".join(self.choices) + "}"
        elif self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            rng = f"[{lo}, {hi}]"
        default = "auto" if self.default is None else repr(self.default)
        unit = f" {self.unit}" if self.unit else ""
        math = f"  ({self.math})" if self.math else ""
        return f"{self.name} = {default}{unit} {rng} - {self.help}{math}"


def resolve_params(
    declared: Sequence[Param], given: Mapping[str, Any] | None, owner: str, *, strict: bool = True
) -> dict[str, Any]:
    """Validate ``given`` against ``declared`` and fill defaults.

    Parameters
    ----------
    declared : sequence of Param
    given : mapping or None
    owner : str
        Name used in error messages (e.g. ``"solver 'fista'"``).
    strict : bool
        If true, unknown keys raise ``ValueError`` listing the valid names.

    Returns
    -------
    dict
        One entry per declared parameter.
    """
    given = dict(given or {})
    by_name = {p.name: p for p in declared}
    if strict:
        unknown = sorted(set(given) - set(by_name))
        if unknown:
            raise ValueError(f"{owner}: unknown parameter(s) {unknown}; valid: {sorted(by_name) or 'none'}")
    return {p.name: p.validate(given.get(p.name, p.default), owner) for p in declared}
