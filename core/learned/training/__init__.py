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

import contextlib
import functools
from collections.abc import Iterator

import torch

from ...registry import TRAINERS, Entry, Registry

#: a registered trainer: ``trainer.func(settings) -> summary dict``, ``trainer.default_epochs``
Trainer = Entry


@contextlib.contextmanager
def isolated_torch_state() -> Iterator[None]:
    """Run a block with its own torch RNG state and CPU thread count, both restored afterwards,
    so that a trainer's ``torch.manual_seed`` and ``set_num_threads`` do not leak into the process."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    threads = torch.get_num_threads()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        torch.set_num_threads(threads)


def register_trainer(name: str, *, doc: str = "", default_epochs: int = 10):
    """Decorator registering a trainer under ``name`` (the weights name it writes).

    The registered callable runs the trainer inside :func:`isolated_torch_state`.
    """

    def deco(func):
        @functools.wraps(func)
        def isolated(settings):
            with isolated_torch_state():
                return func(settings)

        TRAINERS.register(name, doc=doc, default_epochs=int(default_epochs))(isolated)
        return func

    return deco


def load_trainers() -> Registry:
    """The trainer registry after every built-in module has registered itself."""
    return TRAINERS.loaded()


def get_trainer(name: str) -> Trainer:
    """The trainer registered as ``name`` (ValueError listing the known ones otherwise)."""
    return TRAINERS.get_entry(name)
