"""FISTA (Beck & Teboulle, SIAM J. Imaging Sci. 2(1), 2009, §4, constant step size).

Iteration k ≥ 1 (paper's (4.1)–(4.3), with y¹ = x⁰, t₁ = 1):
    x^k     = prox_{γg}(y^k − γ∇f(y^k))                          (4.1)
    t_{k+1} = (1 + √(1 + 4 t_k²)) / 2                            (4.2)
    y^{k+1} = x^k + ((t_k − 1)/t_{k+1}) (x^k − x^{k−1})          (4.3)
Theorem 4.4: Φ(x^k) − Φ* ≤ 2L‖x⁰ − x*‖² / (k + 1)² for γ = 1/L and convex g.
"""

from __future__ import annotations

import math

from ..registry import SOLVERS
from ._common import step_from_lipschitz
from .base import Step
from .ista import STEP_SIZE_PARAM


@SOLVERS.register(
    "fista",
    params=[STEP_SIZE_PARAM],
    doc="FISTA: proximal gradient with Nesterov momentum t_{k+1} = (1+√(1+4t_k²))/2",
    needs_prior=True,
    needs_denoiser=False,
    learned=False,
)
def fista(problem, *, prior, step_size):
    """Fast iterative shrinkage-thresholding.

    Parameters
    ----------
    problem : Problem
    prior : Prior
    step_size : float or None
        γ; ``None`` gives 1/L_f.

    Yields
    ------
    Step
        ``Step(k, x^k, info={"momentum": (t_k − 1)/t_{k+1}, "objective": Φ(x^k)})`` forever.

    Notes
    -----
    A x^k is computed once per iteration: it gives Φ(x^k) (g(x^k) from the prior's prox) and,
    A being linear, A y^{k+1} = A x^k + β_k (A x^k − A x^{k−1}) for the next gradient
    ∇f(y^{k+1}) = Aᵀ(A y^{k+1} − y), so the operator is applied as often as in (4.1)–(4.3).
    """
    gamma = step_from_lipschitz(problem, step_size)
    prior.reset()
    forward, adjoint, observed = problem.operator.forward, problem.operator.adjoint, problem.y
    x_prev = problem.x0.clone()
    ax_prev = forward(x_prev)
    y, ay = x_prev, ax_prev  # y¹ = x⁰
    t = 1.0  # t₁ = 1 (a Python float: the sequence does not depend on the data)
    k = 0
    while True:
        k += 1
        x, g_x = prior.prox_with_value(y - gamma * adjoint(ay - observed), gamma)  # (4.1)
        ax = forward(x)
        objective = problem.fidelity_of_residual(ax - observed) + g_x
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0  # (4.2)
        momentum = (t - 1.0) / t_next
        y = x + momentum * (x - x_prev)  # (4.3)
        ay = ax + momentum * (ax - ax_prev)  # A y^{k+1}, by linearity
        x_prev, ax_prev, t = x, ax, t_next
        yield Step(k, x, info={"momentum": momentum, "objective": objective})
