"""Trainer ``fista_net``: FISTA-Net for 33×33 block CS at 25 %, with ISTA-Net⁺'s data pipeline.

Random-Φ data pipeline, loss (symmetric loss) and validation of
:func:`core.learned.ista_net_plus.train.random_phi_loop_spec`;
the shipped weights were trained 4 epochs on CPU.
"""

from __future__ import annotations

import torch

from ..ista_net_plus.train import BLOCK, random_phi_loop_spec
from ..training import register_trainer
from ..training.common import TrainSettings, train_loop
from .net import FISTANet

FEATURES = 8


@register_trainer(
    "fista_net", default_epochs=4, doc="FISTA-Net (6 phases, shared 8-feature block), 33x33 block CS at 25 %"
)
def train_fista_net(settings: TrainSettings) -> dict:
    """Train FISTA-Net on block CS at 25 % with the ISTA-Net⁺ data pipeline (symmetric loss)."""
    from ..training.common import load_training_images, load_validation_image

    torch.manual_seed(settings.seed)
    model = FISTANet(6, FEATURES)
    validation = load_validation_image(132)
    spec = random_phi_loop_spec(model, 25, load_training_images(), validation)
    spec.meta = {"class": "FISTANet", "phases": 6, "features": FEATURES, "ratio": 25, "block": BLOCK}
    return train_loop(settings, model, spec)
