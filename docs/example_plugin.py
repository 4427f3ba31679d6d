"""An example plugin: a small denoiser and a solver, registered like the built-in ones.

Load it with ``python -m core run CONFIG --plugin docs/example_plugin.py``, ``python -m workbench
--plugin docs/example_plugin.py`` or File → Load plugin…; a package can instead name this module
in the entry-point group ``convergence_workbench.plugins``. Then ``denoiser = "median3"`` and
``solver = "heavy_ball"`` work in configs and appear in the workbench's lists.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.params import Param
from core.priors.base import Denoiser
from core.registry import DENOISERS, SOLVERS
from core.solvers._common import step_from_lipschitz
from core.solvers.base import Step


@DENOISERS.register(
    "median3",
    params=[Param("denoiser_mix", 1.0, low=0.0, high=1.0, help="weight of the median (1 = pure 3×3 median)")],
    doc="example plugin: 3×3 median filter blended with the input",
)
class Median3(Denoiser):
    """D(x) = mix · median₃ₓ₃(x) + (1 − mix) · x (ignores σ)."""

    name = "median3"

    def __init__(self, mix: float):
        self.mix = float(mix)

    def __call__(self, x, sigma):
        batched = x if x.dim() == 4 else x[None]
        patches = F.unfold(F.pad(batched, (1, 1, 1, 1), mode="replicate").flatten(0, 1)[:, None], 3)
        median = patches.median(dim=1).values.reshape(batched.shape)
        out = self.mix * median + (1.0 - self.mix) * batched
        return out if x.dim() == 4 else out[0]


@SOLVERS.register(
    "heavy_ball",
    params=[Param("momentum", 0.5, low=0.0, high=0.99, help="heavy-ball weight β")],
    doc="example plugin: proximal heavy ball x⁺ = prox(x − γ∇f(x) + β(x − x⁻))",
    needs_prior=True,
    needs_denoiser=False,
    learned=False,
)
def heavy_ball(problem, *, prior, momentum):
    """Proximal gradient with Polyak's heavy-ball momentum (constant step 1/L)."""
    gamma = step_from_lipschitz(problem, None)
    prior.reset()
    x_prev = x = problem.x0.clone()
    k = 0
    while True:
        k += 1
        v = x - gamma * problem.grad_fidelity(x) + momentum * (x - x_prev)
        x, x_prev = prior.prox(v, gamma), x
        yield Step(k, x, info={"momentum": torch.as_tensor(momentum, dtype=x.dtype)})
