"""ADMM (scaled form) for min_x ½‖Ax − y‖² + g(z) subject to x = z.

Boyd et al., "Distributed optimization and statistical learning via ADMM" (2011), §3.1.1
(scaled form, eqs. (3.5)–(3.7)) with f(x) = ½‖Ax − y‖² and the prior g on z:
    x^{k+1} = (AᵀA + ρI)⁻¹ (Aᵀy + ρ(z^k − u^k))      (3.5)  [Operator.normal_solve]
    z^{k+1} = prox_{g/ρ}(x^{k+1} + u^k)               (3.6)
    u^{k+1} = u^k + x^{k+1} − z^{k+1}                 (3.7)
The reported iterate is z^{k+1}: it is the variable the prior acts on, so g(z) is finite for
indicator priors (box) and Φ(z) is the meaningful objective. x^{k+1} goes to the extras.
g(z^{k+1}) comes with the prox (3.6) (``Prior.prox_with_value``); the data term ½‖A z − y‖²
needs A z, which the iteration never forms, so the engine adds it (``info["prior_value"]``).
"""

from __future__ import annotations

from ..params import Param
from ..registry import SOLVERS
from .base import Step


@SOLVERS.register(
    "admm",
    params=[
        Param(
            "rho",
            1.0,
            low=1e-8,
            high=1e8,
            log=True,
            help="ADMM penalty ρ of the constraint x = z",
            math="L_ρ = f(x) + g(z) + (ρ/2)‖x − z + u‖²",
        )
    ],
    doc="ADMM (scaled): x = (AᵀA+ρI)⁻¹(Aᵀy+ρ(z−u)), z = prox_{g/ρ}(x+u), u += x − z",
    needs_prior=True,
    needs_denoiser=False,
    learned=False,
)
def admm(problem, *, prior, rho):
    """Alternating direction method of multipliers with the splitting x = z.

    Parameters
    ----------
    problem : Problem
    prior : Prior
    rho : float
        Penalty parameter ρ > 0.

    Yields
    ------
    Step
        ``Step(k, z^k, info={"primal_residual": ‖x^k − z^k‖, "prior_value": g(z^k)},
        extras={"x": x^k image})``.
    """
    rho = float(rho)
    prior.reset()
    aty = problem.operator.adjoint(problem.y)
    z = problem.x0.clone()
    u = z.new_zeros(z.shape)
    x = z
    k = 0
    while True:
        k += 1
        x = problem.operator.normal_solve(aty + rho * (z - u), rho, x)  # (3.5)
        z, g_z = prior.prox_with_value(x + u, 1.0 / rho)  # (3.6), and g(z^{k+1})
        u = u + x - z  # (3.7)
        info = {"primal_residual": (x - z).norm(), "prior_value": g_z}
        yield Step(k, z, info=info, extras={"x": problem.to_image(x)})
