"""The inverse problem a run solves: operator, observation, ground truth and x⁰."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from .operators.base import Operator


@dataclass
class Problem:
    """One inverse problem y = A x + n.

    Attributes
    ----------
    operator : Operator
        Forward model A acting on the unknown.
    y : Tensor
        Observation (real, or complex for MRI).
    x0 : Tensor
        Initial estimate in the unknown's space (Aᵀy, bicubic, zero-filled, ...).
    x_true : Tensor or None
        Ground-truth *image* (C, H, W) when known.
    noise_sigma : float
        Standard deviation of the additive Gaussian noise (intensity scale [0, 1]).
    spec : dict
        The resolved problem section of the config (for display and sessions).
    """

    operator: Operator
    y: Tensor
    x0: Tensor
    x_true: Tensor | None = None
    noise_sigma: float = 0.0
    spec: dict[str, Any] = field(default_factory=dict)
    # extra display data (e.g. chroma channels for Y-only solving)
    display: dict[str, Any] = field(default_factory=dict)

    def to_image(self, z: Tensor) -> Tensor:
        """Unknown → image (identity except sparse-coding SR, where α ↦ W⁻¹α)."""
        return self.operator.to_image(z)

    def from_image(self, x: Tensor) -> Tensor:
        """Image → unknown (used by modules that act on images, e.g. PODM's denoiser)."""
        return self.operator.from_image(x)

    # f(x) = ½‖Ax − y‖² ---------------------------------------------------------------
    def residual(self, x: Tensor) -> Tensor:
        """A x − y."""
        return self.operator.forward(x) - self.y

    def fidelity(self, x: Tensor) -> Tensor:
        """f(x) = ½‖Ax − y‖² as a 0-d tensor."""
        r = self.residual(x)
        return 0.5 * (r.abs() ** 2 if r.is_complex() else r * r).sum()

    def grad_fidelity(self, x: Tensor) -> Tensor:
        """∇f(x) = Aᵀ(Ax − y)."""
        return self.operator.adjoint(self.residual(x))

    def objective(self, x: Tensor, prior=None) -> Tensor:
        """Φ(x) = f(x) + g(x) (g omitted when ``prior`` is None)."""
        value = self.fidelity(x)
        if prior is not None:
            value = value + prior.value(x)
        return value

    def lipschitz(self) -> float:
        """L_f = ‖A‖₂²."""
        return self.operator.lipschitz()

    def to(self, device=None, dtype=None) -> "Problem":
        """Move operator and tensors in place; returns self."""
        self.operator.to(device, dtype)

        def move(t):
            if not isinstance(t, Tensor):
                return t
            if t.is_complex():
                cd = None if dtype is None else (torch.complex128 if dtype == torch.float64 else torch.complex64)
                return t.to(device=device, dtype=cd)
            return t.to(device=device, dtype=dtype)

        self.y = move(self.y)
        self.x0 = move(self.x0)
        self.x_true = move(self.x_true)
        self.display = {k: move(v) for k, v in self.display.items()}
        return self
