"""Prior (regulariser) base class and the denoiser interface.

A prior g carries its own weight λ: ``value(x)`` returns λ·r(x) and ``prox(v, step)`` returns
prox_{step·g}(v) = argmin_x g(x) + ‖x − v‖² / (2·step).
"""

from __future__ import annotations

import torch
from torch import Tensor


class Prior:
    """Regulariser g with value and proximal map.

    Attributes
    ----------
    name : str
        Registry name.
    lam : float
        Weight λ (already included in :meth:`value` and :meth:`prox`).
    convex : bool
        Whether g is convex (ISTA/FISTA/ADMM guarantees need it; PODM does not).
    """

    name: str = "prior"
    convex: bool = True

    def __init__(self, lam: float = 0.0):
        self.lam = float(lam)

    def value(self, x: Tensor) -> Tensor:
        """g(x) as a 0-d tensor (on x's device, no host sync)."""
        raise NotImplementedError

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        """prox_{step·g}(v)."""
        raise NotImplementedError

    def prox_with_value(self, v: Tensor, step: float | Tensor) -> tuple[Tensor, Tensor]:
        """``(x, g(x))`` with x = prox_{step·g}(v).

        Solvers that report the objective of their iterate use it; priors whose prox already
        holds what g(x) needs (e.g. the transform coefficients of x) override it to skip a second
        transform. The default is ``prox`` followed by ``value``.
        """
        x = self.prox(v, step)
        return x, self.value(x)

    def reset(self) -> None:
        """Forget warm-start state (e.g. TV's dual variable) before a new run."""


class L1Pixel(Prior):
    """λ‖x‖₁ on pixels (soft threshold); the simplest sparse prior, used by tests."""

    name = "l1"

    def value(self, x: Tensor) -> Tensor:
        return self.lam * x.abs().sum()

    def prox(self, v: Tensor, step) -> Tensor:
        return soft_threshold(v, self.lam * step)


class Zero(Prior):
    """g ≡ 0 (plain least squares)."""

    name = "none"

    def value(self, x: Tensor) -> Tensor:
        return x.new_zeros(())

    def prox(self, v: Tensor, step) -> Tensor:
        return v

    def prox_with_value(self, v: Tensor, step) -> tuple[Tensor, Tensor]:
        return v, v.new_zeros(())


def soft_threshold(v: Tensor, threshold) -> Tensor:
    """S_θ(v) = sign(v)·max(|v| − θ, 0)."""
    return torch.sign(v) * torch.clamp(v.abs() - threshold, min=0.0)


class Denoiser:
    """A denoiser D(x, σ) used as the learned/plug-in prior by PnP and PODM.

    ``sigma`` is the noise standard deviation on the [0, 1] intensity scale.
    """

    name: str = "denoiser"

    def __call__(self, x: Tensor, sigma: float | Tensor) -> Tensor:
        raise NotImplementedError
