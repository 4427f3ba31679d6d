"""Sparsity priors: none, ℓ1 on pixels, ℓ1 on orthonormal wavelet coefficients, ℓp (0 < p ≤ 1).

All transforms T used here are orthonormal (identity or periodised Haar/db4, see
:mod:`core.wavelets`), so for g(x) = r(T x) the proximal map is exact:
prox_{s·g}(v) = Tᵀ prox_{s·r}(T v).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..params import Param
from ..registry import PRIORS
from ..wavelets import WAVELETS, max_levels, wavedec, waverec
from .base import L1Pixel, Prior, Zero, soft_threshold


def lam_param(default: float, what: str) -> Param:
    """The weight λ shared by every non-indicator prior."""
    return Param(
        "lam", default, low=0.0, high=1e4, log=True, help=f"regularisation weight λ of {what}", math="g(x) = λ·r(x)"
    )


def as_scalar(value, like: Tensor) -> Tensor:
    """``value`` (float or tensor) as a tensor on ``like``'s device and dtype (no host sync)."""
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


class OrthonormalTransform:
    """T = identity or an orthonormal periodised 2-D wavelet transform with ``levels`` levels.

    The number of levels is reduced automatically to what the image size allows
    (H and W divisible by 2**levels); an odd side with a wavelet raises ``ValueError``.
    """

    def __init__(self, wavelet: str = "none", levels: int = 3, owner: str = "prior"):
        self.wavelet = wavelet
        self.levels = int(levels)
        self.owner = owner

    def _levels_for(self, x: Tensor) -> int:
        usable = max_levels(x.shape[-2], x.shape[-1])
        if usable == 0:
            raise ValueError(
                f"{self.owner}: wavelet '{self.wavelet}' needs an even image size, got {x.shape[-2]}x{x.shape[-1]}"
            )
        return min(self.levels, usable)

    def forward(self, x: Tensor) -> Tensor:
        """T x."""
        if self.wavelet == "none":
            return x
        return wavedec(x, self.wavelet, self._levels_for(x))

    def adjoint(self, c: Tensor) -> Tensor:
        """Tᵀ c (= T⁻¹ c)."""
        if self.wavelet == "none":
            return c
        return waverec(c, self.wavelet, self._levels_for(c))


PRIORS.register("none", title="None (least squares)", doc="no regulariser (g ≡ 0): plain least squares")(
    lambda params: Zero()
)
PRIORS.register(
    "l1",
    title="ℓ1 on pixels",
    params=[lam_param(0.01, "the pixel ℓ1 norm")],
    doc="λ‖x‖₁ on pixels; prox = soft threshold",
)(lambda params: L1Pixel(params["lam"]))

WAVELET_CHOICE = WAVELETS
LEVELS_PARAM = Param(
    "levels",
    3,
    kind="int",
    low=1,
    high=8,
    help="wavelet decomposition levels (reduced if the image size does not allow)",
)


@PRIORS.register(
    "l1_wavelet",
    title="ℓ1 on wavelet coefficients",
    params=[
        lam_param(0.01, "the wavelet ℓ1 norm"),
        Param("wavelet", "db4", kind="choice", choices=WAVELET_CHOICE, help="orthonormal periodised wavelet W"),
        LEVELS_PARAM,
    ],
    doc="λ‖Wx‖₁ on orthonormal wavelet coefficients; prox = Wᵀ S_{λs}(Wv)",
)
class L1Wavelet(Prior):
    """g(x) = λ‖W x‖₁ with W an orthonormal wavelet transform.

    prox_{s·g}(v) = Wᵀ S_{λs}(W v) (exact since W is orthonormal). The approximation
    coefficients are thresholded as well (g is exactly λ‖Wx‖₁).
    """

    name = "l1_wavelet"

    def __init__(self, lam: float, wavelet: str, levels: int):
        super().__init__(lam)
        self.transform = OrthonormalTransform(wavelet, levels, owner="prior 'l1_wavelet'")

    def value(self, x: Tensor) -> Tensor:
        return self.lam * self.transform.forward(x).abs().sum()

    def _shrunk(self, v: Tensor, step) -> Tensor:
        return soft_threshold(self.transform.forward(v), self.lam * as_scalar(step, v))

    def prox(self, v: Tensor, step) -> Tensor:
        return self.transform.adjoint(self._shrunk(v, step))

    def prox_with_value(self, v: Tensor, step) -> tuple[Tensor, Tensor]:
        """x = Wᵀ S_{λs}(W v) and g(x) = λ‖S_{λs}(W v)‖₁ (W x = S_{λs}(W v) as W Wᵀ = I)."""
        shrunk = self._shrunk(v, step)
        return self.transform.adjoint(shrunk), self.lam * shrunk.abs().sum()


def gisa_threshold(weight: Tensor, p: float) -> Tensor:
    """GISA threshold τ_p(w) for min_t w|t|^p + ½(t − v)² (Zuo et al. 2013, GST threshold).

    τ = (2w(1−p))^{1/(2−p)} + w·p·(2w(1−p))^{(p−1)/(2−p)}; |v| ≤ τ gives t = 0.
    ``weight`` must be positive (callers clamp it).
    """
    t_star = (2.0 * weight * (1.0 - p)) ** (1.0 / (2.0 - p))
    if p == 1.0:
        return weight  # soft threshold
    return t_star + weight * p * t_star ** (p - 1.0)


def gisa_shrink(v: Tensor, weight, p: float, iters: int) -> Tensor:
    """Generalized iterated shrinkage: approximate argmin_t w|t|^p + ½(t − v)², elementwise.

    For |v| > τ_p(w) iterate t ← |v| − w·p·t^{p−1} ``iters`` times from t = |v| (Zuo et al. 2013,
    Algorithm 1); the fixed-point map is a contraction with rate ≤ p/2 near the non-zero
    minimiser. Otherwise t = 0. Output sign(v)·t.

    Parameters
    ----------
    v : Tensor
    weight : float or 0-d Tensor
        w = λ·step ≥ 0.
    p : float
        Exponent in (0, 1].
    iters : int
        Fixed-point iterations J.
    """
    tiny = torch.finfo(v.dtype).tiny
    w = as_scalar(weight, v).clamp_min(tiny)
    tau = gisa_threshold(w, p).clamp_min(tiny)
    magnitude = v.abs()
    keep = magnitude > tau
    # Masked-out entries iterate from max(|v|, τ), where the iteration stays positive (finite).
    base = torch.maximum(magnitude, tau)
    t = base
    for _ in range(int(iters)):
        t = base - w * p * t ** (p - 1.0)
    return torch.where(keep, torch.sign(v) * t, torch.zeros_like(v))


@PRIORS.register(
    "lp",
    title="ℓp quasi-norm (p < 1)",
    params=[
        lam_param(0.01, "the ℓp quasi-norm"),
        Param(
            "p",
            0.8,
            low=0.05,
            high=1.0,
            help="exponent p of the ℓp quasi-norm (p < 1: non-convex)",
            math="g(x) = λ Σ|(Tx)_i|^p",
        ),
        Param(
            "gisa_iters",
            2,
            kind="int",
            low=1,
            high=100,
            help="GISA fixed-point steps J per prox",
            math="t ← |v| − λ·s·p·t^(p−1)",
        ),
        Param(
            "transform",
            "none",
            kind="choice",
            choices=("none",) + WAVELET_CHOICE,
            help="sparsifying transform T (orthonormal wavelet with 3 levels, or pixels)",
        ),
    ],
    doc="λ Σ|(Tx)_i|^p, 0<p≤1, prox by generalized iterated shrinkage (GISA)",
)
class LpGISA(Prior):
    """g(x) = λ Σ_i |(T x)_i|^p, 0 < p ≤ 1, T identity or an orthonormal wavelet transform.

    prox_{s·g}(v) = Tᵀ GISA_{λs,p}(T v) with J = ``gisa_iters`` fixed-point steps.
    Non-convex for p < 1.
    """

    name = "lp"
    convex = False

    def __init__(self, lam: float, p: float, gisa_iters: int, transform: str, levels: int = 3):
        super().__init__(lam)
        if not 0.0 < p <= 1.0:
            raise ValueError(f"prior 'lp': parameter 'p' must lie in (0, 1], got {p}")
        self.p = float(p)
        self.gisa_iters = int(gisa_iters)
        self.convex = self.p == 1.0
        self.transform = OrthonormalTransform(transform, levels, owner="prior 'lp'")

    def value(self, x: Tensor) -> Tensor:
        return self.lam * (self.transform.forward(x).abs() ** self.p).sum()

    def _shrunk(self, v: Tensor, step) -> Tensor:
        return gisa_shrink(self.transform.forward(v), self.lam * as_scalar(step, v), self.p, self.gisa_iters)

    def prox(self, v: Tensor, step) -> Tensor:
        return self.transform.adjoint(self._shrunk(v, step))

    def prox_with_value(self, v: Tensor, step) -> tuple[Tensor, Tensor]:
        """x = Tᵀ GISA(T v) and g(x) = λ Σ|GISA(T v)|^p (T x = GISA(T v) as T Tᵀ = I)."""
        shrunk = self._shrunk(v, step)
        return self.transform.adjoint(shrunk), self.lam * (shrunk.abs() ** self.p).sum()
