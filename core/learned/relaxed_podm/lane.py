"""Relaxed PODM (Liu et al., NeurIPS 2018, §4.2, §5.2): learned non-blind deconvolution.

Stage l:  x_A = A_l(x^{l−1}),
          x_F = (KᵀK + μ_l Σ_n w_{l,n} F_nᵀF_n)⁻¹ (Kᵀo + μ_l Σ_n w_{l,n} F_nᵀF_n x_A)   (§5.2, FFT)
          x^l = prox_{γ_l g}(x_F − γ_l Kᵀ(K x_F − o))                                  (7), g = χ_Ω
with ``constraint = "sparse_box"`` (default, the paper's Ω = {‖u‖₀ ≤ s, min o ≤ u_i ≤ max o},
s = ⌈keep·n⌉) or ``"l0_penalty"`` (g = l0_lam·‖u‖₀ + χ_[0,1], the ``l0_box`` prior's prox), and
the trained weights ``relaxed_podm`` (``python -m core train relaxed_podm``); see
:mod:`core.learned.relaxed_podm.net`. The operator must be a circular convolution (``blur``, or ``denoise``
with K = I): its OTF is read from the response to a unit impulse, and translation invariance is
checked once before the loop.

Beyond the trained stages (``beyond_trained``): ``"end"`` (default) stops the lane after stage L
with ``info["ended"] = True`` — the stages are untied, so there is no "next" stage the training
justified; ``"repeat"`` keeps applying the last trained stage (an exploratory fixed-point view).
"""

from __future__ import annotations

import torch

from ...params import Param
from ...priors.constraints import L0Box
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import WeightsError, cached_network, meta_int
from .net import RelaxedPODM, SparseBox


def _architecture(meta: dict) -> RelaxedPODM:
    name = "relaxed_podm"
    mu0 = meta.get("mu0")
    if isinstance(mu0, bool) or not isinstance(mu0, (int, float)) or not 0 < mu0 < 1e6:
        raise WeightsError(f"weights '{name}': manifest meta 'mu0' = {mu0!r} must be a number in (0, 1e6)")
    return RelaxedPODM(
        stages=meta_int(meta, "stages", None, 1, 100, name),
        features=meta_int(meta, "features", None, 1, 512, name),
        filter_size=meta_int(meta, "filter_size", None, 1, 31, name),
        mu0=float(mu0),
    )


def load_relaxed_podm(weights: str = "relaxed_podm", directory=None) -> RelaxedPODM:
    """:class:`RelaxedPODM` built from the manifest's architecture with ``weights`` loaded (cached)."""
    return cached_network(_architecture, weights, directory)


def circulant_otf(operator, image_shape) -> torch.Tensor:
    """rfft2 of the operator's impulse response, after checking it is translation invariant.

    Raises
    ------
    ValueError
        If the operator is not a real circular convolution (e.g. SR, inpainting, CS, MRI).
    """
    _, h, w = image_shape
    probe = operator.tensor_options()
    delta = torch.zeros(1, h, w, **probe)
    delta[0, 0, 0] = 1.0
    response = operator.forward(delta)
    shifted = torch.zeros_like(delta)
    shifted[0, h // 3, w // 5] = 1.0
    if (
        response.shape != delta.shape
        or response.is_complex()
        or not torch.allclose(operator.forward(shifted), torch.roll(response, (h // 3, w // 5), (-2, -1)), atol=1e-5)
    ):
        raise ValueError(
            f"solver 'relaxed_podm' needs a circular convolution (degradation 'blur' or "
            f"'denoise'), not '{getattr(operator, 'name', type(operator).__name__)}'"
        )
    return torch.fft.rfft2(response)


KEEP = 0.999  # s/n of the shipped weights' training (the paper gives no value for s)


@SOLVERS.register(
    "relaxed_podm",
    params=[
        Param("rpodm_weights", "relaxed_podm", "str", help="weights name in resources/weights"),
        Param(
            "constraint",
            "sparse_box",
            "choice",
            choices=("sparse_box", "l0_penalty"),
            help="g: the paper's χ_Ω (‖u‖₀ ≤ s, min o ≤ u ≤ max o) or the penalty λ‖u‖₀ + χ_[0,1]",
        ),
        Param(
            "keep",
            KEEP,
            low=1e-3,
            high=1.0,
            help="s/n: fraction of pixels allowed to be non-zero (sparse_box)",
            math="‖u‖₀ ≤ ⌈keep·n⌉",
            when=(("constraint", ("sparse_box",)),),
        ),
        Param(
            "l0_lam",
            1e-4,
            low=0.0,
            high=1e4,
            help="λ of the ℓ0 penalty (l0_penalty)",
            when=(("constraint", ("l0_penalty",)),),
        ),
        Param(
            "beyond_trained",
            "end",
            "choice",
            choices=("end", "repeat"),
            help="after the trained stages: end the lane, or repeat the last stage",
        ),
    ],
    doc="Relaxed PODM: learned CNN propagation + learned FFT fidelity + prox of χ_Ω (‖u‖₀ ≤ s, box) (deblurring)",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("blur", "denoise"),
)
def relaxed_podm(problem, *, rpodm_weights, constraint, keep, l0_lam, beyond_trained, net=None):
    """Run the trained Relaxed PODM stages as a lane.

    Parameters
    ----------
    problem : Problem
        Deblurring problem (circular convolution); channels are processed independently.
    rpodm_weights : str
        Weights name.
    constraint : {"sparse_box", "l0_penalty"}
        g = χ_Ω (§5.2, a = min o, b = max o per channel) or l0_lam·‖u‖₀ + χ_[0,1].
    keep : float
        s/n for ``sparse_box``.
    l0_lam : float
        λ for ``l0_penalty``.
    beyond_trained : {"end", "repeat"}
    net : RelaxedPODM, optional
        Use this network instead of loading weights (tests, training previews).

    Yields
    ------
    Step
        info: ``mu`` (μ_l), ``step`` (γ_l), ``ended``; extras: ``input`` (x^{l−1}), ``output`` (x_A),
        ``residual`` (x^{l−1} − x_A), ``x_F``.
    """
    model = load_relaxed_podm(rpodm_weights) if net is None else net
    otf = circulant_otf(problem.operator, problem.x0.shape)
    device, dtype = problem.y.device, problem.y.dtype
    if net is None:
        model = _copy_to(model, device, dtype)
    sigma = torch.tensor(float(problem.noise_sigma), device=device, dtype=dtype)
    lipschitz = (otf.abs() ** 2).amax()
    observation = problem.y[:, None]  # channels as a batch
    if constraint == "sparse_box":
        prior = SparseBox.of_observation(keep, observation)
    else:
        prior = L0Box(l0_lam, 0.0, 1.0)
    x = problem.x0[:, None]
    l = 0
    while True:
        stage = min(l, model.stages - 1)
        with torch.no_grad():
            out = model.stage(stage, x, otf, observation, sigma, prior, lipschitz)
        l += 1
        ended = beyond_trained == "end" and l >= model.stages
        yield Step(
            l,
            out["x"][:, 0],
            info={"mu": out["mu"], "step": out["step"], "ended": ended},
            extras={
                "input": x[:, 0],
                "output": out["x_A"][:, 0],
                "residual": (x - out["x_A"])[:, 0],
                "x_F": out["x_F"][:, 0],
            },
        )
        if ended:
            return
        x = out["x"]


def _copy_to(model: RelaxedPODM, device, dtype) -> RelaxedPODM:
    """A copy of ``model`` on ``device``/``dtype`` (the cached CPU model stays untouched)."""
    copy = RelaxedPODM(**model.config())
    copy.load_state_dict(model.state_dict())
    return copy.to(device=device, dtype=dtype).eval().requires_grad_(False)
