"""LISTA — learned ISTA for sparse coding (Gregor & LeCun, ICML 2010).

Sparse coding of a patch x ∈ Rⁿ over a dictionary D ∈ R^{n×m} (unit-norm columns) solves the lasso

    z* = argmin_z ½‖x − D z‖² + α‖z‖₁.                                              (1)

ISTA iterates z^{t+1} = S_{α/L}(z^t − (1/L) Dᵀ(D z^t − x)) with L ≥ ‖D‖₂², i.e.

    z^{t+1} = S_θ(W_e x + S z^t),   W_e = Dᵀ/L,  S = I − DᵀD/L,  θ = α/L.              (2)

LISTA keeps the form (2), unrolls it from z⁰ = 0 and learns W_e, S (shared by the layers, as in
the paper's recurrent encoder) and one threshold vector θ_t ∈ R^m per layer, minimising the
prediction error ½‖z* − f_e(x; W_e, S, θ)‖² against the lasso solutions (1).

Counting: the paper's fprop (Gregor & LeCun, Algorithm 3) is Z(0) = h_θ(W_e X), then T
iterations Z(t) = h_θ(W_e X + S Z(t−1)); its "LISTA, T iterations" has T + 1 shrinkage layers and
T = 0 is its baseline encoder h_α(W_e X). Here ``layers`` counts the shrinkage layers (the first
one sees S z⁰ = 0), so the paper's T iterations are ``layers = T + 1`` (:attr:`LISTA.iterations`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...priors.base import soft_threshold


def overcomplete_dct_dictionary(patch: int, atoms: int, dtype=torch.float64) -> Tensor:
    """Separable overcomplete 2-D DCT dictionary for ``patch``×``patch`` patches.

    Parameters
    ----------
    patch : int
        Patch side n₀ (signal length n = n₀²).
    atoms : int
        Number of atoms m; must be a perfect square k² with k ≥ n₀ (m = 100, 400 for 8×8).

    Returns
    -------
    Tensor
        D of shape (n₀², m): Kronecker product of the 1-D dictionary
        d_j[i] = cos(π i j / k) (mean removed for j > 0), columns normalised to unit length.
    """
    k = int(round(math.sqrt(atoms)))
    if k * k != atoms or k < patch:
        raise ValueError(f"atoms = {atoms} must be a perfect square k² with k ≥ patch = {patch}")
    i = torch.arange(patch, dtype=dtype)[:, None]
    j = torch.arange(k, dtype=dtype)[None, :]
    d1 = torch.cos(math.pi * i * j / k)
    d1[:, 1:] -= d1[:, 1:].mean(dim=0, keepdim=True)
    d1 = d1 / d1.norm(dim=0, keepdim=True)
    d2 = torch.kron(d1, d1)
    return d2 / d2.norm(dim=0, keepdim=True)


def lasso_lipschitz(dictionary: Tensor) -> Tensor:
    """L = 1.001·‖D‖₂² (0-d tensor), the ISTA step constant of (2)."""
    return 1.001 * torch.linalg.matrix_norm(dictionary, ord=2) ** 2


def lasso_objective(x: Tensor, z: Tensor, dictionary: Tensor, alpha: float) -> Tensor:
    """Per-row lasso value ½‖x − D z‖² + α‖z‖₁ for rows x (N, n) and codes z (N, m)."""
    return 0.5 * ((x - z @ dictionary.T) ** 2).sum(-1) + alpha * z.abs().sum(-1)


def fista_codes(
    x: Tensor, dictionary: Tensor, alpha: float, iterations: int, target: Tensor | None = None
) -> tuple[Tensor, Tensor | None]:
    """FISTA on the lasso (1) for a batch of patches (rows of ``x``), from z = 0.

    Parameters
    ----------
    x : Tensor
        Patches, shape (N, n).
    dictionary : Tensor
        D, shape (n, m).
    alpha : float
        Lasso weight α.
    iterations : int
        Number of FISTA iterations.
    target : Tensor, optional
        Reference codes z* (N, m); when given, the mean prediction error
        ½‖z* − z_k‖² after every iteration k is returned as well.

    Returns
    -------
    codes : Tensor
        z after ``iterations`` iterations, shape (N, m).
    errors : Tensor or None
        Shape (iterations,), errors[k−1] = mean_n ½‖z*_n − z_{k,n}‖².
    """
    lip = lasso_lipschitz(dictionary)
    z = x.new_zeros(x.shape[0], dictionary.shape[1])
    v, t = z, 1.0
    errors = []
    for _ in range(iterations):
        # proximal gradient step; Dᵀ(D v − x) as two products (cheaper than the m×m Gram for m > n/2)
        z_next = soft_threshold(v - (v @ dictionary.T - x) @ dictionary / lip, alpha / lip)
        t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0  # FISTA momentum
        v = z_next + ((t - 1.0) / t_next) * (z_next - z)
        z, t = z_next, t_next
        if target is not None:
            errors.append(0.5 * ((target - z) ** 2).sum(-1).mean())
    return z, (torch.stack(errors) if target is not None else None)


class LISTA(nn.Module):
    """LISTA encoder with tied (W_e, S) and one threshold vector per layer.

    Parameters
    ----------
    dictionary : Tensor
        D (n, m), stored as a buffer (it defines the decoder x ≈ D z).
    alpha : float
        Lasso weight α used to compute the training targets; initial θ = α/L.
    layers : int
        Number of shrinkage layers (the paper's T iterations + 1).
    patch_scale : float
        Patches are multiplied by this factor before coding (training-data normalisation).

    Notes
    -----
    With the initial parameters each layer is exactly one ISTA step (2) on the lasso (1).
    """

    def __init__(self, dictionary: Tensor, alpha: float, layers: int, patch_scale: float = 1.0):
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be ≥ 1, got {layers}")
        dictionary = dictionary.to(torch.get_default_dtype())
        n, m = dictionary.shape
        lip = lasso_lipschitz(dictionary)
        self.register_buffer("dictionary", dictionary.clone())
        self.register_buffer("alpha", torch.tensor(float(alpha)))
        self.register_buffer("patch_scale", torch.tensor(float(patch_scale)))
        self.encoder = nn.Parameter(dictionary.T / lip)  # W_e
        self.mutual_inhibition = nn.Parameter(torch.eye(m) - dictionary.T @ dictionary / lip)  # S
        self.thresholds = nn.Parameter(torch.full((layers, m), float(alpha) / float(lip)))  # θ_t

    @classmethod
    def from_state_dict(cls, state: dict) -> LISTA:
        """Build a LISTA whose shapes match ``state`` and load it."""
        net = cls(state["dictionary"], float(state["alpha"]), state["thresholds"].shape[0], float(state["patch_scale"]))
        net.load_state_dict(state)
        return net

    @property
    def layers(self) -> int:
        """Number of trained shrinkage layers."""
        return self.thresholds.shape[0]

    @property
    def iterations(self) -> int:
        """The paper's count T of LISTA iterations (applications of S): ``layers − 1``."""
        return self.layers - 1

    def threshold(self, t: int) -> Tensor:
        """θ of layer t (0-based); beyond the trained layers the last one is repeated."""
        return self.thresholds[min(t, self.layers - 1)]

    def layer(self, z: Tensor, drive: Tensor, t: int) -> Tensor:
        """One layer (2): z ↦ S_θt(W_e x + S z), with ``drive`` = W_e x precomputed."""
        return soft_threshold(drive + z @ self.mutual_inhibition.T, self.threshold(t))

    def drive(self, x: Tensor) -> Tensor:
        """W_e x for patches x (N, n) (already scaled)."""
        return x @ self.encoder.T

    def forward(self, x: Tensor, layers: int | None = None) -> Tensor:
        """Codes f_e(x) after ``layers`` (default T) layers from z⁰ = 0; x (N, n) already scaled."""
        drive = self.drive(x)
        z = x.new_zeros(x.shape[0], self.dictionary.shape[1])
        for t in range(self.layers if layers is None else layers):
            z = self.layer(z, drive, t)
        return z


def image_patches(image: Tensor, patch: int, stride: int) -> tuple[Tensor, Tensor, tuple]:
    """Overlapping patches of a (C, H, W) image, mean removed.

    Returns
    -------
    centred : Tensor
        (P, patch²) patches with their means removed.
    means : Tensor
        (P, 1) patch means.
    layout : tuple
        What :func:`assemble_patches` needs (padded size, padding, channels).
    """
    if image.dim() != 3:
        raise ValueError(f"image must be (C, H, W), got shape {tuple(image.shape)}")
    c, h, w = image.shape
    pad_h = (-(max(h, patch) - patch)) % stride + max(0, patch - h)
    pad_w = (-(max(w, patch) - patch)) % stride + max(0, patch - w)
    padded = F.pad(image[:, None], (0, pad_w, 0, pad_h), mode="replicate")
    cols = F.unfold(padded, patch, stride=stride)  # (C, patch², P_c)
    rows = cols.transpose(1, 2).reshape(-1, patch * patch)
    means = rows.mean(dim=1, keepdim=True)
    return rows - means, means, (c, h, w, padded.shape[-2:], patch, stride)


def assemble_patches(rows: Tensor, layout: tuple) -> Tensor:
    """Average overlapping patches (P, patch²) back into a (C, H, W) image."""
    c, h, w, size, patch, stride = layout
    cols = rows.reshape(c, -1, patch * patch).transpose(1, 2)
    total = F.fold(cols, size, patch, stride=stride)
    count = F.fold(torch.ones_like(cols), size, patch, stride=stride)
    return (total / count)[:, 0, :h, :w]
