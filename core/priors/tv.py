"""Isotropic total variation: value, a warm-startable FGP prox solver, and the TV prior.

Discretisation: forward differences with Neumann boundary (the difference leaving the image
is zero), channel by channel:

    (∇x)_{i,j} = (x_{i+1,j} − x_{i,j}, x_{i,j+1} − x_{i,j}),   TV(x) = Σ_{c,i,j} ‖(∇x_c)_{i,j}‖₂.

The prox  prox_{θ·TV}(v) = argmin_x θ·TV(x) + ½‖x − v‖²  is solved through its dual
(Chambolle 2004; Beck & Teboulle 2009, "fast gradient projection", FGP):

    max_{‖p_{ij}‖₂ ≤ 1}  ½‖v‖² − ½‖v − θ ∇ᵀp‖²,      x = v − θ ∇ᵀp,                    (D)

with projected gradient steps of size 1/(8θ²) (‖∇‖² ≤ 8) and Nesterov extrapolation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..params import Param
from ..registry import PRIORS
from .base import Prior
from .sparse import as_scalar, lam_param


def gradient(x: Tensor) -> Tensor:
    """Forward differences with Neumann boundary; (..., H, W) → (..., 2, H, W) (rows, columns)."""
    d_rows = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    d_cols = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1))
    return torch.stack([d_rows, d_cols], dim=-3)


def gradient_adjoint(p: Tensor) -> Tensor:
    """∇ᵀp (= −div p) for p of shape (..., 2, H, W); exact adjoint of :func:`gradient`."""
    rows, cols = p[..., 0, :-1, :], p[..., 1, :, :-1]
    return F.pad(rows, (0, 0, 1, 0)) - F.pad(rows, (0, 0, 0, 1)) + F.pad(cols, (1, 0)) - F.pad(cols, (0, 1))


def tv_value(x: Tensor) -> Tensor:
    """Isotropic TV(x) summed over all leading dimensions (0-d tensor)."""
    return gradient(x).pow(2).sum(dim=-3).sqrt().sum()


def _project_unit_balls(p: Tensor) -> Tensor:
    """Project every pixel's 2-vector p_{ij} onto the unit ℓ2 ball."""
    return p / p.pow(2).sum(dim=-3, keepdim=True).sqrt().clamp_min(1.0)


def tv_prox(v: Tensor, theta, iters: int, dual: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """prox_{θ·TV}(v) by ``iters`` FGP iterations on the dual (D).

    Parameters
    ----------
    v : Tensor, shape (..., H, W)
    theta : float or 0-d Tensor
        θ ≥ 0 (prior weight × step). θ = 0 returns ``v``.
    iters : int
        Number of dual iterations (fixed: no convergence test, no host sync).
    dual : Tensor, optional
        Starting dual variable p, shape (..., 2, H, W) (warm start); zeros if omitted.

    Returns
    -------
    x : Tensor
        Approximate prox, x = v − θ ∇ᵀp.
    p : Tensor
        Final dual variable (feasible: ‖p_{ij}‖ ≤ 1), to warm-start the next call.
    """
    theta = as_scalar(theta, v)
    safe_theta = torch.where(theta > 0, theta, torch.ones_like(theta))
    p = torch.zeros((*v.shape[:-2], 2, *v.shape[-2:]), dtype=v.dtype, device=v.device) if dual is None else dual
    q, t = p, 1.0
    for _ in range(int(iters)):
        x = v - safe_theta * gradient_adjoint(q)
        p_next = _project_unit_balls(q + gradient(x) / (8.0 * safe_theta))  # projected gradient step
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        q = p_next + ((t - 1.0) / t_next) * (p_next - p)  # FGP extrapolation
        p, t = p_next, t_next
    return v - theta * gradient_adjoint(p), p


def tv_dual_value(v: Tensor, theta, p: Tensor) -> Tensor:
    """Dual objective of (D) at feasible p: a lower bound on min θ·TV(x) + ½‖x − v‖²."""
    theta = as_scalar(theta, v)
    return 0.5 * v.pow(2).sum() - 0.5 * (v - theta * gradient_adjoint(p)).pow(2).sum()


@PRIORS.register(
    "tv",
    title="Total variation",
    params=[
        lam_param(0.01, "the total variation"),
        Param(
            "tv_iters",
            20,
            kind="int",
            low=1,
            high=10000,
            help="inner FGP dual iterations per prox (warm-started across calls)",
        ),
    ],
    doc="isotropic total variation λ Σ‖∇x‖₂ (Neumann); prox by warm-started FGP on the dual",
)
class TotalVariation(Prior):
    """g(x) = λ·TV(x) (isotropic, Neumann). prox by ``tv_iters`` FGP dual iterations.

    The dual variable is kept between calls and used as the starting point of the next prox
    when the shape, device and dtype match (warm start); :meth:`reset` forgets it.
    """

    name = "tv"

    def __init__(self, lam: float, tv_iters: int):
        super().__init__(lam)
        self.tv_iters = int(tv_iters)
        self._dual: Tensor | None = None

    def value(self, x: Tensor) -> Tensor:
        return self.lam * tv_value(x)

    def prox(self, v: Tensor, step) -> Tensor:
        dual = self._dual
        expected = (*v.shape[:-2], 2, *v.shape[-2:])
        if dual is not None and (tuple(dual.shape) != expected or dual.device != v.device or dual.dtype != v.dtype):
            dual = None
        x, self._dual = tv_prox(v, self.lam * as_scalar(step, v), self.tv_iters, dual)
        self._dual = self._dual.detach()
        return x

    def reset(self) -> None:
        self._dual = None
