"""ISTA-Net⁺ (Zhang & Ghanem, CVPR 2018) for block compressive sensing.

Initialisation (paper §4.1): x⁰ = Q_init y per 33×33 block, with the linear least-squares map
from training pairs (X: blocks as columns, Y = Φ X):

    Q_init = arg min_Q ‖Q Y − X‖²_F = X Yᵀ (Y Yᵀ)⁻¹                             (§4.1)

Phase k (k = 1 … N_p, each with its own parameters):

    r^k = x^{k−1} − ρ_k Φᵀ(Φ x^{k−1} − y)                                   (ISTA-Net eq. 4)
    x^k = r^k + G(H̃(S_θk(H(D r^k))))                                        (ISTA-Net⁺ eq. 12)

D: 3×3 conv 1→F; H, H̃: conv–ReLU–conv (F→F); G: 3×3 conv F→1; all bias-free, Xavier-normal
initialised; ρ_k = 0.5 and θ_k = 0.01 initially. ρ_k and θ_k are kept positive by the
parametrisation ρ = softplus(ρ̃), θ = softplus(θ̃) (so the shrinkage never expands). The symmetry
constraint H̃∘H ≈ I is enforced by the loss term ‖H̃(H(D r^k)) − D r^k‖² (eq. 13).

The sampling matrix Φ the network was trained for and its Q_init are buffers of the network (saved
in the same state dict as the weights). The gradient step is given as a callable
``gradient(x) = Aᵀ(Ax − y)``, so the same network runs on training crops and on whole
block-sampled images.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...priors.base import soft_threshold
from ..weights import WeightsError


def _conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    nn.init.xavier_normal_(conv.weight)
    return conv


def _softplus_inverse(value: float) -> float:
    return math.log(math.expm1(value))


def block_gram(blocks: Tensor) -> Tensor:
    """X Xᵀ (float64) for training blocks given as rows, shape (N, n) (X has them as columns)."""
    blocks = blocks.to(torch.float64)
    return blocks.T @ blocks


def least_squares_init(gram: Tensor, phi: Tensor) -> Tensor:
    """Q_init = X Yᵀ (Y Yᵀ)⁻¹ with Y = Φ X, from the Gram matrix X Xᵀ (§4.1).

    Parameters
    ----------
    gram : Tensor
        (n, n) X Xᵀ of the training blocks (:func:`block_gram`).
    phi : Tensor
        (m, n) sampling matrix.

    Returns
    -------
    Tensor
        (n, m) float64: X Yᵀ = X Xᵀ Φᵀ, Y Yᵀ = Φ X Xᵀ Φᵀ.
    """
    gram, phi = gram.to(torch.float64), phi.to(torch.float64)
    xy = gram @ phi.T  # X Yᵀ
    yy = phi @ xy  # Y Yᵀ
    return torch.linalg.solve(yy, xy.T).T  # X Yᵀ (Y Yᵀ)⁻¹ (Y Yᵀ symmetric)


class ISTANetPlusPhase(nn.Module):
    """One phase: learned step ρ, threshold θ (both > 0) and transforms D, H, H̃, G."""

    def __init__(self, features: int = 32):
        super().__init__()
        self.step_raw = nn.Parameter(torch.tensor(_softplus_inverse(0.5)))  # ρ_k = softplus(ρ̃_k)
        self.threshold_raw = nn.Parameter(torch.tensor(_softplus_inverse(0.01)))  # θ_k = softplus(θ̃_k)
        self.head = _conv(1, features)  # D
        self.forward_transform = nn.Sequential(_conv(features, features), nn.ReLU(), _conv(features, features))  # H
        self.backward_transform = nn.Sequential(_conv(features, features), nn.ReLU(), _conv(features, features))  # H̃
        self.tail = _conv(features, 1)  # G

    @property
    def step(self) -> Tensor:
        """ρ_k > 0."""
        return F.softplus(self.step_raw)

    @property
    def threshold(self) -> Tensor:
        """θ_k > 0."""
        return F.softplus(self.threshold_raw)

    def forward(self, x: Tensor, gradient: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Return (x^k, r^k, symmetry residual H̃(H(D r)) − D r) for x^{k−1} of shape (N, 1, H, W)."""
        r = x - self.step * gradient(x)  # (4)
        features = self.head(r)
        coded = self.forward_transform(features)
        out = r + self.tail(self.backward_transform(soft_threshold(coded, self.threshold)))  # (12)
        symmetry = self.backward_transform(coded) - features  # (13)
        return out, r, symmetry


class ISTANetPlus(nn.Module):
    """ISTA-Net⁺ with ``phases`` untied phases of ``features`` channels.

    Parameters
    ----------
    phases, features : int
    phi : Tensor, optional
        (m, B²) sampling matrix the network is trained for (buffer ``phi``).
    q_init : Tensor, optional
        (B², m) least-squares initialisation for ``phi`` (buffer ``q_init``).
    """

    def __init__(self, phases: int = 9, features: int = 32, phi: Tensor | None = None, q_init: Tensor | None = None):
        super().__init__()
        self.phases = nn.ModuleList(ISTANetPlusPhase(features) for _ in range(phases))
        if (phi is None) != (q_init is None):
            raise ValueError("ISTANetPlus: give both phi and q_init, or neither")
        if phi is not None:
            if q_init.shape != (phi.shape[1], phi.shape[0]):
                raise ValueError(f"ISTANetPlus: q_init has shape {tuple(q_init.shape)}, Φ {tuple(phi.shape)}")
            self.register_buffer("phi", phi.detach().to(torch.float32).clone())
            self.register_buffer("q_init", q_init.detach().to(torch.float32).clone())
        else:
            self.phi = self.q_init = None

    @classmethod
    def from_state_dict(cls, state: dict) -> ISTANetPlus:
        """Build a network whose sizes (and Φ, Q_init when saved) match ``state`` and load it."""
        try:
            phases = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("phases."))
            net = cls(phases, state["phases.0.head.weight"].shape[0], state.get("phi"), state.get("q_init"))
            net.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise WeightsError(f"ISTA-Net⁺ weights do not fit ISTANetPlus (retrain them): {reason}") from None
        return net

    @property
    def n_phases(self) -> int:
        return len(self.phases)

    @property
    def features(self) -> int:
        return self.phases[0].head.weight.shape[0]

    def samples_like(self, operator) -> bool:
        """True when ``operator`` is block CS with this network's Φ (so x⁰ = Q_init y applies)."""
        phi = getattr(operator, "phi", None)
        if self.phi is None or phi is None or tuple(phi.shape) != tuple(self.phi.shape):
            return False
        return bool((phi.detach().to("cpu", torch.float64) - self.phi.to("cpu", torch.float64)).abs().max() < 1e-5)

    def initial(self, operator, y: Tensor) -> Tensor:
        """x⁰ = Q_init y block by block, shape (..., H, W) for ``y`` of shape (..., nH, nW, m)."""
        return operator.from_blocks(y @ self.q_init.to(y).T)

    def forward(self, x0: Tensor, gradient: Callable[[Tensor], Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Run all phases from x⁰ (N, 1, H, W); return x^{N_p} and the symmetry residuals."""
        x, residuals = x0, []
        for phase in self.phases:
            x, _, sym = phase(x, gradient)
            residuals.append(sym)
        return x, residuals


def data_gradient(operator, y: Tensor) -> Callable[[Tensor], Tensor]:
    """x ↦ Aᵀ(Ax − y) for images x of shape (N, 1, H, W) (channels as the batch): the gradient
    step of every phase, on training blocks and on whole images alike."""
    return lambda x: operator.adjoint(operator.forward(x[:, 0]) - y)[:, None]


def symmetric_loss(output: Tensor, target: Tensor, residuals: list[Tensor], gamma: float = 0.01) -> Tensor:
    """mean‖x^{N_p} − x‖² + γ Σ_k mean‖H̃(H(D r^k)) − D r^k‖² (ISTA-Net eq. 14–15)."""
    loss = F.mse_loss(output, target)
    for sym in residuals:
        loss = loss + gamma * (sym**2).mean()
    return loss
