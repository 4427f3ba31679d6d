"""The one abstraction: a solver is a generator that yields one Step per iteration."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class Step:
    """What a solver reports after iteration (stage) ``k`` (k = 1, 2, ...).

    Attributes
    ----------
    k : int
        Iteration index, starting at 1 for the first update of x⁰.
    x : Tensor
        Current estimate in the unknown's space, on the run's device.
    info : dict
        Diagnostics as 0-d tensors / floats / bools. Recognised keys:
        ``objective`` (overrides the engine's Φ), ``opt_error`` and ``opt_bound``
        (e.g. PODM's ‖ψ‖ and c^l‖x_G − x^{l−1}‖), ``accepted`` (PODM's check),
        ``ended`` (a learned solver past its trained stages that cannot go on),
        learned scalars (``step``, ``threshold``, ``momentum``...).
    extras : dict
        Optional intermediate images (image space), e.g. PODM: ``x_A``, ``x_tilde``, ``x_G``;
        unrolled nets: ``input``, ``output``, ``residual``.
    """

    k: int
    x: Tensor
    info: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
