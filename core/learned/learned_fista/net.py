"""Learned FISTA: FISTA unfolded into K stages whose step, threshold and momentum are learned.

The model is the wavelet-ℓ1 problem min_x ½‖Ax − y‖² + λ‖Wx‖₁ (W an orthonormal wavelet). FISTA
(Beck & Teboulle 2009, (4.1)–(4.3)) runs x^k = prox_{γλ‖W·‖₁}(z^k − γAᵀ(Az^k − y)) with
z^k = x^{k−1} + ((t_{k−1} − 1)/t_k)(x^{k−1} − x^{k−2}) and one step γ = 1/L, L = ‖A‖₂². Stage k
(k = 1 … K) of the unfolded network keeps every operation and unties the three scalars:

    z^k = x^{k−1} + β_k (x^{k−1} − x^{k−2}),         x^{−1} = x⁰                   (1)
    r^k = z^k − γ_k Aᵀ(A z^k − y),                    γ_k = s_k / L                 (2)
    x^k = Wᵀ S_θk(W r^k)                                                            (3)

with s_k = 2·σ(a_k) ∈ (0, 2) (a forward-backward step stays stable for γ < 2/L), θ_k = exp(q_k) > 0
and β_k free; (a_k, q_k, β_k) are the only learned parameters (3K numbers; β_1 multiplies
x⁰ − x⁰ = 0 and is never used). A, Aᵀ and y enter every stage, so the network applies to every
degradation; it is trained per degradation.

Where the idea comes from: Gregor & LeCun (ICML 2010) unfold ISTA and learn its matrices (LISTA);
Liu, Chen, Wang & Yin (ALISTA, ICLR 2019) show that for a known A the matrices can be fixed
analytically and only the per-layer step sizes and thresholds need learning; FISTA-Net
(Xiang, Dong & Yang, IEEE TMI 2021) adds a learned per-stage momentum to unfolded FISTA under
softplus constraints. This network is that scalar-only end of the family with the transform fixed
to the project's orthonormal wavelet (FISTA-Net learns a convolutional transform instead, ALISTA
works on synthesis codes, not an analysis wavelet prior); it is the model-driven recipe of
Xu & Sun (Natl. Sci. Rev. 2018): model → algorithm → unfold → learn its parameters.

With a_k = 0 (s_k = 1), β_k = (t_{k−1} − 1)/t_k from FISTA's t-sequence (t_1 = 1,
t_{k+1} = (1 + √(1 + 4t_k²))/2) and θ_k = λ/L the stages are FISTA's iterations exactly
(:meth:`LearnedFISTA.from_fista`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ...wavelets import WAVELETS


def fista_momenta(stages: int) -> list[float]:
    """β_k = (t_{k−1} − 1)/t_k for k = 1 … K (β_1 = 0, unused), FISTA's (4.2)–(4.3)."""
    t_prev, t, momenta = 1.0, 1.0, [0.0]
    for _ in range(stages - 1):
        t_prev, t = t, (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momenta.append((t_prev - 1.0) / t)
    return momenta


class LearnedFISTA(nn.Module):
    """K unfolded FISTA stages with learned (s_k, θ_k, β_k) on a fixed orthonormal wavelet ℓ1 prior.

    Parameters
    ----------
    stages : int
        Number K of stages.
    wavelet : str
        Orthonormal wavelet of the prior (one of :data:`core.wavelets.WAVELETS`).
    levels : int
        Wavelet decomposition levels.
    threshold : float
        Initial θ_k (all stages), e.g. λ/L.
    dtype : torch.dtype, optional
        Dtype of the parameters (default: torch's default dtype); float64 makes
        :meth:`from_fista` agree with FISTA to rounding in float64.

    Notes
    -----
    Initial parameters: s_k = 1, β_k from FISTA's t-sequence, θ_k = ``threshold``: FISTA with
    λ = ``threshold``·L.
    """

    def __init__(self, stages: int = 10, wavelet: str = "db4", levels: int = 3, threshold: float = 1e-3, dtype=None):
        super().__init__()
        if stages < 1:
            raise ValueError(f"stages must be ≥ 1, got {stages}")
        if wavelet not in WAVELETS:
            raise ValueError(f"wavelet {wavelet!r} is not an orthonormal wavelet; choose one of {WAVELETS}")
        if not threshold > 0.0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        self.step_logit = nn.Parameter(torch.zeros(stages, dtype=dtype))  # a_k: s_k = 2σ(a_k)
        self.log_threshold = nn.Parameter(torch.full((stages,), math.log(threshold), dtype=dtype))  # θ_k = exp(q_k)
        self.momentum = nn.Parameter(torch.tensor(fista_momenta(stages), dtype=dtype))  # β_k
        self.register_buffer("wavelet_index", torch.tensor(WAVELETS.index(wavelet)))
        self.register_buffer("levels", torch.tensor(int(levels)))

    @classmethod
    def from_state_dict(cls, state: dict) -> LearnedFISTA:
        """Build a network whose sizes and wavelet match ``state`` and load it."""
        index = int(state["wavelet_index"])
        if not 0 <= index < len(WAVELETS):
            raise ValueError(f"learned FISTA weights: wavelet_index {index} is not in [0, {len(WAVELETS)})")
        net = cls(state["step_logit"].shape[0], WAVELETS[index], int(state["levels"]))
        net.load_state_dict(state)
        return net

    @classmethod
    def from_fista(
        cls, stages: int, lam: float, lipschitz: float, wavelet: str = "db4", levels: int = 3, dtype=None
    ) -> LearnedFISTA:
        """The untrained network equal to ``stages`` FISTA iterations with step 1/L and weight λ."""
        return cls(stages, wavelet, levels, threshold=lam / lipschitz, dtype=dtype)

    @property
    def stages(self) -> int:
        """Number K of stages."""
        return self.step_logit.shape[0]

    @property
    def wavelet(self) -> str:
        """Name of the prior's wavelet W."""
        return WAVELETS[int(self.wavelet_index)]

    def scalars(self, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """(s_k, θ_k, β_k) of stage k (0-based), as 0-d tensors."""
        return 2.0 * torch.sigmoid(self.step_logit[k]), torch.exp(self.log_threshold[k]), self.momentum[k]

    def stage(
        self,
        k: int,
        x: Tensor,
        x_prev: Tensor,
        gradient: Callable[[Tensor], Tensor],
        shrink: Callable[[Tensor, Tensor], Tensor],
        lipschitz: float,
    ) -> dict:
        """Stage k (0-based) from (x^{k−1}, x^{k−2}).

        Parameters
        ----------
        gradient : callable
            v ↦ Aᵀ(Av − y).
        shrink : callable
            (v, θ) ↦ Wᵀ S_θ(W v), the proximal map of θ‖W·‖₁.
        lipschitz : float
            L = ‖A‖₂².

        Returns
        -------
        dict
            ``x`` (x^k), ``z`` (z^k), ``r`` (r^k) and the scalars ``step`` (γ_k), ``scale``
            (s_k), ``threshold`` (θ_k), ``momentum`` (β_k).
        """
        scale, threshold, momentum = self.scalars(k)
        z = x + momentum * (x - x_prev)  # (1)
        step = scale / lipschitz
        r = z - step * gradient(z)  # (2)
        return {
            "x": shrink(r, threshold),  # (3)
            "z": z,
            "r": r,
            "step": step,
            "scale": scale,
            "threshold": threshold,
            "momentum": momentum,
        }

    def forward(self, x0: Tensor, gradient, shrink, lipschitz: float) -> Tensor:
        """x^K after the K stages from x⁰."""
        x_prev = x = x0
        for k in range(self.stages):
            x, x_prev = self.stage(k, x, x_prev, gradient, shrink, lipschitz)["x"], x
        return x


def wavelet_shrink(wavelet: str, levels: int, operator) -> Callable[[Tensor, Tensor], Tensor]:
    """(v, θ) ↦ prox of θ‖W·‖₁ on the unknown, through the registered ``l1_wavelet`` prior.

    The prior acts on images: the unknown is mapped by ``operator.to_image`` and back by
    ``from_image`` (identity except sparse-coding SR, whose orthonormal change of variables keeps
    the proximal map exact).
    """
    from ...registry import PRIORS

    entry = PRIORS.get_entry("l1_wavelet")
    prior = entry.factory(entry.resolve({"lam": 1.0, "wavelet": wavelet, "levels": int(levels)}))

    def shrink(v: Tensor, threshold: Tensor) -> Tensor:
        return operator.from_image(prior.prox(operator.to_image(v), threshold))

    return shrink
