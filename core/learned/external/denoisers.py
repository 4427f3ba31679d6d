"""Denoisers from files: ``torchscript`` (a scripted or traced module) and ``state_dict`` (a
safetensors file loaded into an architecture registered in :data:`core.registry.ARCHITECTURES`).

Either network is called on (N, C, H, W) images as ``net(x, sigma)`` with ``sigma`` of shape (N,)
(noise level on the [0, 1] scale), or as ``net(x)`` when ``denoiser_takes_sigma = false``. With
``denoiser_per_channel = true`` (default) a colour image goes through the network one channel at a
time, as the shipped grey denoiser does. Loaded networks are cached per file (path, size and
modification time) and copied once per device and dtype.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ...params import Param
from ...registry import ARCHITECTURES, DENOISERS
from ..network_denoiser import NetworkDenoiser
from ..weights import WeightsError, frozen

_CACHE: dict[tuple, torch.nn.Module] = {}

COMMON_PARAMS = [
    Param("denoiser_takes_sigma", True, "bool", help="call net(x, sigma) (true) or net(x) (false)"),
    Param("denoiser_per_channel", True, "bool", help="denoise colour images one channel at a time"),
]


def _checked_file(path: str, suffixes: tuple[str, ...], what: str) -> Path:
    if not path:
        raise WeightsError(f"denoiser '{what}': parameter 'denoiser_path' is empty; give the network file")
    file = Path(path).expanduser()
    if not file.is_file():
        raise WeightsError(f"denoiser '{what}': {file}: file not found")
    if file.suffix.lower() not in suffixes:
        raise WeightsError(f"denoiser '{what}': {file}: expected a {' or '.join(suffixes)} file")
    return file.resolve()


def _cached(key_file: Path, extra: str, build) -> torch.nn.Module:
    info = key_file.stat()
    key = (str(key_file), info.st_size, info.st_mtime_ns, extra)
    if key not in _CACHE:
        _CACHE[key] = frozen(build())
    return _CACHE[key]


def _wrapped(net: torch.nn.Module, params: dict, file: Path) -> NetworkDenoiser:
    return NetworkDenoiser(
        net,
        takes_sigma=params["denoiser_takes_sigma"],
        per_channel=params["denoiser_per_channel"],
        label=f"denoiser '{file.name}'",
    )


def _shipped_dncnn():
    from ..dncnn.denoiser import load_dilated_denoiser

    return load_dilated_denoiser("dncnn")


def torchscript_example(folder: Path) -> dict:
    """Write the shipped dncnn as a TorchScript file into ``folder``; the params that load it."""
    path = Path(folder) / "dncnn_scripted.pt"
    example = (torch.zeros(1, 1, 16, 16), torch.full((1,), 0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side checks
        traced = torch.jit.trace(_shipped_dncnn(), example, check_trace=False)
    torch.jit.save(traced, str(path))
    return {"denoiser_path": str(path)}


def state_dict_example(folder: Path) -> dict:
    """Write the shipped dncnn's tensors as a safetensors file into ``folder``; the params that load it."""
    from safetensors.torch import save_file

    path = Path(folder) / "dncnn.safetensors"
    save_file({k: v.contiguous() for k, v in _shipped_dncnn().state_dict().items()}, str(path))
    return {"denoiser_path": str(path), "denoiser_architecture": "dilated_cnn"}


@DENOISERS.register(
    "torchscript",
    title="Your denoiser (TorchScript)",
    params=[
        Param("denoiser_path", "", "str", help="TorchScript file (.pt/.pth/.ts) saved by torch.jit.save"),
        *COMMON_PARAMS,
    ],
    doc="your own denoiser network from a TorchScript file",
    learned=True,
    example=torchscript_example,
)
def torchscript_denoiser(params) -> NetworkDenoiser:
    """Load ``denoiser_path`` with ``torch.jit.load`` (CPU)."""
    file = _checked_file(params["denoiser_path"], (".pt", ".pth", ".ts", ".torchscript"), "torchscript")

    def build():
        try:
            return torch.jit.load(str(file), map_location="cpu")
        except Exception as exc:  # noqa: BLE001  (not a TorchScript archive, corrupt, ...)
            raise WeightsError(
                f"denoiser 'torchscript': {file}: not a loadable TorchScript file ({type(exc).__name__})"
            ) from None

    net = _cached(file, "torchscript", build)
    return _wrapped(net, params, file)


@DENOISERS.register(
    "state_dict",
    title="Your denoiser (safetensors)",
    params=[
        Param("denoiser_path", "", "str", help="safetensors file with the network's state dict"),
        Param(
            "denoiser_architecture",
            "dilated_cnn",
            "str",
            help="registered architecture the tensors are loaded into (python -m core list)",
        ),
        *COMMON_PARAMS,
    ],
    doc="your own denoiser: a safetensors state dict loaded into a registered architecture",
    learned=True,
    example=state_dict_example,
)
def state_dict_denoiser(params) -> NetworkDenoiser:
    """Read ``denoiser_path`` with safetensors and build ``denoiser_architecture`` from it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = _checked_file(params["denoiser_path"], (".safetensors",), "state_dict")
    architecture = ARCHITECTURES.get_entry(params["denoiser_architecture"])

    def build():
        try:
            state = load_file(str(file), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"denoiser 'state_dict': {file}: not a safetensors file ({exc})") from None
        try:
            return architecture.factory(state)
        except (RuntimeError, KeyError, ValueError, IndexError) as exc:
            raise WeightsError(
                f"denoiser 'state_dict': {file}: the tensors do not fit architecture "
                f"'{architecture.name}' ({str(exc).splitlines()[0]})"
            ) from None

    net = _cached(file, architecture.name, build)
    return _wrapped(net, params, file)
