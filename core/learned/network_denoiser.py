"""A network as a :class:`~core.priors.base.Denoiser`: the one wrapper shared by the shipped ``dncnn``
and the denoisers read from your own files (``torchscript``, ``state_dict``).

The network is called on (N, C, H, W) images as ``net(x, sigma)`` with ``sigma`` of shape (N,),
or as ``net(x)``; with ``per_channel`` a colour image goes through it one channel at a time. One
frozen copy of the network is kept per (device, dtype) in use.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..priors.base import Denoiser
from .weights import network_on


class NetworkDenoiser(Denoiser):
    """D(x, σ) by a frozen network.

    Parameters
    ----------
    net : torch.nn.Module
        The CPU network.
    takes_sigma : bool
        Call ``net(x, sigma)`` (True) or ``net(x)``.
    per_channel : bool
        Denoise colour images channel by channel (a grey network).
    label : str
        How messages name the denoiser (``"denoiser 'dncnn'"``).
    sigma_range : (float, float), optional
        Clip σ to the range the network was trained for.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        *,
        takes_sigma: bool = True,
        per_channel: bool = True,
        label: str = "denoiser",
        sigma_range: tuple[float, float] | None = None,
    ):
        self._cpu_net = net
        self.takes_sigma = bool(takes_sigma)
        self.per_channel = bool(per_channel)
        self.label = label
        self.sigma_range = sigma_range
        self._copies: dict[tuple, torch.nn.Module] = {}

    def _net_for(self, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
        key = (str(device), dtype)
        if key not in self._copies:
            self._copies[key] = network_on(self._cpu_net, device=device, dtype=dtype)
        return self._copies[key]

    def __call__(self, x: Tensor, sigma: float | Tensor) -> Tensor:
        """Denoise ``x`` ((C, H, W) or (N, C, H, W)) at noise level ``sigma`` (scalar or (N,))."""
        if x.dim() not in (3, 4):
            raise ValueError(f"{self.label}: expected (C, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
        batched = x if x.dim() == 4 else x[None]
        n, c, h, w = batched.shape
        sigma_t = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if self.sigma_range is not None:
            sigma_t = sigma_t.clamp(*self.sigma_range)
        if sigma_t.numel() not in (1, n):
            raise ValueError(f"{self.label}: sigma must be a scalar or have {n} entries")
        sigma_t = sigma_t.reshape(-1).expand(n)
        inputs = batched.reshape(n * c, 1, h, w) if self.per_channel else batched
        if self.per_channel:
            sigma_t = sigma_t.repeat_interleave(c)
        net = self._net_for(x.device, x.dtype)
        out = net(inputs, sigma_t) if self.takes_sigma else net(inputs)
        if not isinstance(out, Tensor) or out.shape != inputs.shape:
            raise ValueError(
                f"{self.label}: the network returned {getattr(out, 'shape', type(out).__name__)}, "
                f"expected the input's shape {tuple(inputs.shape)}"
            )
        out = out.reshape(n, c, h, w)
        return out if x.dim() == 4 else out[0]
