"""The four OneNet problems of the unrolled-ADMM paper (BMVC 2019, §4) and their ADMM penalties.

One place for the problem set used by the trainers, the lane (which weights apply, which ρ) and
the benchmark.
"""

from __future__ import annotations

from typing import NamedTuple

#: the projector trained on all four problems (the paper's setup); ``<ONE_NETWORK>_<key>``: one per problem
ONE_NETWORK = "unrolled_admm"


class OneNetProblem(NamedTuple):
    """One problem of the set: ``key`` names its own weights ``unrolled_admm_<key>``."""

    label: str
    key: str
    degradation: str
    params: dict
    sigma: float
    rho: float


PROBLEMS = (
    OneNetProblem("pixelwise inpainting + denoising", "pid", "inpaint", {"mode": "random", "keep_rate": 0.5}, 0.1, 0.3),
    OneNetProblem("centre box", "box", "inpaint", {"mode": "center", "box_fraction": 0.3}, 0.0, 0.2),
    OneNetProblem(
        "scattered blocks", "blocks", "inpaint", {"mode": "blocks", "n_blocks": 10, "block_fraction": 0.1}, 0.0, 0.3
    ),
    OneNetProblem("super-resolution x2", "sr", "sr", {"scale": 2, "method": "box"}, 0.0, 0.5),
)


def matching_problem(problem) -> OneNetProblem | None:
    """The entry of :data:`PROBLEMS` that ``problem`` is an instance of (degradation, its
    parameters and noise level), or None."""
    spec = getattr(problem, "spec", None) or {}
    for entry in PROBLEMS:
        if spec.get("degradation") != entry.degradation:
            continue
        if all(spec.get(k) == v for k, v in entry.params.items()) and abs(problem.noise_sigma - entry.sigma) < 1e-9:
            return entry
    return None


def default_rho(problem) -> float:
    """OneNet's penalty for the problem type: 0.5 for SR, 0.2 for the centre box, else 0.3."""
    operator = problem.operator
    if operator.name == "sr":
        return 0.5
    if operator.name == "inpaint" and operator.pattern == "center":
        return 0.2
    return 0.3
