"""Box-constrained priors: the box indicator and ℓ0 + box (exact elementwise prox)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..params import Param
from ..registry import PRIORS
from .base import Prior
from .sparse import as_scalar, lam_param


def _box_params(kind: str) -> list[Param]:
    return [
        Param("low", 0.0, low=-1e6, high=1e6, help=f"lower bound of the {kind} box", math="x ≥ low"),
        Param("high", 1.0, low=-1e6, high=1e6, help=f"upper bound of the {kind} box", math="x ≤ high"),
    ]


def _check_box(low: float, high: float, owner: str) -> None:
    if low > high:
        raise ValueError(f"{owner}: parameter 'low' = {low} must not exceed 'high' = {high}")


def box_indicator(x: Tensor, low: float, high: float) -> Tensor:
    """χ_[low,high](x) as a 0-d tensor: 0 if every entry lies in the box, +inf otherwise."""
    inside = ((x >= low) & (x <= high)).all()
    return torch.where(inside, x.new_zeros(()), x.new_full((), float("inf")))


@PRIORS.register(
    "box",
    title="Box constraint",
    params=_box_params("feasible"),
    doc="indicator of [low, high]: prox = clip (projection)",
)
class Box(Prior):
    """g(x) = χ_[low,high](x); prox = projection clip(v, low, high) for every step."""

    name = "box"

    def __init__(self, low: float, high: float):
        super().__init__(0.0)
        _check_box(low, high, "prior 'box'")
        self.low, self.high = float(low), float(high)

    def value(self, x: Tensor) -> Tensor:
        return box_indicator(x, self.low, self.high)

    def prox(self, v: Tensor, step) -> Tensor:
        return v.clamp(self.low, self.high)


@PRIORS.register(
    "l0_box",
    title="ℓ0 with a box (sparsity constraint)",
    params=[lam_param(0.001, "the ℓ0 count")] + _box_params("ℓ0"),
    doc="λ‖x‖₀ + indicator of [low, high]; exact elementwise prox (hard threshold + clip)",
)
class L0Box(Prior):
    """g(x) = λ‖x‖₀ + χ_[low,high](x) (non-convex), prox exact and elementwise.

    Per entry the minimiser of λ·[x ≠ 0] + χ(x) + (x − v)²/(2s) is one of two candidates:
    x = 0 (only if low ≤ 0 ≤ high; cost v²/(2s)) or x = clip(v) (cost
    λ·[clip(v) ≠ 0] + (clip(v) − v)²/(2s)); the cheaper one wins (ties go to clip(v)).
    """

    name = "l0_box"
    convex = False

    def __init__(self, lam: float, low: float, high: float):
        super().__init__(lam)
        _check_box(low, high, "prior 'l0_box'")
        self.low, self.high = float(low), float(high)

    def value(self, x: Tensor) -> Tensor:
        count = torch.count_nonzero(x).to(x.dtype)
        return self.lam * count + box_indicator(x, self.low, self.high)

    def prox(self, v: Tensor, step) -> Tensor:
        clipped = v.clamp(self.low, self.high)
        if not self.low <= 0.0 <= self.high:
            return clipped
        two_s = 2.0 * as_scalar(step, v)
        cost_zero = v * v / two_s
        cost_clip = self.lam * (clipped != 0).to(v.dtype) + (clipped - v) ** 2 / two_s
        return torch.where(cost_zero < cost_clip, torch.zeros_like(v), clipped)
