"""Training of the project's networks: ``python -m core train NAME``.

Trainers register themselves by decorator into :data:`TRAINERS`; every module of this package
(not starting with ``_``) is imported on first use, so adding a trainer needs no edit here::

    from core.training import register_trainer

    @register_trainer("dncnn", doc="noise-level-aware dilated CNN denoiser")
    def train_dncnn(settings: TrainSettings) -> dict: ...

A trainer receives a :class:`core.training.common.TrainSettings` and returns the summary dict
written to the log (the shared loop :func:`core.training.common.train_loop` does the work).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .._discover import import_submodules as _import_submodules
from ..registry import register_once, summary_line


@dataclass(frozen=True)
class Trainer:
    """A registered trainer: ``func(settings) -> summary dict``; ``default_epochs`` for the CLI."""

    name: str
    func: Callable
    doc: str
    default_epochs: int


TRAINERS: dict[str, Trainer] = {}


def register_trainer(name: str, *, doc: str = "", default_epochs: int = 10):
    """Decorator registering a trainer under ``name`` (the weights name it writes)."""

    def deco(func):
        register_once(TRAINERS, "trainer", name, Trainer(name, func, summary_line(func, doc), int(default_epochs)))
        return func

    return deco


_loaded = False


def load_trainers() -> dict[str, Trainer]:
    """Import every module of ``core.training`` once so that all trainers are registered."""
    global _loaded
    if not _loaded:
        _loaded = True
        _import_submodules(__name__, __path__)
    return TRAINERS


def get_trainer(name: str) -> Trainer:
    """The trainer registered as ``name`` (ValueError listing the known ones otherwise)."""
    load_trainers()
    if name not in TRAINERS:
        raise ValueError(f"unknown network '{name}'; trainable: {sorted(TRAINERS)}")
    return TRAINERS[name]
