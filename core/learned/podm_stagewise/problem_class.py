"""The problem class the stage-wise PODM propagation is trained for (the Fig. 2 preset).

ℓ0.8 sparse-coding SR on db4 coefficients (3 levels), λ = 1e-4, noise-free, PODM with μ = μ_opt
= 1e-2 (§5.1) and the automatic γ = 0.99/(L_f + μ_opt); one set of weights per scale.
"""

from __future__ import annotations

PRIOR = {"name": "lp", "lam": 1e-4, "p": 0.8, "gisa_iters": 2, "transform": "none"}
WAVELET = "db4"
LEVELS = 3
MU = 0.01
#: default tolerance of the trained lane: below Proposition 1's bound μ_opt/2 = 5e-3.
C_DEFAULT = 0.0045
SCALES = (2, 3, 4)


def weights_name(scale: int) -> str:
    """Weights of the propagation trained for sparse-coding SR ×``scale``."""
    return f"podm_stagewise_x{int(scale)}"


def mismatch(problem, prior, mu: float, mu_opt: float | None, step_size) -> str | None:
    """Why the trained weights do not apply to this problem/lane (None when they do)."""
    operator = problem.operator
    if getattr(operator, "name", None) != "sparse_sr":
        return f"degradation '{getattr(operator, 'name', '?')}' is not sparse_sr"
    scale = getattr(getattr(operator, "downsample", None), "scale", None)
    if scale not in SCALES:
        return f"scale ×{scale} has no trained weights (trained: ×2, ×3, ×4)"
    if getattr(operator, "wavelet", None) != WAVELET or getattr(operator, "levels", None) != LEVELS:
        return f"wavelet {operator.wavelet}/{operator.levels} levels differs from the trained {WAVELET}/{LEVELS}"
    if getattr(prior, "name", None) != "lp":
        return f"prior '{getattr(prior, 'name', '?')}' is not the trained lp"
    for key in ("lam", "p", "gisa_iters"):
        if abs(float(getattr(prior, key)) - float(PRIOR[key])) > 1e-12 * max(1.0, abs(float(PRIOR[key]))):
            return f"prior {key} = {getattr(prior, key)} differs from the trained {PRIOR[key]}"
    if getattr(prior.transform, "wavelet", "none") not in ("none", None):
        return "prior transform is not 'none' (the trained lp acts on the coefficients)"
    if abs(mu - MU) > 1e-12 or (mu_opt is not None and abs(mu_opt - MU) > 1e-12) or step_size is not None:
        return f"mu/mu_opt/step_size differ from the trained μ = μ_opt = {MU}, automatic γ"
    if float(problem.noise_sigma) > 0.0:
        return f"noise σ = {problem.noise_sigma} (trained noise-free)"
    return None
