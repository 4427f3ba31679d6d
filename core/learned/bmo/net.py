"""BMO — Bilevel Meta Optimization (Liu, Liu, Zeng, Zhang, Zhang, ICML 2022), Algorithm 1.

Training variables u (the solution) and hyper-training variables ω (a learned correction) are
updated jointly. Inner loop k = 1 … K (Algorithm 1, lines 5–7), H_ω = I, U = box or Rⁿ:

    v_l^k = 𝒯(u^{k−1})                               training map: one proximal-gradient step on
                                                     f + g (its fixed points minimise f + g)   (5)
    v_u^k = u^{k−1} − s_k ∂_u ℓ(u^{k−1}; ω)          hyper-training descent with
                                                     ℓ(u; ω) = ½‖u − N_ω(u)‖², N_ω(u) held fixed (6)
    u^k   = Proj_U(μ v_u^k + (1 − μ) v_l^k)                                                   (7)

and the outer update ω ← ω − γ ∂_ω L(u^K) (line 9) is back-propagation of the supervised loss
through the K inner steps (we train μ ∈ (0, 1) and s₀ as part of ω). Our reading of the slides
(the paper's exact ℓ and H are not in them): the step sizes s_k = s₀ / (1 + k/K)² are summable,
so past the trained K the learned perturbation fades and u^k keeps converging to Fix(𝒯), the
minimiser of f + g — the "convergence on untrained layers" of the slides' toy example.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...priors.base import soft_threshold
from ..unrolled_admm.net import Projector


def bmo_step_size(s0: Tensor, k: int, trained_layers: int) -> Tensor:
    """s_k = s₀ / (1 + k/K)²."""
    return s0 / (1.0 + k / trained_layers) ** 2


def bmo_update(u: Tensor, k: int, training_map, correction, mu: Tensor, s_k: Tensor, project=None) -> dict:
    """One BMO inner step (5)–(7); returns u^k, v_l, v_u and N_ω(u^{k−1})."""
    v_l = training_map(u)  # (5)
    target = correction(u)
    v_u = u - s_k * (u - target)  # (6): ∂_u ℓ = u − N_ω(u)
    out = mu * v_u + (1.0 - mu) * v_l  # (7)
    return {"u": out if project is None else project(out), "v_l": v_l, "v_u": v_u, "correction": target}


class BMOScalars(nn.Module):
    """Learned aggregation μ = sigmoid(a) and initial step s₀ = sigmoid(b), K trained layers."""

    def __init__(self, layers: int, mu: float = 0.5, s0: float = 0.5):
        super().__init__()
        self.mu_logit = nn.Parameter(torch.logit(torch.tensor(mu)))
        self.s0_logit = nn.Parameter(torch.logit(torch.tensor(s0)))
        self.register_buffer("layers", torch.tensor(int(layers)))
        self.trained_layers = int(layers)  # Python copy: no host sync in the step loop

    @property
    def mu(self) -> Tensor:
        return torch.sigmoid(self.mu_logit)

    def step(self, k: int) -> Tensor:
        """s_k (k = 1, 2, ...)."""
        return bmo_step_size(torch.sigmoid(self.s0_logit), k, self.trained_layers)


class BMOSparse(BMOScalars):
    """Sparse-coding toy: f + g = ½‖Au − y‖² + λ‖u‖₁ and N_ω(u) = S_θ(u − W(Au − y)) (one tied
    LISTA-type layer, W initialised to Aᵀ/L)."""

    def __init__(self, matrix: Tensor, lam: float, layers: int):
        super().__init__(layers)
        lip = torch.linalg.matrix_norm(matrix, ord=2) ** 2
        self.register_buffer("matrix", matrix.clone())
        self.register_buffer("lam", torch.tensor(float(lam)))
        self.weight = nn.Parameter(matrix.T / lip)
        self.theta = nn.Parameter(torch.tensor(float(lam) / float(lip)))

    @classmethod
    def from_state_dict(cls, state: dict) -> BMOSparse:
        net = cls(state["matrix"], float(state["lam"]), int(state["layers"]))
        net.load_state_dict(state)
        return net

    def ista(self, u: Tensor, y: Tensor) -> Tensor:
        """𝒯(u) = S_{λ/L}(u − Aᵀ(Au − y)/L)."""
        lip = 1.001 * torch.linalg.matrix_norm(self.matrix, ord=2) ** 2
        return soft_threshold(u - (u @ self.matrix.T - y) @ self.matrix / lip, self.lam / lip)

    def run(self, y: Tensor, iterations: int, mode: str = "bmo") -> list[Tensor]:
        """Iterates u¹…u^iterations from u⁰ = 0 for rows y (N, n).

        ``mode``: "bmo" (5)–(7); "learned" (N_ω alone, μ = 1 and s_k = 1: a plain unrolled net,
        the ENA-type method); "ista" (𝒯 alone).
        """
        u = y.new_zeros(y.shape[0], self.matrix.shape[1])
        out = []
        correction = lambda v: soft_threshold(v - (v @ self.matrix.T - y) @ self.weight.T, self.theta)
        for k in range(1, iterations + 1):
            if mode == "ista":
                u = self.ista(u, y)
            elif mode == "learned":
                u = correction(u)
            else:
                u = bmo_update(u, k, lambda v: self.ista(v, y), correction, self.mu, self.step(k))["u"]
            out.append(u)
        return out


class BMODeconv(BMOScalars):
    """Image version: 𝒯 = proximal-gradient step on ½‖Au − y‖² + λ‖Wu‖₁ (Haar wavelets),
    N_ω = a residual CNN (core.learned.unrolled_admm.net.Projector), U = [0, 1]."""

    def __init__(self, layers: int = 8, lam: float = 0.002, features: int = 16, conv_layers: int = 5):
        super().__init__(layers)
        self.register_buffer("lam", torch.tensor(float(lam)))
        self.projector = Projector(features, conv_layers)

    @classmethod
    def from_state_dict(cls, state: dict) -> BMODeconv:
        convs = {int(k.split(".")[2]) for k in state if k.startswith("projector.convs.")}
        net = cls(int(state["layers"]), float(state["lam"]), state["projector.convs.0.weight"].shape[0], len(convs))
        net.load_state_dict(state)
        return net

    def training_map(self, operator, y: Tensor, lipschitz: float):
        """u ↦ prox_{g/L}(u − Aᵀ(Au − y)/L) on images (N, 1, H, W), operator acting on (N, H, W)."""
        from ...priors.sparse import L1Wavelet

        prior = L1Wavelet(float(self.lam), "haar", 3)

        def apply(u: Tensor) -> Tensor:
            grad = operator.adjoint(operator.forward(u[:, 0]) - y)[:, None]
            return prior.prox(u - grad / lipschitz, 1.0 / lipschitz)

        return apply

    def forward(self, u0: Tensor, operator, y: Tensor, lipschitz: float, iterations: int | None = None) -> Tensor:
        """u^K from u⁰ (N, 1, H, W)."""
        t_map = self.training_map(operator, y, lipschitz)
        u = u0
        for k in range(1, (int(self.layers) if iterations is None else iterations) + 1):
            u = bmo_update(u, k, t_map, self.projector, self.mu, self.step(k), lambda v: v.clamp(0, 1))["u"]
        return u
