"""ISTA / proximal gradient (forward-backward splitting) for Φ(x) = ½‖Ax − y‖² + g(x).

Reference: Beck & Teboulle, SIAM J. Imaging Sci. 2(1), 2009, eq. (3.1) with the step 1/L of
§3 ("constant step size"); methods.md §11.
"""

from __future__ import annotations

from ..params import Param
from ..registry import SOLVERS
from ._common import step_from_lipschitz
from .base import Step

STEP_SIZE_PARAM = Param(
    "step_size",
    None,
    low=1e-12,
    high=1e12,
    log=True,
    help="gradient step γ (automatic: 1/L with L = ‖A‖₂²); γ > 2/L diverges",
    math="x⁺ = prox_{γg}(x − γAᵀ(Ax − y))",
)


@SOLVERS.register(
    "ista",
    params=[STEP_SIZE_PARAM],
    doc="ISTA / proximal gradient: x⁺ = prox_{γg}(x − γ∇f(x))",
    needs_prior=True,
    needs_denoiser=False,
    learned=False,
)
def ista(problem, *, prior, step_size):
    """Iterative shrinkage-thresholding (proximal gradient).

    Parameters
    ----------
    problem : Problem
    prior : Prior
        g, used through its proximal map.
    step_size : float or None
        γ; ``None`` gives 1/L_f.

    Yields
    ------
    Step
        ``Step(k, x^k, info={"objective": Φ(x^k)})`` forever.

    Notes
    -----
    The residual A x^k − y is computed once per iteration: it gives Φ(x^k) = ½‖A x^k − y‖² +
    g(x^k) for this step (g(x^k) from the prior's prox) and ∇f(x^k) = Aᵀ(A x^k − y) for the next.
    """
    gamma = step_from_lipschitz(problem, step_size)
    prior.reset()
    x = problem.x0.clone()
    residual = problem.residual(x)  # A x⁰ − y
    k = 0
    while True:
        k += 1
        # Beck–Teboulle (3.1): x^k = p_L(x^{k−1}) = prox_{g/L}(x^{k−1} − (1/L)∇f(x^{k−1}))
        x, g_x = prior.prox_with_value(x - gamma * problem.operator.adjoint(residual), gamma)
        residual = problem.residual(x)  # A x^k − y
        yield Step(k, x, info={"objective": problem.fidelity_of_residual(residual) + g_x})
