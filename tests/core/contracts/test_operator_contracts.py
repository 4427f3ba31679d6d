"""Contract of every registered degradation (float64, default parameters): the adjoint is exact,
``normal_solve`` solves (AᵀA + ρI)z = b, ``residual_norm_sq(x, y)`` is ‖Ax − y‖²,
``lipschitz()`` bounds ‖A‖₂², the unknown ↔ image maps
invert each other, and ``to(float32)`` keeps the model.

Parametrised over ``DEGRADATIONS`` (ids = registry names): a newly registered degradation is
checked the day it is added, with no edit here. Variants of the parameters are checked by hand in
tests/core/test_operators.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.operators.base import Operator, conjugate_gradient, inner
from core.problem import BASE_MULTIPLE
from core.registry import DEGRADATIONS, load_all

load_all()
NAMES = sorted(DEGRADATIONS)


def multiple(entry, params) -> int:
    """Side multiple the degradation needs, as core.problem.crop_multiple computes it."""
    needs = entry.extra.get("image_multiple", lambda p: 1)
    return int(np.lcm(BASE_MULTIPLE, int(needs(params))))


def image_shape(entry, params, small: bool = False) -> tuple[int, int, int]:
    """(1, H, W), H ≠ W, multiples of :func:`multiple`: about 40×48 (small: 16×24, for dense
    matrices). The large size exceeds one 33-pixel CS block, so CS has interior and border blocks;
    the small one is a single border block."""
    m = multiple(entry, params)
    if small:
        return (1, 2 * m, 3 * m)
    height = m * max(1, round(40 / m))
    return (1, height, height + m)


def build(name: str, small: bool = False, seed: int = 0):
    entry = DEGRADATIONS.get_entry(name)
    params = entry.resolve({})
    shape = image_shape(entry, params, small)
    return entry.factory(shape, params, torch.Generator().manual_seed(seed)), shape


def random_like_observation(op, x, generator):
    """A random y in A's range space (complex when A's output is complex)."""
    template = op.forward(x)
    real = torch.randn(template.shape, generator=generator, dtype=torch.float64)
    if template.is_complex():
        return torch.complex(real, torch.randn(template.shape, generator=generator, dtype=torch.float64))
    return real


def overrides(op, method: str) -> bool:
    """Whether the operator's class replaces the base implementation (a closed form it calls exact)."""
    return getattr(type(op), method) is not getattr(Operator, method)


def power_iteration(op, shape, iterations: int = 500, seed: int = 5) -> float:
    """‖A‖₂² estimated independently of the operator's own code (Rayleigh quotient of AᵀA)."""
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x / x.norm()
    estimate = 0.0
    for _ in range(iterations):
        z = op.adjoint(op.forward(x))
        estimate = float(inner(x, z))
        norm = float(z.norm())
        if norm == 0.0:
            return 0.0
        x = z / norm
    return estimate


def dense_gram(op, shape) -> torch.Tensor:
    """AᵀA as a dense matrix, one basis image at a time."""
    n = math.prod(shape)
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    return op.adjoint(op.forward(basis)).reshape(n, n).T


@pytest.mark.parametrize("name", NAMES)
def test_adjoint_identity_and_batch_broadcasting(name):
    op, shape = build(name)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((3, *shape), generator=g, dtype=torch.float64)
    y = random_like_observation(op, x, g)
    ax, aty = op.forward(x), op.adjoint(y)
    lhs, rhs = float(inner(ax, y)), float(inner(x, aty))
    # |⟨Ax, y⟩| ≤ ‖Ax‖‖y‖ (Cauchy–Schwarz) sets the scale of the rounding errors
    assert abs(lhs - rhs) <= 1e-12 * float(ax.norm() * y.norm()) + 1e-14, (lhs, rhs)
    assert aty.shape == x.shape and aty.dtype == torch.float64 and not aty.is_complex()
    for i in range(3):
        assert torch.allclose(ax[i], op.forward(x[i]), rtol=0, atol=1e-12)
        assert torch.allclose(aty[i], op.adjoint(y[i]), rtol=0, atol=1e-12)
    # linear: A(2x₀ − x₁) = 2Ax₀ − Ax₁
    assert torch.allclose(op.forward(2 * x[0] - x[1]), 2 * ax[0] - ax[1], rtol=0, atol=1e-11)


@pytest.mark.parametrize("name", NAMES)
def test_residual_norm_sq_is_the_squared_norm_of_ax_minus_y(name):
    op, shape = build(name)
    g = torch.Generator().manual_seed(4)
    for _ in range(2):  # the second call with a new y (an operator may keep y's transform)
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        y = random_like_observation(op, x, g)
        r = op.forward(x) - y
        expected = float((r.abs() ** 2).sum())
        got = op.residual_norm_sq(x, y)
        assert got.shape == () and not got.is_complex()
        assert float(got) == pytest.approx(expected, rel=1e-12)
        y.mul_(0.5)  # changed in place: a kept transform of y must not be used
        r = op.forward(x) - y
        assert float(op.residual_norm_sq(x, y)) == pytest.approx(float((r.abs() ** 2).sum()), rel=1e-12)
    # differentiable like the plain formula (learned solvers train through the objective)
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(op.residual_norm_sq(x, y), x)
    (expected_grad,) = torch.autograd.grad(((op.forward(x) - y).abs() ** 2).sum(), x)
    assert torch.allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_normal_solve_matches_conjugate_gradient(name):
    op, shape = build(name)
    b = torch.randn((2, *shape), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    exact = overrides(op, "normal_solve")  # closed forms are exact; the base CG stops at tol 1e-7
    for rho in (0.05, 2.0):
        z = op.normal_solve(b, rho)
        assert z.shape == b.shape and z.dtype == torch.float64
        residual = op.adjoint(op.forward(z)) + rho * z - b
        assert float(residual.norm() / b.norm()) < (1e-10 if exact else 1e-6), rho
        reference = conjugate_gradient(
            lambda v, rho=rho: op.adjoint(op.forward(v)) + rho * v, b, max_iter=5000, tol=1e-13
        )
        # ‖(AᵀA + ρI)⁻¹‖ ≤ 1/ρ turns the residuals into a bound on the error
        assert float((z - reference).norm() / b.norm()) < (1e-9 if exact else 1e-5) / rho, rho


@pytest.mark.parametrize("name", NAMES)
def test_lipschitz_bounds_the_squared_norm(name):
    op, shape = build(name)
    estimate = power_iteration(op, shape)
    value = op.lipschitz()
    assert isinstance(value, float) and math.isfinite(value) and estimate > 0
    assert value >= estimate * (1 - 1e-9), (value, estimate)  # a step 1/L never overshoots
    assert value <= 1.01 * estimate, (value, estimate)  # and is not needlessly small
    assert op.lipschitz() == value  # stable across calls


@pytest.mark.parametrize("name", NAMES)
def test_small_size_against_dense_matrices(name):
    op, shape = build(name, small=True)
    gram = dense_gram(op, shape)
    assert torch.allclose(gram, gram.T, rtol=0, atol=1e-12)
    b = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rho = 0.3
    reference = torch.linalg.solve(gram + rho * torch.eye(len(gram), dtype=torch.float64), b.flatten())
    atol = 1e-10 if overrides(op, "normal_solve") else 1e-6 * float(b.norm()) / rho
    assert torch.allclose(op.normal_solve(b, rho).flatten(), reference, rtol=0, atol=atol)
    largest = float(torch.linalg.eigvalsh(gram).max())
    if overrides(op, "lipschitz"):  # the operator says its value is exact
        assert op.lipschitz() == pytest.approx(largest, rel=1e-9)
    else:  # power iteration, with its safety margin
        assert largest * (1 - 1e-9) <= op.lipschitz() <= 1.01 * largest


@pytest.mark.parametrize("name", NAMES)
def test_unknown_and_image_maps_invert_each_other(name):
    op, shape = build(name)
    g = torch.Generator().manual_seed(4)
    image = torch.rand(shape, generator=g, dtype=torch.float64)
    unknown = op.from_image(image)
    assert torch.allclose(op.to_image(unknown), image, rtol=0, atol=1e-12)
    z = torch.randn(unknown.shape, generator=g, dtype=torch.float64)
    assert torch.allclose(op.from_image(op.to_image(z)), z, rtol=0, atol=1e-12)
    assert op.to_image(z).shape == shape
    y = op.forward(unknown)
    x0 = op.initial_estimate(y)
    assert x0.shape == unknown.shape and x0.dtype == torch.float64 and bool(torch.isfinite(x0).all())
    assert op.observation_image(y).shape == shape and not op.observation_image(y).is_complex()


@pytest.mark.parametrize("name", NAMES)
def test_float32_copy_matches_float64(name):
    op, shape = build(name)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    ref_y, ref_z, ref_l = op.forward(x), op.normal_solve(x, 0.5), op.lipschitz()
    op.to(dtype=torch.float32)
    y = op.forward(x.float())
    assert y.dtype == (torch.complex64 if ref_y.is_complex() else torch.float32)
    assert torch.allclose(y.to(ref_y.dtype), ref_y, rtol=0, atol=1e-4 * float(ref_y.abs().max()))
    z = op.normal_solve(x.float(), 0.5)
    assert z.dtype == torch.float32 and torch.allclose(z.double(), ref_z, rtol=0, atol=1e-4)
    assert op.adjoint(y).dtype == torch.float32
    assert op.lipschitz() == pytest.approx(ref_l, rel=1e-4)
