"""Shipped network weights: save/load by name with a SHA-256 checksum recorded in a manifest.

Layout of a weights folder (default ``resources/weights/``)::

    NAME.pt          state dict saved by ``torch.save`` (tensors only; loaded with weights_only=True)
    NAME.log         training log written by core.learned.training (optional)
    manifest.json    {"NAME": {"file": "NAME.pt", "sha256": "...", "bytes": n, "meta": {...}}, ...}

``meta`` holds whatever a network needs to be rebuilt (architecture sizes, training settings,
validation figures). Two processes may train different networks at the same time, so the
manifest is updated read-modify-write under an exclusive ``fcntl`` lock and replaced atomically.
No pickle is ever executed on a load path: ``torch.load(..., weights_only=True)`` only.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_open, atomic_write_bytes, sha256_file  # noqa: F401  (sha256_file: part of this API)
from ..paths import weights_dir

MANIFEST_NAME = "manifest.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")


class WeightsError(ValueError):
    """A weights file is missing, unknown, tampered with or does not fit its network."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith(".pt"):
        raise WeightsError(
            f"weights name {name!r} is invalid: use letters, digits, '_', '-', '.' without a '.pt' suffix"
        )
    return name


def _folder(directory: str | os.PathLike | None) -> Path:
    return weights_dir() if directory is None else Path(directory)


def weights_path(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Path of the weights file ``NAME.pt`` in ``directory`` (default resources/weights)."""
    return _folder(directory) / f"{_check_name(name)}.pt"


def read_manifest(directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest of ``directory`` as a dict (empty when there is none)."""
    path = _folder(directory) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path}: manifest is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: manifest must be a JSON object")
    for name, entry in data.items():
        _check_entry(path, name, entry)
    return data


def _check_entry(path: Path, name: str, entry) -> None:
    """Raise ``WeightsError`` naming the manifest key unless ``entry`` is a well-formed record
    whose file lies inside the weights folder."""
    where = f"{path}: entry '{name}'"
    if not isinstance(entry, dict):
        raise WeightsError(f"{where} must be an object, got {type(entry).__name__}")
    file = entry.get("file", f"{name}.pt")
    if (
        not isinstance(file, str)
        or not file
        or Path(file).name != file
        or file in (".", "..")
        or file.startswith(".")
        or "\\" in file
    ):
        raise WeightsError(f"{where}: key 'file' must be a plain file name inside the weights folder, got {file!r}")
    if not isinstance(entry.get("sha256"), str) or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
        raise WeightsError(f"{where}: key 'sha256' must be 64 lowercase hex digits")
    if "bytes" in entry and (
        not isinstance(entry["bytes"], int) or isinstance(entry["bytes"], bool) or entry["bytes"] < 0
    ):
        raise WeightsError(f"{where}: key 'bytes' must be a non-negative integer")
    if not isinstance(entry.get("meta", {}), dict):
        raise WeightsError(f"{where}: key 'meta' must be an object")


@contextlib.contextmanager
def _manifest_lock(folder: Path) -> Iterator[None]:
    """Exclusive ``flock`` on the weights folder itself (blocks until the other writer is done).

    Locking the directory's file descriptor leaves no lock file behind in the repository.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def update_manifest(name: str, entry: dict | None, directory: str | os.PathLike | None = None) -> dict:
    """Set (or remove, when ``entry`` is None) one manifest entry, safely for concurrent writers.

    Returns
    -------
    dict
        The manifest after the update.
    """
    folder = _folder(directory)
    _check_name(name)
    with _manifest_lock(folder):
        manifest = read_manifest(folder)
        if entry is None:
            manifest.pop(name, None)
        else:
            manifest[name] = entry
        text = json.dumps(dict(sorted(manifest.items())), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(folder / MANIFEST_NAME, text.encode("utf-8"))
    return manifest


def state_dict_of(module_or_state) -> dict[str, torch.Tensor]:
    """Detached CPU copies of a module's state dict (or of a given state dict)."""
    state = module_or_state.state_dict() if isinstance(module_or_state, torch.nn.Module) else module_or_state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError("save_weights expects an nn.Module or a dict of tensors")
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def save_weights(name: str, module, meta: dict | None = None, directory: str | os.PathLike | None = None) -> Path:
    """Save a network's state dict as ``NAME.pt`` and record its checksum and ``meta``.

    Parameters
    ----------
    name : str
        Weights name (file stem), e.g. ``"dncnn"``.
    module : torch.nn.Module or dict of Tensor
    meta : dict, optional
        JSON-serialisable description (architecture sizes, training settings, validation figures).
    directory : path, optional
        Weights folder (default resources/weights).

    Returns
    -------
    Path
        The written file.
    """
    path = weights_path(name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        torch.save(state_dict_of(module), handle)
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "meta": json.loads(json.dumps(meta or {})),
    }
    update_manifest(name, entry, path.parent)
    return path


def weights_meta(name: str, directory: str | os.PathLike | None = None) -> dict:
    """The ``meta`` recorded for ``name`` in the manifest (raises WeightsError if unknown)."""
    manifest = read_manifest(directory)
    if _check_name(name) not in manifest:
        raise WeightsError(
            f"weights '{name}' are not in {_folder(directory) / MANIFEST_NAME}; "
            f"available: {sorted(manifest)} (train them with `python -m core train {name}`)"
        )
    return dict(manifest[name].get("meta", {}))


def load_state(
    name: str, directory: str | os.PathLike | None = None, map_location: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Read ``NAME.pt`` after verifying its SHA-256 against the manifest.

    Raises
    ------
    WeightsError
        Unknown name, missing file, checksum mismatch, or a file that is not a plain state dict
        (``torch.load(..., weights_only=True)`` refuses pickled objects).
    """
    folder = _folder(directory)
    manifest = read_manifest(folder)
    if _check_name(name) not in manifest:
        raise WeightsError(
            f"weights '{name}' are not in {folder / MANIFEST_NAME}; "
            f"available: {sorted(manifest)} (train them with `python -m core train {name}`)"
        )
    entry = manifest[name]
    path = folder / entry.get("file", f"{name}.pt")
    if not path.is_file():
        raise WeightsError(
            f"weights file {path} is missing" if not path.exists() else f"weights file {path} is not a regular file"
        )
    expected = entry.get("bytes")
    if expected is not None and path.stat().st_size != expected:
        raise WeightsError(
            f"weights file {path}: {path.stat().st_size} bytes, the manifest says {expected}; "
            "the file was modified or truncated"
        )
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise WeightsError(
            f"weights file {path}: SHA-256 {digest[:12]}… does not match the manifest "
            f"({str(entry.get('sha256'))[:12]}…); the file was modified or corrupted"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # the unpickler refuses anything but tensors and containers
        raise WeightsError(f"weights file {path} could not be loaded safely: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weights file {path} does not hold a state dict of tensors")
    return state


def load_weights(name: str, module: torch.nn.Module, directory: str | os.PathLike | None = None) -> dict:
    """Load verified weights ``name`` into ``module`` (on the module's device); return its meta.

    Raises
    ------
    WeightsError
        As :func:`load_state`, or when the tensors do not fit ``module``.
    """
    state = load_state(name, directory)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights '{name}' do not fit {type(module).__name__}: {exc}") from None
    return weights_meta(name, directory)


def meta_int(meta: dict, key: str, default, low: int, high: int, name: str) -> int:
    """An integer architecture size from a manifest ``meta``, checked against [low, high] before
    anything is allocated (a tampered manifest must not ask for terabytes)."""
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WeightsError(f"weights '{name}': manifest meta '{key}' = {value!r} must be an integer in [{low}, {high}]")
    return value


# --- the one cache of loaded networks -------------------------------------------------------------

_NETWORKS: dict[tuple, torch.nn.Module] = {}


def cached_network(architecture, name: str, directory: str | os.PathLike | None = None) -> torch.nn.Module:
    """The frozen CPU network ``name``, loaded once per process (SHA-256 checked).

    Parameters
    ----------
    architecture : type or callable
        A class with ``from_state_dict(state)`` (its sizes are read off the tensors), or a
        callable ``architecture(meta) -> nn.Module`` building the network from the manifest's
        ``meta`` before the weights are loaded into it.
    name : str
        Weights name.
    directory : path, optional
        Weights folder (default :func:`core.paths.weights_dir`).
    """
    folder = _folder(directory).resolve()
    key = (
        getattr(architecture, "__module__", ""),
        getattr(architecture, "__qualname__", repr(architecture)),
        str(folder),
        name,
    )
    if key not in _NETWORKS:
        if hasattr(architecture, "from_state_dict"):
            net = architecture.from_state_dict(load_state(name, folder))
        else:
            net = architecture(weights_meta(name, folder))
            load_weights(name, net, folder)
        _NETWORKS[key] = frozen(net)
    return _NETWORKS[key]


def network_on(
    net: torch.nn.Module,
    like: torch.Tensor | None = None,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.nn.Module:
    """A frozen copy of ``net`` on ``like``'s device and (real) dtype, or on ``device``/``dtype``."""
    if like is not None:
        device = like.device
        dtype = like.real.dtype if like.is_complex() else like.dtype
    return frozen(copy.deepcopy(net).to(device=device, dtype=dtype))


def frozen(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` in eval mode with every parameter's gradient off (works for TorchScript modules too)."""
    net.eval()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


def check_trained_ratio(name: str, operator, solver: str, tolerance: float = 5.0) -> None:
    """Raise ``ValueError`` when the weights ``name`` were trained at a sampling ratio (manifest meta
    ``ratio``, %) that differs from the operator's by more than ``tolerance`` points."""
    trained = weights_meta(name).get("ratio")
    if trained is None or operator.sampling_ratio is None:
        return
    ratio = 100.0 * operator.sampling_ratio
    if abs(ratio - float(trained)) > tolerance:
        raise ValueError(
            f"solver '{solver}': weights '{name}' were trained at {trained} % sampling, the problem "
            f"samples {ratio:.0f} %; use weights trained near {ratio:.0f} % (or 'auto')"
        )


def init_from_weights(model: torch.nn.Module, name: str, directory: Path) -> dict:
    """Load the weights ``name`` (from ``directory``, else the shipped folder) into ``model``.

    Returns what the log records: name, SHA-256 and the earlier training's settings and wall time.

    Raises
    ------
    ValueError
        Unknown or corrupt weights, or a state dict that does not fit ``model``.
    """
    folder = directory if name in read_manifest(directory) else weights_dir()
    state = load_state(name, folder)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()] or ["mismatch"]
        first = lines[0][:160]
        raise ValueError(f"--init {name}: the weights do not fit this network ({first})") from None
    entry = read_manifest(folder)[name]
    earlier = entry.get("meta", {}).get("training", {})
    return {
        "from": name,
        "sha256": entry["sha256"],
        "earlier_wall_seconds": earlier.get("wall_seconds"),
        "earlier_settings": earlier.get("settings"),
    }
