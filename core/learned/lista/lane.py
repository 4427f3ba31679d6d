"""LISTA lane: sparse coding (denoising) of the patches of x⁰ (Gregor & LeCun, 2010).

What it is: a learned sparse coder, hence a patch denoiser. It never uses A or y: it codes the
patches of the initial image, so it is registered for ``denoise`` only (beside ISTA/FISTA on blur,
SR, CS or MRI it would not solve the problem; the learned lane that does is ``learned_fista``).

The lane codes every overlapping 8×8 patch p of the image x⁰ (the problem's initial estimate:
the noisy image for ``denoise``, Aᵀy / zero-filling / upsampling otherwise) with the trained
encoder, stage k being layer k:

    z^k = S_θk(W_e p̃ + S z^{k−1}),  z⁰ = 0,   p̃ = s·(p − mean p)                    (2)
    x^k = average over patches of (D z^k / s + mean p)                                 (3)

so the lane shows sparse-coding denoising of x⁰ improving layer by layer. The trained network is
``layers`` deep (the paper's T iterations + 1) and the lane ends after its last layer (the tied
W_e and S could repeat it, but beyond its depth the network was never trained and the codes blow
up). With ``weights = "none"``
the parameters are ISTA's (W_e = Dᵀ/L, S = I − DᵀD/L, θ = α/L), i.e. plain ISTA on the lasso of
every patch, which never ends.
"""

from __future__ import annotations

import torch

from ...params import Param
from ...registry import SOLVERS
from ...solvers.base import Step
from ..weights import cached_network, network_on
from .net import LISTA, assemble_patches, image_patches


def untrained_lista(trained: LISTA, layers: int = 1) -> LISTA:
    """ISTA-initialised LISTA with ``trained``'s dictionary, α and patch scale."""
    return LISTA(trained.dictionary, float(trained.alpha), layers, float(trained.patch_scale))


@SOLVERS.register(
    "lista",
    params=[
        Param(
            "weights",
            "lista_m100_t7",
            "str",
            help="weights lista_m{100,400}_t{0,1,3,7} (T iterations, T + 1 layers), or 'none' = ISTA",
        ),
        Param("stride", 4, "int", low=1, high=8, unit="px", help="patch stride (8 = no overlap)"),
    ],
    doc="LISTA sparse coding (denoising): learned ISTA codes of the 8×8 patches of x⁰; never uses A or y",
    needs_prior=False,
    needs_denoiser=False,
    learned=True,
    degradations=("denoise",),
)
def lista(problem, *, weights, stride, net=None):
    """Run LISTA layers on the patches of the initial image.

    Parameters
    ----------
    problem : Problem
    weights : str
        Shipped weights name, or ``"none"`` for the untrained (ISTA) parameters of the
        default dictionary.
    stride : int
        Patch stride in pixels.
    net : LISTA, optional
        Use this network (tests).

    Yields
    ------
    Step
        info: ``threshold`` (mean θ_k), ``sparsity`` (fraction of non-zero codes), ``ended``
        (after the last trained layer);
        extras: ``input`` (x^{k−1}), ``output`` (x^k), ``residual`` (x^k − x^{k−1}).
    """
    depth = None  # ISTA (weights = "none") runs on; a trained network ends after its layers
    if net is None:
        if weights == "none":
            net = untrained_lista(cached_network(LISTA, "lista_m100_t7"))
        else:
            net = cached_network(LISTA, weights)
            depth = net.layers
    net = network_on(net, problem.x0)
    image = problem.to_image(problem.x0)
    centred, means, layout = image_patches(image, 8, int(stride))
    scale = net.patch_scale
    drive = net.drive(centred * scale)
    z = torch.zeros(centred.shape[0], net.dictionary.shape[1], device=image.device, dtype=image.dtype)
    previous = image
    k = 0
    while True:
        z = net.layer(z, drive, k)  # (2)
        estimate = assemble_patches(z @ net.dictionary.T / scale + means, layout)  # (3)
        k += 1
        yield Step(
            k,
            problem.from_image(estimate),
            info={
                "threshold": net.threshold(k - 1).mean(),
                "sparsity": (z != 0).to(z.dtype).mean(),
                "ended": k == depth,
            },
            extras={"input": previous, "output": estimate, "residual": estimate - previous},
        )
        if k == depth:
            return
        previous = estimate
