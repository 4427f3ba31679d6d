"""Registries mapping names to components: degradations, priors, denoisers, solvers, trainers
and reproductions.

Each entry carries its parameter declarations so the CLI, the GUI and the tests all read
the same source of truth. Modules register themselves on import; ``load_all()`` imports
every built-in module once (one flag for all registries).
"""

from __future__ import annotations

import functools
import inspect
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


def with_declared_defaults(func: Callable, params: Sequence[Param], prefix: str = "") -> Callable:
    """``func`` with every declared parameter the caller leaves out set to its ``Param`` default.

    Defaults are declared once, in the ``Param`` list; the function (a solver, or a component
    class's ``__init__``) names its parameters without defaults. ``prefix`` is stripped from the
    declared names (denoiser parameters are ``denoiser_*`` in a config, plain in the class).
    """
    signature = inspect.signature(func)
    defaults = {}
    for param in params:
        name = param.name[len(prefix) :] if prefix and param.name.startswith(prefix) else param.name
        if name in signature.parameters:
            defaults[name] = param.default

    @functools.wraps(func)
    def call(*args, **kwargs):
        given = signature.bind_partial(*args, **kwargs).arguments
        for name, value in defaults.items():
            if name not in given:
                kwargs[name] = value
        return func(*args, **kwargs)

    return call


def component_factory(cls: type, params: Sequence[Param], prefix: str = "") -> Callable:
    """Register a component class directly: its ``__init__`` takes the declared parameters
    (without ``prefix``) and gets their defaults; the returned ``factory(params)`` builds it."""
    cls.__init__ = with_declared_defaults(cls.__init__, params, prefix)
    rename = {p.name: p.name[len(prefix) :] if prefix and p.name.startswith(prefix) else p.name for p in params}

    def factory(resolved):
        return cls(**{rename[name]: value for name, value in resolved.items() if name in rename})

    factory.__doc__ = cls.__doc__
    factory.__wrapped__ = cls  # for the source file shown in docs/components.md
    return factory


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

    @property
    def title(self) -> str:
        """A readable name for lists: ``extra["title"]``, else the doc's part before a colon
        ("Deblurring", "FISTA"), else the registry name (configs keep the name)."""
        if "title" in self.extra:
            return str(self.extra["title"])
        head, colon, _ = self.doc.partition(":")
        return head.strip() if colon and 0 < len(head.strip()) <= 40 else self.name

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
        self.label = label or kind  # how error messages name an entry ("unknown network 'x'")

    def register(self, name: str, params: Sequence[Param] = (), doc: str = "", **extra):
        """Decorator registering ``factory`` under ``name``.

        ``factory`` may be a component class (a prior or denoiser): its ``__init__`` then takes
        the declared parameters and gets their defaults from ``params`` (declared once).
        """

        def deco(factory):
            built = factory
            if isinstance(factory, type):
                built = component_factory(factory, params, prefix=PARAM_PREFIX.get(self.kind, ""))
            elif self.kind == "solver":
                factory = built = with_declared_defaults(factory, params)
            register_once(
                self,
                self.kind,
                name,
                Entry(name, built, tuple(params), summary_line(built, doc), {"kind": self.kind, **extra}),
            )
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


#: how a registry's parameter names relate to a component class's ``__init__`` arguments
PARAM_PREFIX = {"denoiser": "denoiser_"}

DEGRADATIONS = Registry("degradation")
PRIORS = Registry("prior")
DENOISERS = Registry("denoiser")
SOLVERS = Registry("solver")
TRAINERS = Registry("trainer", label="network")
REPRODUCERS = Registry("reproduction")
#: network architectures a state dict can be loaded into: ``factory(state_dict) -> nn.Module``
ARCHITECTURES = Registry("architecture")

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
    from .plugins import load_entry_point_plugins

    for package in BUILTIN_PACKAGES:
        import_package_tree(package)
    load_entry_point_plugins()
