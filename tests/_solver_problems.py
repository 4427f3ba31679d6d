"""Small float64 problems, priors and denoisers shared by test_solvers.py and test_podm.py.

Everything here is independent of the solver code: references are computed with numpy.
"""

from __future__ import annotations

import numpy as np
import torch

from core.operators.base import MatrixOperator
from core.priors.base import Denoiser, Prior
from core.problem import Problem


def make_problem(
    matrix: np.ndarray,
    image_shape,
    x_true: np.ndarray | None = None,
    noise_sigma: float = 0.0,
    seed: int = 0,
    x0: np.ndarray | None = None,
) -> Problem:
    """Problem y = A x_true + σ n with a dense matrix; L_f set to the exact ‖A‖₂²."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(image_shape))
    if x_true is None:
        x_true = rng.uniform(0.0, 1.0, n)
    y = matrix @ x_true.ravel() + noise_sigma * rng.standard_normal(matrix.shape[0])
    op = MatrixOperator(torch.tensor(matrix), tuple(image_shape))
    op._lipschitz = float(np.linalg.norm(matrix, 2) ** 2)  # exact, independent of power iteration
    start = matrix.T @ y if x0 is None else x0
    return Problem(
        op,
        torch.tensor(y),
        torch.tensor(start.reshape(image_shape)),
        torch.tensor(x_true.reshape(image_shape)),
        noise_sigma,
    )


def random_matrix(m: int, n: int, seed: int = 0) -> np.ndarray:
    """Gaussian m×n matrix with unit-norm-ish columns."""
    return np.random.default_rng(seed).standard_normal((m, n)) / np.sqrt(m)


def blur_matrix(side: int, sigma: float = 1.0, radius: int = 2) -> np.ndarray:
    """Separable circular Gaussian blur on side×side images, as a dense matrix."""
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    one_d = np.zeros((side, side))
    for i in range(side):
        for j, offset in enumerate(range(-radius, radius + 1)):
            one_d[i, (i + offset) % side] += taps[j]
    return np.kron(one_d, one_d)


def inpaint_matrix(side: int, keep_rate: float = 0.5, seed: int = 0) -> np.ndarray:
    """Rows of the identity kept at random: a pixel-mask inpainting operator."""
    keep = np.random.default_rng(seed).random(side * side) < keep_rate
    return np.eye(side * side)[keep]


# --- numpy references ----------------------------------------------------------------------
def soft(v: np.ndarray, t: float) -> np.ndarray:
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def lasso_objective(matrix, y, lam, x) -> float:
    r = matrix @ x.ravel() - y
    return 0.5 * r @ r + lam * np.abs(x).sum()


def lasso_reference(
    matrix: np.ndarray, y: np.ndarray, lam: float, tol: float = 1e-13, max_iter: int = 2_000_000
) -> np.ndarray:
    """Minimiser of ½‖Ax − y‖² + λ‖x‖₁ by a long numpy ISTA, checked by its fixed-point residual."""
    L = np.linalg.norm(matrix, 2) ** 2
    x = np.zeros(matrix.shape[1])
    for _ in range(max_iter):
        x_new = soft(x - matrix.T @ (matrix @ x - y) / L, lam / L)
        if np.linalg.norm(x_new - x) < tol:
            return x_new
        x = x_new
    raise AssertionError("reference ISTA did not converge")


# --- priors and denoisers defined locally (tests do not depend on core/priors modules) -------
class L0Box(Prior):
    """λ‖x‖₀ + χ_[low, high] with its exact (nonconvex) elementwise prox."""

    convex = False

    def __init__(self, lam: float, low: float = 0.0, high: float = 1.0):
        super().__init__(lam)
        self.low, self.high = low, high

    def value(self, x):
        outside = ((x < self.low) | (x > self.high)).any()
        inf = torch.full((), float("inf"), dtype=x.dtype, device=x.device)
        return torch.where(outside, inf, self.lam * (x != 0).sum().to(x.dtype))

    def prox(self, v, step):
        clipped = v.clamp(self.low, self.high)
        cost_clipped = self.lam * (clipped != 0).to(v.dtype) + (clipped - v) ** 2 / (2 * step)
        cost_zero = v**2 / (2 * step)
        return torch.where(cost_zero <= cost_clipped, torch.zeros_like(v), clipped)


class GaussianSmoother(Denoiser):
    """Separable Gaussian smoothing whose width grows with σ (a weak but sensible denoiser)."""

    def __call__(self, x, sigma):
        width = 0.3 + 20.0 * float(sigma)
        radius = 2
        t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-0.5 * (t / width) ** 2)
        kernel = kernel / kernel.sum()
        batch = x.unsqueeze(0) if x.dim() == 3 else x
        c = batch.shape[1]
        out = torch.nn.functional.pad(batch, (radius,) * 4, mode="circular")
        out = torch.nn.functional.conv2d(out, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
        out = torch.nn.functional.conv2d(out, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
        return out[0] if x.dim() == 3 else out


class Identity(Denoiser):
    def __call__(self, x, sigma):
        return x.clone()


class TowardsTarget(Denoiser):
    """Moves the input halfway to a fixed target (e.g. the Φ minimiser): a 'good' network."""

    def __init__(self, target):
        self.target = target

    def __call__(self, x, sigma):
        return 0.5 * (x + self.target)


class NoiseDenoiser(Denoiser):
    """A deliberately bad network: returns large noise (seeded), so checks must reject it."""

    def __init__(self, seed: int = 0, scale: float = 5.0):
        self.generator = torch.Generator().manual_seed(seed)
        self.scale = scale

    def __call__(self, x, sigma):
        noise = torch.randn(x.shape, generator=self.generator, dtype=torch.float64)
        return (self.scale * noise).to(x)


def run_solver(entry_name: str, problem, iterations: int, **kwargs):
    """First ``iterations`` Steps of a registered solver."""
    from core.registry import SOLVERS

    gen = SOLVERS.get_entry(entry_name).factory(problem, **kwargs)
    steps = []
    for step in gen:
        steps.append(step)
        if step.k >= iterations:
            break
    return steps


def proximal_point(problem, prior, anchor, kappa: float, iterations: int = 200):
    """argmin_x Φ(x) + (κ/2)‖x − anchor‖² by proximal gradient (a critical point if g is nonconvex)."""
    step = 1.0 / (problem.lipschitz() + kappa)
    x = anchor.clone()
    for _ in range(iterations):
        x = prior.prox(x - step * (problem.grad_fidelity(x) + kappa * (x - anchor)), step)
    return x


class PodmOracle(Denoiser):
    """A 'perfectly trained' PODM network: its output x_A makes F(x_A) = x̃ the proximal point
    x_pp = argmin Φ + (μ/2)‖x − x^{l−1}‖² (x_A = x_pp + ∇f(x_pp)/μ inverts (3)); with μ_opt = μ
    the check (5) then holds with ψ = 0, the ideal case of the paper's analysis."""

    def __init__(self, problem, prior, mu: float):
        self.problem, self.prior, self.mu = problem, prior, mu

    def __call__(self, x, sigma):
        x_pp = proximal_point(self.problem, self.prior, x, self.mu)
        return x_pp + self.problem.grad_fidelity(x_pp) / self.mu


class FlexibleOracle(Denoiser):
    """A 'perfectly trained' flexible module for Algorithm 1: it receives x^k − γ∇f(x^k), recovers
    x^k (I − γAᵀA is invertible for γ < 1/L) and returns argmin Ψ + (μ/2)‖x − x^k‖², so that ũ = u
    and d_{Ψ^k}(ũ) = 0."""

    def __init__(self, problem, prior, mu: float, gamma: float):
        self.problem, self.prior, self.mu, self.gamma = problem, prior, mu, gamma
        matrix = problem.operator.matrix
        self.inverse = torch.linalg.inv(torch.eye(matrix.shape[1], dtype=matrix.dtype) - gamma * matrix.T @ matrix)

    def __call__(self, z, sigma):
        aty = self.problem.operator.adjoint(self.problem.y)
        x_k = (self.inverse @ (z - self.gamma * aty).reshape(-1)).reshape(z.shape)
        return proximal_point(self.problem, self.prior, x_k, self.mu)
