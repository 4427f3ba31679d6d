"""Blur kernels: generation (Gaussian, box, line, random camera shake) and loading (PNG/NPY/MAT).

Every function returns a 2-D float64 numpy array with non-negative mass summing to 1 whose
centre pixel is ``(size // 2, size // 2)``. Kernels are square; generated ones have odd sides.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..paths import levin_kernels_file

#: Where the Levin et al. (2009) kernels live when the shared data folder is present.

#: Variable names looked for first in a MATLAB file holding several arrays.
_PREFERRED_MAT_NAMES = ("kernel", "kernels", "k", "psf", "h", "blur")


def validate_kernel(kernel: np.ndarray, source: str) -> np.ndarray:
    """Check that ``kernel`` is a usable blur kernel and normalise it to sum 1.

    Parameters
    ----------
    kernel : array_like
        Candidate kernel.
    source : str
        What the kernel came from (file name or parameter), used in error messages.

    Returns
    -------
    np.ndarray
        float64 copy divided by its sum.

    Raises
    ------
    ValueError
        If the kernel is not 2-D, empty, not square, not finite or does not have a positive sum.
    """
    k = np.asarray(kernel)
    if k.dtype == object or not (np.issubdtype(k.dtype, np.number) or k.dtype == bool):
        raise ValueError(f"kernel from {source}: not a numeric array (dtype {k.dtype})")
    k = k.astype(np.float64)
    if k.ndim != 2:
        raise ValueError(f"kernel from {source}: must be a 2-D array, got shape {k.shape}")
    if k.size == 0:
        raise ValueError(f"kernel from {source}: is empty (shape {k.shape})")
    if k.shape[0] != k.shape[1]:
        raise ValueError(f"kernel from {source}: must be square, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ValueError(f"kernel from {source}: contains NaN or infinite values")
    total = k.sum()
    if not total > 0:
        raise ValueError(f"kernel from {source}: entries must sum to a positive number, got {total:g}")
    return k / total


def gaussian_kernel(sigma: float, size: int) -> np.ndarray:
    """Isotropic Gaussian exp(−r²/2σ²) on a ``size``×``size`` grid (odd size), normalised."""
    _require_odd(size, "kernel_size")
    if not sigma > 0:
        raise ValueError(f"kernel_sigma must be positive, got {sigma}")
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma * sigma))
    return g / g.sum()


def box_kernel(size: int) -> np.ndarray:
    """Uniform ``size``×``size`` averaging kernel (odd size)."""
    _require_odd(size, "kernel_size")
    return np.full((size, size), 1.0 / (size * size))


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Linear motion: a segment of ``length`` px at ``angle_deg`` (counter-clockwise from the
    horizontal axis, image rows pointing down), rasterised with bilinear splatting."""
    if not length > 0:
        raise ValueError(f"motion_length must be positive, got {length}")
    half = math.ceil(length / 2.0)
    n = max(2, int(math.ceil(length * 20)))
    t = np.linspace(-length / 2.0, length / 2.0, n)
    theta = math.radians(angle_deg)
    rows = half - t * math.sin(theta)
    cols = half + t * math.cos(theta)
    return _splat(rows, cols, 2 * half + 1)


def motion_kernel(length: float, generator: torch.Generator, n_steps: int = 2000) -> np.ndarray:
    """Random camera-shake kernel: a random walk with momentum of path length ``length`` px.

    The heading ``d`` (a unit vector) keeps its direction from step to step (momentum), receives
    small Gaussian perturbations (hand tremor, std √(3/n) per step, so the heading diffuses by
    about √3 rad over the whole path), is pulled back toward the start (centripetal term −4p/n,
    p in units of the path length) and, with probability 2/n per step, receives a jerk
    (std 0.7). The path is sampled on ``n_steps`` points, centred on its centroid and
    rasterised by bilinear splatting onto the smallest odd square canvas that holds it.

    Parameters
    ----------
    length : float
        Path length in pixels.
    generator : torch.Generator
        Seeded generator: the same seed gives the same kernel.
    n_steps : int
        Number of samples along the path.
    """
    if not length > 0:
        raise ValueError(f"motion_length must be positive, got {length}")
    tremor = torch.randn(n_steps, 2, generator=generator, dtype=torch.float64).numpy()
    jerk = torch.randn(n_steps, 2, generator=generator, dtype=torch.float64).numpy()
    jerk_on = (torch.rand(n_steps, generator=generator, dtype=torch.float64) < 2.0 / n_steps).numpy()
    angle0 = float(torch.rand(1, generator=generator, dtype=torch.float64)) * 2.0 * math.pi
    d = np.array([math.cos(angle0), math.sin(angle0)])
    tremor_std = math.sqrt(3.0 / n_steps)
    p = np.zeros(2)
    path = np.empty((n_steps, 2))
    for i in range(n_steps):
        d = d + tremor_std * tremor[i] - (4.0 / n_steps) * p + (0.7 * jerk[i] if jerk_on[i] else 0.0)
        d = d / max(np.linalg.norm(d), 1e-12)
        p = p + d / n_steps
        path[i] = p
    path = path * length
    path = path - path.mean(axis=0)
    half = int(math.ceil(np.abs(path).max())) + 1
    return _splat(path[:, 0] + half, path[:, 1] + half, 2 * half + 1)


def load_kernel_file(path: str | Path, index: int = 1) -> np.ndarray:
    """Read a kernel from a PNG (or other image), NPY or MAT file and normalise it to sum 1.

    Parameters
    ----------
    path : str or Path
        ``.npy`` (``allow_pickle=False``), ``.mat`` (MATLAB ≤ v7 via ``scipy.io.loadmat``,
        v7.3 via ``h5py``) or an image readable by imageio (colour images are averaged).
    index : int
        1-based entry to take when the MAT variable is a cell array (e.g. Levin's 8 kernels).

    Raises
    ------
    ValueError
        Naming the file and the reason (missing, unreadable, not a valid kernel).
    """
    path = Path(path)
    if not str(path) or str(path) == ".":
        raise ValueError("kernel_path is empty: give a PNG, NPY or MAT file")
    if not path.is_file():
        raise ValueError(f"kernel file '{path}' does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            raw = np.load(path, allow_pickle=False)
        elif suffix == ".mat":
            raw = _read_mat(path, index)
        else:
            import imageio.v3 as iio

            raw = np.asarray(iio.imread(path), dtype=np.float64)
            if raw.ndim == 3:
                raw = raw[..., :3].mean(axis=2)
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"kernel file '{path}': {exc}") from None
    except Exception as exc:  # unreadable or corrupt file
        raise ValueError(f"kernel file '{path}' could not be read: {exc}") from None
    return validate_kernel(raw, f"'{path}'")


def levin_kernel(index: int, path: str | Path | None = None) -> np.ndarray:
    """Kernel ``index`` (1–8) of Levin et al. (2009), read from ``Levin09.mat``.

    Parameters
    ----------
    index : int
        1-based kernel number.
    path : str or Path, optional
        The MAT file (default :func:`core.paths.levin_kernels_file`, in the benchmark data folder).
    """
    path = Path(path) if path else levin_kernels_file()
    if not path.is_file():
        raise ValueError(f"Levin kernels file '{path}' not found: put Levin09.mat there or set kernel_path")
    return load_kernel_file(path, index=index)


# --- helpers -------------------------------------------------------------------------------
def _require_odd(size: int, name: str) -> None:
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer, got {size}")


def _splat(rows: np.ndarray, cols: np.ndarray, side: int) -> np.ndarray:
    """Bilinear splatting of equal-mass points onto a ``side``×``side`` canvas, sum 1."""
    if side == 1:
        return np.ones((1, 1))
    canvas = np.zeros((side, side))
    rows = np.clip(rows, 0.0, side - 1.0)
    cols = np.clip(cols, 0.0, side - 1.0)
    r0 = np.minimum(np.floor(rows).astype(int), side - 2)
    c0 = np.minimum(np.floor(cols).astype(int), side - 2)
    fr, fc = rows - r0, cols - c0
    np.add.at(canvas, (r0, c0), (1 - fr) * (1 - fc))
    np.add.at(canvas, (r0 + 1, c0), fr * (1 - fc))
    np.add.at(canvas, (r0, c0 + 1), (1 - fr) * fc)
    np.add.at(canvas, (r0 + 1, c0 + 1), fr * fc)
    return canvas / canvas.sum()


def _read_mat(path: Path, index: int) -> np.ndarray:
    """The kernel array of a MAT file (cell arrays: entry ``index``, 1-based)."""
    import h5py
    import scipy.io

    if h5py.is_hdf5(path):  # MATLAB v7.3 = HDF5
        return _read_mat_v73(path, index)
    data = scipy.io.loadmat(path)
    names = [n for n in data if not n.startswith("__")]
    value = data[_pick_name(names, path)]
    if value.dtype == object:  # cell array, column-major order as MATLAB numbers it
        cells = value.flatten(order="F")
        return np.asarray(cells[_cell_index(index, len(cells), path)])
    return value


def _read_mat_v73(path: Path, index: int) -> np.ndarray:
    import h5py

    with h5py.File(path, "r") as f:
        names = [n for n in f.keys() if not n.startswith("#")]
        ds = f[_pick_name(names, path)]
        if not isinstance(ds, h5py.Dataset):
            raise ValueError(f"kernel file '{path}': variable '{ds.name}' is not an array")
        if ds.attrs.get("MATLAB_class", b"") in (b"cell", "cell"):
            refs = np.asarray(ds[()]).T.flatten(order="F")  # HDF5 stores MATLAB arrays transposed
            return np.asarray(f[refs[_cell_index(index, len(refs), path)]][()]).T
        return np.asarray(ds[()]).T


def _pick_name(names: list[str], path: Path) -> str:
    if not names:
        raise ValueError(f"kernel file '{path}' holds no variables")
    for preferred in _PREFERRED_MAT_NAMES:
        if preferred in names:
            return preferred
    if len(names) == 1:
        return names[0]
    raise ValueError(
        f"kernel file '{path}' holds several variables {sorted(names)}; name the kernel one of "
        f"{list(_PREFERRED_MAT_NAMES)}"
    )


def _cell_index(index: int, count: int, path: Path) -> int:
    if not 1 <= index <= count:
        raise ValueError(f"kernel file '{path}': index {index} out of range 1..{count}")
    return index - 1
