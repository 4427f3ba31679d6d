"""Training of the project's networks: ``python -m core train NAME``.

Trainers register themselves by decorator into :data:`core.registry.TRAINERS`; they live beside
their networks (``core/learned/<method>/train.py``) and are imported by ``core.registry.load_all``,
so adding a trainer needs no edit here::

    from core.learned.training import register_trainer

    @register_trainer("dncnn", doc="noise-level-aware dilated CNN denoiser")
    def train_dncnn(settings: TrainSettings) -> dict: ...

A trainer receives a :class:`core.learned.training.common.TrainSettings` and returns the summary dict
written to the log (the shared loop :func:`core.learned.training.common.train_loop` does the work).
"""
from __future__ import annotations

from ...registry import TRAINERS, Entry, Registry

#: a registered trainer: ``trainer.func(settings) -> summary dict``, ``trainer.default_epochs``
Trainer = Entry


def register_trainer(name: str, *, doc: str = "", default_epochs: int = 10):
    """Decorator registering a trainer under ``name`` (the weights name it writes)."""
    return TRAINERS.register(name, doc=doc, default_epochs=int(default_epochs))


def load_trainers() -> Registry:
    """The trainer registry after every built-in module has registered itself."""
    return TRAINERS.loaded()


def get_trainer(name: str) -> Trainer:
    """The trainer registered as ``name`` (ValueError listing the known ones otherwise)."""
    return TRAINERS.get_entry(name)
