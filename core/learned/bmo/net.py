"""BMO — Bilevel Meta Optimization (Liu, Liu, Zeng, Zhang, Zhang, ICML 2022), Algorithm 1.

Training variables u (the solution) and hyper-training variables ω (a learned correction) are
updated jointly. Inner loop k = 1 … K (Algorithm 1, lines 5–7), H_ω = I, U = Rⁿ:

    v_l^k = 𝒯(u^{k−1})                               training map: one proximal-gradient step on
                                                     f + g (its fixed points minimise f + g)   (5)
    v_u^k = u^{k−1} − s ∂_u ℓ(u^{k−1}; ω)            hyper-training descent with
                                                     ℓ(u; ω) = ½‖u − N_ω(u)‖², N_ω(u) held fixed (6)
    u^k   = μ_k v_u^k + (1 − μ_k) v_l^k,   μ_k = μ α_k                                         (7)

with α_k = 1/(1 + k/K)² on the K trained layers and α_k = α_K 2^{−(k−K)} past them, from u⁰ = Aᵀy

and the outer update ω ← ω − γ ∂_ω L(u^K) (line 9) is back-propagation of the loss through the
K inner steps (μ ∈ (0, 1) and s ∈ (0, 1) are part of ω). The slides write a constant μ with
vanishing s_k; then the iteration past K is u + (1 − μ)(𝒯(u) − u), 𝒯 slowed down by (1 − μ).
We let the aggregation weight vanish instead (α_k → 0, summable; the aggregation schedule of the
same group's BDA, which BMO generalises): u^k − 𝒯(u^{k−1}) = μ_k (v_u^k − v_l^k) is then a
summable perturbation, so u^k converges to Fix(𝒯), the minimiser of f + g, whatever N_ω does,
and past K the iteration is 𝒯 itself — the "convergence on untrained layers" of the slides.
N_ω is trained on the first K steps only; a polynomial fade past K let its (untrained) output
accumulate in the directions that 𝒯 contracts slowly (the frequencies the blur removes), which
is why past K the weight halves at every step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...priors.base import soft_threshold
from ..unrolled_admm.net import Projector


def bmo_aggregation(mu: Tensor, k: int, trained_layers: int) -> Tensor:
    """μ_k = μ α_k: α_k = 1/(1 + k/K)² on the trained layers k ≤ K, then halved at every step."""
    if k <= trained_layers:
        return mu / (1.0 + k / trained_layers) ** 2
    return mu / 4.0 * 0.5 ** (k - trained_layers)


def bmo_update(u: Tensor, training_map, correction, mu_k: Tensor, s: Tensor) -> dict:
    """One BMO inner step (5)–(7); returns u^k, v_l, v_u and N_ω(u^{k−1})."""
    v_l = training_map(u)  # (5)
    target = correction(u)
    v_u = u - s * (u - target)  # (6): ∂_u ℓ = u − N_ω(u)
    return {"u": mu_k * v_u + (1.0 - mu_k) * v_l, "v_l": v_l, "v_u": v_u, "correction": target}  # (7)


class BMOScalars(nn.Module):
    """Learned aggregation μ = sigmoid(a) and hyper-training step s = sigmoid(b), K trained layers."""

    def __init__(self, layers: int, mu: float = 0.5, s0: float = 0.5):
        super().__init__()
        self.mu_logit = nn.Parameter(torch.logit(torch.tensor(mu)))
        self.s0_logit = nn.Parameter(torch.logit(torch.tensor(s0)))
        self.register_buffer("layers", torch.tensor(int(layers)))
        self.trained_layers = int(layers)  # Python copy: no host sync in the step loop

    @property
    def mu(self) -> Tensor:
        return torch.sigmoid(self.mu_logit)

    @property
    def step(self) -> Tensor:
        """s (the step of the hyper-training descent (6))."""
        return torch.sigmoid(self.s0_logit)

    def aggregation(self, k: int) -> Tensor:
        """μ_k (k = 1, 2, ...)."""
        return bmo_aggregation(self.mu, k, self.trained_layers)


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

        ``mode``: "bmo" (5)–(7); "learned" (N_ω alone, μ = 1 and s = 1: a plain unrolled net,
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
                u = bmo_update(u, lambda v: self.ista(v, y), correction, self.aggregation(k), self.step)["u"]
            out.append(u)
        return out


class BMODeconv(BMOScalars):
    """Image version: 𝒯 = proximal-gradient step on ½‖Au − y‖² + λ‖Wu‖₁ (orthonormal wavelets W),
    N_ω = a residual CNN (core.learned.unrolled_admm.net.Projector)."""

    def __init__(
        self,
        layers: int = 8,
        lam: float = 0.002,
        features: int = 16,
        conv_layers: int = 5,
        wavelet: str = "db4",
        levels: int = 3,
    ):
        super().__init__(layers)
        self.register_buffer("lam", torch.tensor(float(lam)))
        self.lam_value, self.wavelet, self.levels = float(lam), str(wavelet), int(levels)
        self.projector = Projector(features, conv_layers)

    def config(self) -> dict:
        """Constructor arguments (stored in the weights manifest)."""
        return {
            "layers": self.trained_layers,
            "lam": self.lam_value,
            "features": self.projector.convs[0].out_channels,
            "conv_layers": len(self.projector.convs),
            "wavelet": self.wavelet,
            "levels": self.levels,
        }

    def prior(self):
        """g = λ‖W·‖₁ (the registered ``l1_wavelet`` prior with this network's λ, wavelet, levels)."""
        from ...priors.sparse import L1Wavelet

        return L1Wavelet(self.lam_value, self.wavelet, self.levels)

    def training_map(self, operator, y: Tensor, lipschitz: float):
        """u ↦ prox_{g/L}(u − Aᵀ(Au − y)/L) on images (N, 1, H, W), operator acting on (N, H, W)."""
        prior = self.prior()

        def apply(u: Tensor) -> Tensor:
            grad = operator.adjoint(operator.forward(u[:, 0]) - y)[:, None]
            return prior.prox(u - grad / lipschitz, 1.0 / lipschitz)

        return apply

    def trajectory(self, u0: Tensor, operator, y: Tensor, lipschitz: float, iterations: int | None = None):
        """u¹ … u^iterations (default K) from u⁰ (N, 1, H, W)."""
        t_map = self.training_map(operator, y, lipschitz)
        u, out = u0, []
        for k in range(1, (self.trained_layers if iterations is None else iterations) + 1):
            u = bmo_update(u, t_map, self.projector, self.aggregation(k), self.step)["u"]
            out.append(u)
        return out

    def forward(self, u0: Tensor, operator, y: Tensor, lipschitz: float, iterations: int | None = None) -> Tensor:
        """u^K from u⁰ (N, 1, H, W)."""
        return self.trajectory(u0, operator, y, lipschitz, iterations)[-1]
