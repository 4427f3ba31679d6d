"""Registries mapping names to components: degradations, priors, denoisers, solvers, trainers
and reproductions.

Each entry carries its parameter declarations so the CLI, the GUI and the tests all read
the same source of truth. Modules register themselves on import; ``load_all()`` imports
every built-in module once (one flag for all registries).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .params import Param, resolve_params


def summary_line(func: Callable, doc: str = "") -> str:
    """``doc`` if given, else the first line of ``func``'s docstring."""
    return doc or (func.__doc__ or "").strip().split("\n")[0]


def register_once(table: dict, kind: str, name: str, record: Any) -> None:
    """Put ``record`` into ``table`` under ``name``; a second registration is an error."""
    if name in table:
        raise ValueError(f"{kind} '{name}' registered twice")
    table[name] = record


def with_declared_defaults(func: Callable, params: Sequence[Param]) -> Callable:
    """``func`` with every declared parameter the caller leaves out set to its ``Param`` default.

    A solver's defaults are declared once, in its ``Param`` list; its signature names the
    parameters without defaults.
    """
    defaults = {p.name: p.default for p in params}

    @functools.wraps(func)
    def call(*args, **kwargs):
        for name, value in defaults.items():
            kwargs.setdefault(name, value)
        return func(*args, **kwargs)

    return call


@dataclass(frozen=True)
class Entry:
    """A registered component.

    Attributes
    ----------
    name : str
    factory : callable
        Degradation: ``factory(image_shape, params, generator) -> Operator``;
        prior: ``factory(params) -> Prior``; denoiser: ``factory(params) -> Denoiser``;
        solver: the generator function ``solver(problem, prior=..., denoiser=..., **params)``.
    params : tuple of Param
    doc : str
        One-line description.
    extra : dict
        Kind-specific flags, e.g. solvers: ``needs_prior``, ``needs_denoiser``, ``learned``.
    """

    name: str
    factory: Callable[..., Any]
    params: tuple[Param, ...]
    doc: str
    extra: dict = field(default_factory=dict)

    @property
    def func(self) -> Callable[..., Any]:
        """The registered callable (same as ``factory``; trainers and reproductions read better so)."""
        return self.factory

    def __getattr__(self, name: str):
        # kind-specific flags read as attributes: entry.needs_prior, trainer.default_epochs
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} '{self.__dict__.get('name')}' has no attribute {name!r}")

    def resolve(self, given, *, strict: bool = True) -> dict[str, Any]:
        return resolve_params(self.params, given, f"{self.kind_label} '{self.name}'", strict=strict)

    @property
    def kind_label(self) -> str:
        return self.extra.get("kind", "component")


class Registry(dict):
    """Name → Entry for one kind of component."""

    def __init__(self, kind: str, label: str | None = None):
        super().__init__()
        self.kind = kind
        self.label = label or kind   # how error messages name an entry ("unknown network 'x'")

    def register(self, name: str, params: Sequence[Param] = (), doc: str = "", **extra):
        """Decorator registering ``factory`` under ``name``."""

        def deco(factory):
            if self.kind == "solver":
                factory = with_declared_defaults(factory, params)
            register_once(self, self.kind, name, Entry(name, factory, tuple(params), summary_line(factory, doc),
                                                       {"kind": self.kind, **extra}))
            return factory

        return deco

    def get_entry(self, name: str) -> Entry:
        """The entry ``name``, after loading the built-in modules (ValueError listing the others)."""
        load_all()
        if name not in self:
            raise ValueError(f"unknown {self.label} '{name}'; available: {sorted(self)}")
        return self[name]

    def loaded(self) -> Registry:
        """This registry after every built-in module has registered itself."""
        load_all()
        return self


DEGRADATIONS = Registry("degradation")
PRIORS = Registry("prior")
DENOISERS = Registry("denoiser")
SOLVERS = Registry("solver")
TRAINERS = Registry("trainer", label="network")
REPRODUCERS = Registry("reproduction")

#: packages whose modules register built-in components (imported recursively, ``_*`` skipped)
BUILTIN_PACKAGES = (
    "core.operators",
    "core.priors",
    "core.solvers",
    "core.learned",
    "core.reproduce",
)
_loaded = False


def load_all() -> None:
    """Import every built-in module once so that its components register themselves."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from ._discover import import_package_tree

    for package in BUILTIN_PACKAGES:
        import_package_tree(package)
