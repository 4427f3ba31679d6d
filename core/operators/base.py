"""Forward-model base class and the generic linear-algebra helpers every operator uses.

Conventions
-----------
* An unknown ``x`` is a real tensor of shape ``image_shape`` = (C, H, W); operators broadcast
  over any extra leading (batch) dimensions, so learned solvers can train on (N, C, H, W).
* Observations ``y`` may be real or complex (MRI). Inner products are real: ⟨a, b⟩ = Re Σ conj(a)·b,
  so the adjoint satisfies ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ exactly (tests check it in float64).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def inner(a: Tensor, b: Tensor) -> Tensor:
    """Real inner product Re Σ conj(a)·b over all elements, as a 0-d tensor."""
    if a.is_complex() or b.is_complex():
        return torch.sum(torch.conj(a) * b).real
    return torch.sum(a * b)


def conjugate_gradient(
    apply: Callable[[Tensor], Tensor],
    b: Tensor,
    x0: Tensor | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    check_every: int = 10,
) -> Tensor:
    """Solve ``apply(x) = b`` for a symmetric positive-definite linear map by conjugate gradient.

    Parameters
    ----------
    apply : callable
        The SPD map, e.g. ``lambda z: A.adjoint(A.forward(z)) + rho * z``.
    b : Tensor
        Right-hand side.
    x0 : Tensor, optional
        Warm start (zeros if omitted).
    max_iter : int
        Maximum CG iterations.
    tol : float
        Stop when ‖r‖ ≤ tol·‖b‖; checked every ``check_every`` iterations to limit host syncs.

    Returns
    -------
    Tensor
        The approximate solution.
    """
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - apply(x) if x0 is not None else b.clone()
    p = r.clone()
    rs = inner(r, r)
    b_norm2 = inner(b, b)
    for i in range(max_iter):
        ap = apply(p)
        alpha = rs / inner(p, ap).clamp_min(torch.finfo(b.dtype).tiny)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = inner(r, r)
        if (i + 1) % check_every == 0 and bool(rs_new <= (tol * tol) * b_norm2):
            break
        p = r + (rs_new / rs.clamp_min(torch.finfo(b.dtype).tiny)) * p
        rs = rs_new
    return x


class Operator:
    """A linear forward model A with its exact adjoint.

    Subclasses implement :meth:`forward` and :meth:`adjoint`; they override
    :meth:`normal_solve` when (AᵀA + ρI) has a closed-form inverse, and
    :meth:`initial_estimate` / :meth:`observation_image` when Aᵀy is not the natural choice.

    Attributes
    ----------
    name : str
        Registry name of the degradation (what a solver may ask to know which model it has).
    image_shape : tuple of int
        Shape (C, H, W) of the unknown.
    """

    name: str = "operator"

    def __init__(self, image_shape: tuple[int, ...]):
        self.image_shape = tuple(int(s) for s in image_shape)
        self._lipschitz: float | None = None

    # --- the model ---------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """A x."""
        raise NotImplementedError

    def adjoint(self, y: Tensor) -> Tensor:
        """Aᵀ y (exact adjoint, real-valued result in image space)."""
        raise NotImplementedError

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        """Solve (AᵀA + ρI) z = b. Default: conjugate gradient (subclasses give closed forms)."""
        return conjugate_gradient(lambda z: self.adjoint(self.forward(z)) + rho * z, b, x0, max_iter=200, tol=1e-7)

    def residual_norm_sq(self, x: Tensor, y: Tensor) -> Tensor:
        """‖A x − y‖² as a 0-d tensor (operators diagonal in a transform override it)."""
        r = self.forward(x) - y
        return (r.abs() ** 2 if r.is_complex() else r * r).sum()

    def initial_estimate(self, y: Tensor) -> Tensor:
        """A sensible x⁰ from the observation (default Aᵀy)."""
        return self.adjoint(y)

    def observation_image(self, y: Tensor) -> Tensor:
        """An image-space picture of y for display (SR: upsampled; CS/MRI: Φᵀy / zero-filled)."""
        return self.to_image(self.initial_estimate(y))

    def to_image(self, z: Tensor) -> Tensor:
        """Map the unknown to an image (identity; sparse-coding SR: α ↦ W⁻¹α)."""
        return z

    def from_image(self, x: Tensor) -> Tensor:
        """Map an image to the unknown (identity; sparse-coding SR: x ↦ Wx)."""
        return x

    # --- derived quantities ------------------------------------------------------------
    def lipschitz(self, n_iter: int = 50, seed: int = 0) -> float:
        """‖A‖₂² (Lipschitz constant of ∇½‖Ax − y‖²), by power iteration, cached."""
        if self._lipschitz is None:
            g = torch.Generator().manual_seed(seed)
            x = torch.randn(self.image_shape, generator=g, dtype=torch.float64)
            x = x.to(**self.tensor_options())
            x = x / x.norm()
            val = 0.0
            for _ in range(n_iter):
                z = self.adjoint(self.forward(x))
                val = float(z.norm())
                if val == 0.0:
                    break
                x = z / val
            self._lipschitz = val * 1.0001
        return self._lipschitz

    @property
    def sampling_ratio(self) -> float | None:
        """Fraction of measurements per unknown (CS: m/B², MRI: sampled k-space fraction); None
        when the notion does not apply."""
        return None

    def tensor_options(self) -> dict:
        """``{"device": ..., "dtype": ...}`` the operator works in, for building probe tensors that
        match it: where :meth:`to` last put it, else its internal tensors' (float64 CPU if it
        has none)."""
        placement = vars(self).get("_placement")
        if placement is not None:
            return dict(placement)
        for value in vars(self).values():
            if isinstance(value, Tensor) and value.is_floating_point():
                return {"device": value.device, "dtype": value.dtype}
        return {"device": torch.device("cpu"), "dtype": torch.float64}

    def to(self, device=None, dtype=None) -> Operator:
        """Move every tensor attribute to ``device``/``dtype`` in place (complex kept complex)."""
        current = self.tensor_options()
        self._placement = {
            "device": current["device"] if device is None else torch.device(device),
            "dtype": current["dtype"] if dtype is None else dtype,
        }
        for key, value in list(vars(self).items()):
            if isinstance(value, Tensor):
                if value.is_complex() and dtype is not None:
                    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
                    setattr(self, key, value.to(device=device, dtype=cdtype))
                elif value.is_floating_point():
                    setattr(self, key, value.to(device=device, dtype=dtype))
                else:
                    setattr(self, key, value.to(device=device))
        return self


class MatrixOperator(Operator):
    """A dense matrix acting on flattened images: the reference operator for tests.

    Parameters
    ----------
    matrix : Tensor
        Shape (m, n) with n = prod(image_shape).
    image_shape : tuple of int
    """

    name = "matrix"

    def __init__(self, matrix: Tensor, image_shape: tuple[int, ...]):
        super().__init__(image_shape)
        self.matrix = matrix
        n = 1
        for s in self.image_shape:
            n *= s
        if matrix.shape[1] != n:
            raise ValueError(f"matrix has {matrix.shape[1]} columns, image has {n} pixels")

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[: x.dim() - len(self.image_shape)]
        return x.reshape(*lead, -1) @ self.matrix.T

    def adjoint(self, y: Tensor) -> Tensor:
        lead = y.shape[:-1]
        return (y @ self.matrix).reshape(*lead, *self.image_shape)

    def normal_solve(self, b: Tensor, rho: float, x0: Tensor | None = None) -> Tensor:
        n = self.matrix.shape[1]
        gram = self.matrix.T @ self.matrix + rho * torch.eye(n, dtype=self.matrix.dtype, device=self.matrix.device)
        lead = b.shape[: b.dim() - len(self.image_shape)]
        sol = torch.linalg.solve(gram, b.reshape(-1, n).T).T
        return sol.reshape(*lead, *self.image_shape)
