"""Stage-wise trained propagation module A^l of PODM (Liu et al., NeurIPS 2018, §4.1).

§4.1: "only the parameters θ_A^l are learned when considering PODM as an accurate numerical
solver", greedily, stage by stage. Why A^l is an unrolled solver and not a CNN: with c < μ_opt/2
(Proposition 1) the check (5) accepts x_G only when it is close to the proximal-point step
P(x^{l−1}) = argmin Φ + (κ/2)‖x − x^{l−1}‖², κ = (μ + μ_opt)/2 (core/solvers/podm.py), and a 1 %
error on x̃ already fails it (bench/results/podm_check.md); a CNN that scaled the proximal-gradient
direction coefficient by coefficient stayed 2.5× above c. So A^l unrolls K accelerated
proximal-gradient steps on that subproblem (on the wavelet coefficients, the unknown of
sparse-coding SR) whose step sizes — one per step and wavelet level — and momenta are θ_A^l,
learned as ALISTA learns only step sizes and thresholds (Liu, Chen, Wang, Yin, ICLR 2019):

    z_0 = z_{−1} = x^{l−1}
    v_k     = z_k + β_{l,k} (z_k − z_{k−1})
    z_{k+1} = prox_{S_{l,k} g}(v_k − S_{l,k} ⊙ (∇f(v_k) + κ (v_k − x^{l−1})))     k = 0 … K−1
    S_{l,k} = γ · exp(s_{l,k,j}) on the coefficients of level j (j = 0: the coarse block)

initialised at s = 0 (S = γ) and β = (1 − √(κγ)) / (1 + √(κγ)), the momentum of accelerated
gradient descent for a κ-strongly convex problem. The prior of the trained class acts
coefficient-wise (transform "none"), so prox with a step map S is the prox of the weighted g.
A^l returns the input of the fidelity module whose step (3) gives x̃ = z_K:

    x_A^l = ((DᵀD + μI) z_K − Dᵀy) / μ      so that  (DᵀD + μI) x̃ = Dᵀy + μ x_A^l  ⇔  x̃ = z_K.

Cost of a stage: K + 1 gradients of f for A^l, plus PODM's own (3), (7) and check.
Stages beyond the trained ones reuse the last one's parameters.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def level_index(height: int, width: int, levels: int, device=None) -> Tensor:
    """(H, W) long map of the pyramid layout of core.wavelets: j on the level-j details
    (j = 1 finest), 0 on the coarse block."""
    out = torch.zeros(height, width, dtype=torch.long, device=device)
    for j in range(1, levels + 1):
        out[: height >> (j - 1), : width >> (j - 1)] = j
    out[: height >> levels, : width >> levels] = 0
    return out


def strong_convexity_momentum(kappa: float, gamma: float) -> float:
    """β = (1 − √(κγ)) / (1 + √(κγ)): accelerated gradient's momentum for curvature κ, step γ."""
    q = math.sqrt(max(kappa * gamma, 0.0))
    return (1.0 - q) / (1.0 + q)


class StageSolver(nn.Module):
    """θ_A^l of one stage: log step multipliers s (K, levels + 1) and momenta β (K)."""

    def __init__(self, inner: int, levels: int, momentum: float = 0.0):
        super().__init__()
        self.log_step = nn.Parameter(torch.zeros(int(inner), int(levels) + 1))
        self.momentum = nn.Parameter(torch.full((int(inner),), float(momentum)))


class StagewisePropagation(nn.Module):
    """The propagations A^1 … A^L (one :class:`StageSolver` each); stage l > L uses A^L.

    Parameters
    ----------
    stages : int
        Number of trained stages L.
    inner : int
        Unrolled proximal-gradient steps K per stage.
    levels : int
        Wavelet levels of the coefficient layout (one step size per level).
    momentum : float
        Initial β of every step (:func:`strong_convexity_momentum` of the problem class).
    """

    def __init__(self, stages: int = 16, inner: int = 8, levels: int = 3, momentum: float = 0.0):
        super().__init__()
        self.stages = int(stages)
        self.inner = int(inner)
        self.levels = int(levels)
        self.nets = nn.ModuleList(StageSolver(self.inner, self.levels, momentum) for _ in range(self.stages))
        self._level_index: dict = {}  # (H, W, device) -> level_index, built once per shape

    def config(self) -> dict:
        """Constructor arguments that define the architecture (stored in the weights manifest)."""
        return {"stages": self.stages, "inner": self.inner, "levels": self.levels}

    def net(self, stage: int) -> StageSolver:
        """θ_A^l for stage l ≥ 1 (the last trained one beyond L)."""
        return self.nets[min(int(stage), self.stages) - 1]

    def proximal_point(self, stage: int, x_prev: Tensor, problem, prior, gamma: float, kappa: float) -> Tensor:
        """z_K, the unrolled approximation of argmin Φ + (κ/2)‖x − x^{l−1}‖² (module docstring).

        ``x_prev`` has shape (..., H, W) with the coefficient layout of ``levels`` levels.
        """
        params = self.net(stage)
        height, width = x_prev.shape[-2:]
        key = (height, width, x_prev.device)
        if key not in self._level_index:
            self._level_index[key] = level_index(height, width, self.levels, x_prev.device)
        index = self._level_index[key]
        steps = gamma * torch.exp(params.log_step.to(x_prev.dtype))[:, index]  # (K, H, W)
        momenta = params.momentum.to(x_prev.dtype)
        z_before, z = x_prev, x_prev
        for k in range(self.inner):
            v = z + momenta[k] * (z - z_before)
            gradient = problem.grad_fidelity(v) + kappa * (v - x_prev)
            z_before, z = z, prior.prox(v - steps[k] * gradient, steps[k])
        return z

    def forward(self, stage: int, x_prev: Tensor, problem, prior, gamma: float, mu: float, mu_opt: float) -> Tensor:
        """x_A^l = ((DᵀD + μI) z_K − Dᵀy)/μ, whose fidelity step (3) returns x̃ = z_K."""
        z = self.proximal_point(stage, x_prev, problem, prior, gamma, 0.5 * (mu + mu_opt))
        operator = problem.operator
        return z + (operator.adjoint(operator.forward(z) - problem.y)) / mu
