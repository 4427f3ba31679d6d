"""Learned denoiser ``dncnn``: the project-trained dilated CNN (core.learned.dncnn.net) as a Denoiser.

The weights ship in resources/weights/dncnn.pt (trained by ``python -m core train dncnn``) and
are loaded by name with their SHA-256 checked. The network runs on the input's device and dtype;
(C, H, W) and (N, C, H, W) inputs are accepted and colour images are denoised channel by
channel (the network is grayscale). σ is clipped to the trained range [0, 50/255].
"""

from __future__ import annotations

from ...params import Param
from ...registry import DENOISERS
from ..network_denoiser import NetworkDenoiser
from ..weights import WeightsError, cached_network, meta_int
from .net import DilatedDenoiser

SIGMA_RANGE = (0.0, 50.0 / 255.0)


def _architecture(meta: dict) -> DilatedDenoiser:
    name = meta.get("name", "dncnn")
    dilations = meta.get("dilations", [1, 2, 3, 4, 3, 2, 1])
    if (
        not isinstance(dilations, (list, tuple))
        or not 1 <= len(dilations) <= 32
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 64 for d in dilations)
    ):
        raise WeightsError(f"weights '{name}': manifest meta 'dilations' must be 1-32 integers in [1, 64]")
    return DilatedDenoiser(
        channels=meta_int(meta, "channels", 1, 1, 4, name),
        features=meta_int(meta, "features", 32, 1, 1024, name),
        dilations=tuple(dilations),
    )


def load_dilated_denoiser(weights: str = "dncnn", directory=None) -> DilatedDenoiser:
    """The :class:`DilatedDenoiser` built from the manifest's architecture with ``weights`` loaded.

    Raises
    ------
    core.learned.weights.WeightsError
        (a ValueError) for unknown, missing, tampered or mismatched weights.
    """
    return cached_network(_architecture, weights, directory)


@DENOISERS.register(
    "dncnn",
    title="DnCNN (learned)",
    params=[
        Param(
            "denoiser_weights",
            "dncnn",
            "str",
            help="weights name in resources/weights (trained by `python -m core train dncnn`)",
        )
    ],
    doc="learned dilated residual CNN denoiser (IRCNN style, noise-level aware, σ ≤ 50/255)",
    learned=True,
)
class LearnedDenoiser(NetworkDenoiser):
    """D(x, σ) by the trained network (σ clipped to its trained range), channel by channel.

    Parameters
    ----------
    weights : str
        Weights name in resources/weights (config key ``denoiser_weights``).
    directory : path, optional
        Weights folder (default :func:`core.paths.weights_dir`).
    """

    name = "dncnn"

    def __init__(self, weights: str, directory=None):
        super().__init__(load_dilated_denoiser(weights, directory), label="denoiser 'dncnn'", sigma_range=SIGMA_RANGE)
        self.weights = weights
