"""Contract of every registered prior (``PRIORS``; default parameters, and "sharp" ones with
λ = 0.2 and inner iteration counts raised): ``value`` is a finite, non-negative 0-d tensor at the
prox output, the prox never increases F(x) = g(x) + ‖x − v‖²/(2γ) compared with x = v, it is a
global minimiser of F against brute force (scipy's Powell on a few pixels, per-pixel 1-D grid
searches, random and directional perturbations), convex priors satisfy the prox variational
inequality, and a 0-d tensor step or float32 input gives the same result.

Parametrised over ``PRIORS`` (ids = registry names): a newly registered prior is checked the day
it is added, with no edit here. Closed-form references for particular priors are in
tests/core/test_priors.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize
import torch

from core.registry import PRIORS, load_all

load_all()
PRIOR_NAMES = sorted(PRIORS)

SHAPE = (1, 4, 4)  # 16 unknowns: small enough for a generic optimiser (TV, wavelets are not separable)
STEP = 0.5
LAM = 0.2  # large enough that every prox visibly moves v
MAX_INNER = 1000  # inner iteration counts ('*_iters') are raised to min(declared maximum, this)


def sharp_params(entry) -> dict:
    """Defaults, with λ = :data:`LAM` and every inner iteration count (an int parameter named
    ``*_iters``) at its declared maximum (capped at :data:`MAX_INNER`): a (nearly) exact prox."""
    given = {}
    for p in entry.params:
        if p.name == "lam":
            given["lam"] = min(max(LAM, p.low if p.low is not None else LAM), p.high if p.high is not None else LAM)
        elif p.kind == "int" and p.name.endswith("iters") and p.high is not None:
            given[p.name] = int(min(p.high, MAX_INNER))
    return entry.resolve(given)


def make_prior(name: str, sharp: bool):
    entry = PRIORS.get_entry(name)
    return entry.factory(sharp_params(entry) if sharp else entry.resolve({}))


def inputs() -> list[torch.Tensor]:
    """Prox inputs: one straddling the default box [0, 1] and zero, one inside (0, 1)."""
    g = torch.Generator().manual_seed(0)
    straddling = 0.5 + 0.6 * torch.randn(SHAPE, generator=g, dtype=torch.float64)
    inside = 0.1 + 0.8 * torch.rand(SHAPE, generator=g, dtype=torch.float64)
    return [straddling, inside]


def objective(prior, x: torch.Tensor, v: torch.Tensor, step: float = STEP) -> float:
    """F(x) = g(x) + ‖x − v‖²/(2γ) as a Python float (inf outside an indicator's domain)."""
    return float(prior.value(x)) + float(((x - v) ** 2).sum()) / (2 * step)


def fresh_prox(prior, v, step=STEP):
    prior.reset()  # no warm start from an earlier call
    return prior.prox(v, step)


def tolerance(value: float) -> float:
    return 1e-7 * max(1.0, abs(value))


@pytest.mark.parametrize("sharp", [False, True], ids=["defaults", "sharp"])
@pytest.mark.parametrize("name", PRIOR_NAMES)
def test_value_is_a_finite_non_negative_scalar_at_the_prox(name, sharp):
    prior = make_prior(name, sharp)
    for v in inputs():
        x = fresh_prox(prior, v)
        assert x.shape == v.shape and x.dtype == v.dtype and bool(torch.isfinite(x).all())
        value = prior.value(x)
        assert isinstance(value, torch.Tensor) and value.dim() == 0 and value.dtype == v.dtype
        assert math.isfinite(float(value)) and float(value) >= 0.0
        assert float(prior.value(v)) >= 0.0  # +inf allowed (an indicator outside its set)


@pytest.mark.parametrize("sharp", [False, True], ids=["defaults", "sharp"])
@pytest.mark.parametrize("name", PRIOR_NAMES)
def test_prox_does_not_increase_the_prox_objective(name, sharp):
    prior = make_prior(name, sharp)
    for v in inputs():
        for step in (0.05, STEP, 2.0):
            x = fresh_prox(prior, v, step)
            at_v = objective(prior, v, v, step)  # = g(v)
            assert objective(prior, x, v, step) <= at_v + tolerance(at_v), (step, at_v)


def batched_objective(prior, points: torch.Tensor, v: torch.Tensor, step: float = STEP) -> np.ndarray:
    """F at each of ``points`` (N, *SHAPE): g by ``torch.func.vmap`` where the prior allows it
    (checked against single calls), else one call per point."""
    quadratic = ((points - v) ** 2).flatten(1).sum(1).numpy() / (2 * step)
    single = np.array([float(prior.value(points[i])) for i in range(min(3, len(points)))])
    try:
        values = torch.func.vmap(prior.value)(points).numpy()
        if not np.allclose(values[: len(single)], single, rtol=1e-12, atol=1e-12, equal_nan=True):
            raise ValueError("vmap disagrees with single calls")
    except Exception:
        values = np.array([float(prior.value(point)) for point in points])
    return values + quadratic


def candidates(x: torch.Tensor, v: torch.Tensor) -> dict[str, torch.Tensor]:
    """Points to compare the prox output x with: zero, v, moves along ±(v − x), random moves at
    three scales, and for every pixel a 1-D grid through x (0 included)."""
    g = torch.Generator().manual_seed(1)
    points = {"zero": torch.zeros_like(x), "v": v.clone()}
    for eps in (-0.1, -1e-2, -1e-3, 1e-3, 1e-2, 0.1, 0.5):
        points[f"x + {eps}(v − x)"] = x + eps * (v - x)
    for scale in (1e-4, 1e-2, 0.3):
        for i in range(30):
            points[f"random {scale} #{i}"] = x + scale * torch.randn(x.shape, generator=g, dtype=x.dtype)
    flat = x.flatten()
    for i in range(flat.numel()):
        for t in torch.cat([torch.linspace(-2.0, 2.0, 401, dtype=x.dtype) + flat[i], flat.new_zeros(1)]):
            z = flat.clone()
            z[i] = t
            points[f"pixel {i} = {float(t):.4f}"] = z.reshape(x.shape)
    return points


def powell_on_pixels(prior, v: torch.Tensor, x: torch.Tensor, pixels, start: torch.Tensor):
    """min F over the values of ``pixels`` (the others held at x) by scipy's derivative-free
    Powell method from ``start``'s values: a brute-force reference on a few pixels."""
    flat_x = x.flatten()

    def point(values):
        z = flat_x.clone()
        z[pixels] = torch.from_numpy(values)
        return z.reshape(x.shape)

    def cost(values):
        value = objective(prior, point(values), v)
        return value if math.isfinite(value) else 1e30

    result = scipy.optimize.minimize(
        cost, start.flatten()[pixels].numpy(), method="Powell", options={"xtol": 1e-9, "ftol": 1e-15, "maxfev": 3000}
    )
    return float(result.fun), point(result.x)


@pytest.mark.parametrize("name", PRIOR_NAMES)
def test_prox_is_a_global_minimiser_against_brute_force(name):
    prior = make_prior(name, sharp=True)
    pixels = [0, 5, 6, 15]  # a corner, two interior neighbours and the opposite corner
    for index, v in enumerate(inputs()):
        x = fresh_prox(prior, v)
        best = objective(prior, x, v)
        assert math.isfinite(best)
        points = candidates(x, v)
        costs = batched_objective(prior, torch.stack(list(points.values())), v)
        worst = int(np.argmin(costs))
        assert best <= costs[worst] + tolerance(best), list(points)[worst]
        starts = [("v", v), ("prox", x)] if index == 0 else [("v", v)]
        for label, start in starts:
            reference, found = powell_on_pixels(prior, v, x, pixels, start)
            assert best <= reference + tolerance(best), f"Powell from {label}"
            if prior.convex:  # F is (1/γ)-strongly convex: ‖z − x*‖² ≤ 2γ(F(z) − F(x*))
                assert float(((found - x) ** 2).sum()) <= 2 * STEP * max(reference - best, 0.0) + 1e-8


@pytest.mark.parametrize("name", [n for n in PRIOR_NAMES if make_prior(n, sharp=True).convex])
def test_convex_prox_satisfies_the_variational_inequality(name):
    """x = prox_{γg}(v) ⇔ g(z) ≥ g(x) + ⟨(v − x)/γ, z − x⟩ for every z (convex g)."""
    prior = make_prior(name, sharp=True)
    g = torch.Generator().manual_seed(2)
    for v in inputs():
        x = fresh_prox(prior, v)
        subgradient = (v - x) / STEP
        gx = float(prior.value(x))
        for i in range(60):
            kind = i % 3
            if kind == 0:
                z = x + 0.05 * torch.randn(SHAPE, generator=g, dtype=torch.float64)
            elif kind == 1:
                z = torch.rand(SHAPE, generator=g, dtype=torch.float64)  # inside the default box
            else:
                z = torch.randn(SHAPE, generator=g, dtype=torch.float64)
            bound = gx + float((subgradient * (z - x)).sum())
            assert float(prior.value(z)) >= bound - tolerance(bound), i


@pytest.mark.parametrize("name", PRIOR_NAMES)
def test_tensor_step_and_float32_give_the_same_prox(name):
    prior = make_prior(name, sharp=False)
    for v in inputs():
        reference = fresh_prox(prior, v)
        assert torch.allclose(
            fresh_prox(prior, v, torch.tensor(STEP, dtype=torch.float64)), reference, rtol=0, atol=1e-12
        )
        x32 = fresh_prox(prior, v.float(), torch.tensor(STEP, dtype=torch.float32))
        assert x32.dtype == torch.float32 and prior.value(x32).dtype == torch.float32
        assert torch.allclose(x32.double(), reference, rtol=0, atol=1e-4)
    prior.reset()
