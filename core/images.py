"""Test images: the built-in catalogue, file loading with validation, colour conversions.

Every loader returns float64 arrays with intensities in [0, 1], shaped (H, W) for grey images
(or when ``grayscale=True``) and (H, W, 3) for colour. Bad input raises :class:`ImageError`
(a ``ValueError``) whose message names the file and the reason.

Formats: PNG (1–16 bit, grey, grey+alpha, RGB, RGBA, palette), JPEG, BMP, GIF (single frame),
TIFF (8/16-bit integer or float, chunky or planar; uncompressed, PackBits, Deflate by tifffile,
LZW and JPEG by Pillow).
Pillow reduces 16-bit colour PNGs to 8 bits, so those are decoded by :mod:`core.png16`.
"""

from __future__ import annotations

import difflib
import functools
import io
import os
import warnings
from pathlib import Path

import numpy as np

from .atomic import atomic_open
from .colour import rgb_to_ycbcr, ycbcr_to_rgb  # noqa: F401  (part of this module's API)
from .png16 import decode_png16

MIN_SIDE = 8  # smallest accepted side, pixels
MAX_SIDE = 8192  # largest side accepted unless ``allow_huge``
MAX_PIXELS = 50_000_000  # largest image (H·W) accepted unless ``allow_huge`` (a 4.8 GB float64 RGB stack)
MAX_FILE_BYTES = 512 << 20  # largest image file read unless ``allow_huge`` (checked before reading)

# Images that ship inside the scikit-image wheel (no download), checked for skimage 0.26.
CATALOGUE: dict[str, str] = {
    "camera": "Cameraman, grey 512×512",
    "astronaut": "Astronaut Eileen Collins, colour 512×512",
    "coffee": "Cup of coffee, colour 400×600",
    "chelsea": "Chelsea the cat, colour 300×451",
    "moon": "Lunar surface, grey 512×512",
    "brick": "Brick wall texture, grey 512×512",
    "grass": "Grass texture, grey 512×512",
    "gravel": "Gravel texture, grey 512×512",
    "text": "Printed text on a textured background, grey 172×448",
    "page": "Scanned page of text, grey 191×384",
    "coins": "Greek coins, grey 303×384",
    "clock": "Clock with motion blur, grey 300×400",
    "cell": "Cell microscopy, grey 660×550",
    "horse": "Horse silhouette, binary 328×400",
    "checkerboard": "Checkerboard, grey 200×200",
    "shepp_logan_phantom": "Shepp–Logan phantom, grey 400×400",
    "microaneurysms": "Retinal microaneurysms, grey 102×102",
    "rocket": "Rocket launch, colour 427×640",
    "immunohistochemistry": "Immunohistochemistry stain, colour 512×512",
    "colorwheel": "Colour wheel, colour 370×371",
    "hubble_deep_field": "Hubble deep field, colour 872×1000",
    "retina": "Human retina, colour 1411×1411",
}

_LUMA_601 = np.array([0.299, 0.587, 0.114])  # full-range luma for grayscale=True
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class ImageError(ValueError):
    """An image source that cannot be used; the message names the source and the reason."""


def catalogue_names() -> list[str]:
    """Names of the built-in images, in catalogue order."""
    return list(CATALOGUE)


def load_image(
    source, *, size: int | None = None, grayscale: bool = True, allow_huge: bool = False, multiple_of: int = 1
) -> np.ndarray:
    """Load a catalogue image or an image file as float64 in [0, 1].

    Parameters
    ----------
    source : str or os.PathLike
        A name from :data:`CATALOGUE` or the path of a PNG/JPEG/TIFF/BMP/GIF file.
    size : int, optional
        Resize (anti-aliased, bicubic) so that the longer side is ``size`` pixels.
    grayscale : bool
        Convert colour to ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B (full range).
    allow_huge : bool
        Accept images with a side larger than ``MAX_SIDE`` (8192) pixels.
    multiple_of : int
        Crop (centred) so both sides are multiples of this (e.g. the SR scale).

    Returns
    -------
    np.ndarray
        float64, shape (H, W) for grey images or ``grayscale=True``, else (H, W, 3).
        Alpha channels are dropped.

    Raises
    ------
    ImageError
        Missing, empty, corrupt or non-image file; unknown catalogue name; too small (< 8 px)
        or too large a side; a 3-D stack; more than 4 channels; NaN/inf or out-of-range values.
    ValueError
        ``size`` or ``multiple_of`` invalid.
    """
    for name, value, low in (("size", size, MIN_SIDE), ("multiple_of", multiple_of, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low):
            raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    label, image = _read_source(source, allow_huge)
    if grayscale and image.ndim == 3:
        image = image @ _LUMA_601
    if size is not None:
        image = _resize_longer_side(image, int(size))
    if multiple_of > 1:
        h, w = image.shape[:2]
        ch, cw = h - h % multiple_of, w - w % multiple_of
        top, left = (h - ch) // 2, (w - cw) // 2
        image = image[top : top + ch, left : left + cw]
        if min(ch, cw) < MIN_SIDE:
            raise ImageError(
                f"{label}: cropping {h}×{w} to a multiple of {multiple_of} leaves "
                f"{ch}×{cw} pixels; at least {MIN_SIDE}×{MIN_SIDE} are needed"
            )
    return np.ascontiguousarray(image, dtype=np.float64)


def _read_source(source, allow_huge: bool) -> tuple[str, np.ndarray]:
    """Return (label for messages, float image (H, W) or (H, W, 3) in [0, 1])."""
    if isinstance(source, str) and source.strip().lower() in CATALOGUE:
        name = source.strip().lower()
        return f"catalogue image '{name}'", _catalogue_image(name).copy()
    if not isinstance(source, (str, os.PathLike)):
        raise ImageError(f"image source must be a catalogue name or a file path, got {type(source).__name__}")
    path, text = Path(source), str(source)
    if not (path.suffix or os.sep in text or "/" in text or path.exists()):
        key = text.strip().lower()
        close = difflib.get_close_matches(key, catalogue_names(), n=3, cutoff=0.6)
        close += [n for n in catalogue_names() if key and key in n and n not in close]
        hint = (
            f"; did you mean {', '.join(repr(c) for c in close)}?"
            if close
            else f"; known names: {', '.join(catalogue_names())}"
        )
        raise ImageError(f"unknown image '{text}': not a catalogue name or an existing file{hint}")
    label = f"image file '{path}'"
    if not path.is_file():
        kind = "is a directory, not an image file" if path.is_dir() else "not a regular file (a FIFO, socket or device)"
        raise ImageError(f"{label}: " + (kind if path.exists() else "file not found"))
    try:
        file_bytes = path.stat().st_size
        if file_bytes > MAX_FILE_BYTES and not allow_huge:
            raise ImageError(
                f"{label}: file is {file_bytes >> 20} MiB, larger than {MAX_FILE_BYTES >> 20} MiB "
                "(pass allow_huge=True to load it anyway)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) == 0:
        raise ImageError(f"{label}: file is empty (0 bytes)")
    try:
        raw = _decode(data, label, allow_huge)
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001  (decoders raise many types on corrupt input)
        raise ImageError(f"{label}: corrupt or unreadable image ({type(exc).__name__}: {exc})") from exc
    return label, _normalise(raw, label, allow_huge)


@functools.lru_cache(maxsize=4)
def _catalogue_image(name: str) -> np.ndarray:
    """A catalogue image from the scikit-image distribution, normalised (cached, read-only)."""
    import skimage.data

    image = _normalise(np.asarray(getattr(skimage.data, name)()), f"catalogue image '{name}'", True)
    image.flags.writeable = False
    return image


def _check_side_lengths(shape: tuple[int, int], label: str, allow_huge: bool) -> None:
    h, w = shape
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"{label}: image is {h}×{w} pixels; at least {MIN_SIDE}×{MIN_SIDE} are needed")
    if max(h, w) > MAX_SIDE and not allow_huge:
        raise ImageError(
            f"{label}: image is {h}×{w} pixels, larger than {MAX_SIDE} on a side "
            "(pass allow_huge=True to load it anyway)"
        )
    if h * w > MAX_PIXELS and not allow_huge:
        raise ImageError(
            f"{label}: image is {h}×{w} = {h * w} pixels, more than {MAX_PIXELS} "
            "(pass allow_huge=True to load it anyway)"
        )


def _decode(data: bytes, label: str, allow_huge: bool) -> np.ndarray:
    """Decode file bytes (format sniffed from the content, not the extension)."""
    if data[:4] in _TIFF_MAGICS:
        try:
            return _decode_tiff(data, label, allow_huge)
        except ValueError as exc:  # LZW/JPEG need imagecodecs in tifffile; Pillow has them
            if "imagecodecs" not in str(exc):
                raise
    if data[:8] == _PNG_MAGIC and len(data) >= 26 and data[24] == 16 and data[25] in (2, 4, 6):
        return decode_png16(data, label, allow_huge)
    from PIL import Image, UnidentifiedImageError

    try:
        pil = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageError(f"{label}: not a recognised image format (PNG, JPEG, TIFF, BMP, GIF)") from exc
    with pil:
        if getattr(pil, "n_frames", 1) > 1:
            raise ImageError(
                f"{label}: holds {pil.n_frames} frames (an animation or stack); a single 2-D image is needed"
            )
        _check_side_lengths((pil.height, pil.width), label, allow_huge)
        pil.load()
        mode = pil.mode
        if mode in ("P", "PA"):
            pil = pil.convert("RGBA" if mode == "PA" or "transparency" in pil.info else "RGB")
        elif mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
            pil = pil.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
        array = np.asarray(pil)
    if array.dtype == np.int32:  # Pillow's "I" mode: accept 16-bit range only
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ImageError(f"{label}: 32-bit integer samples are not supported")
        array = array.astype(np.uint16)
    return array


def _decode_tiff(data: bytes, label: str, allow_huge: bool) -> np.ndarray:
    """Decode a TIFF with tifffile; channel axes (S, C) go last, other axes are a stack."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        series = tif.series[0]
        axes, shape = series.axes, series.shape
        if len(tif.series) > 1:
            sizes = ["×".join(map(str, s.shape)) for s in tif.series[:4]] + ["…"] * (len(tif.series) > 4)
            message = f"holds {len(tif.series)} images; using the first ({sizes[0]}), ignoring the others"
            warnings.warn(f"{label}: {message} ({', '.join(sizes[1:])})", UserWarning, stacklevel=4)
        kept = [(a, n) for a, n in zip(axes, shape) if n > 1 or a in "YX"]
        stack = [a for a, n in kept if a not in "YXSC"]
        if stack or "Y" not in axes or "X" not in axes or len(kept) > 3:
            raise ImageError(
                f"{label}: holds a stack of images (axes {axes}, shape {tuple(shape)}); a single 2-D image is needed"
            )
        _check_side_lengths((shape[axes.index("Y")], shape[axes.index("X")]), label, allow_huge)
        array = series.asarray()
    order = [axes.index(a) for a in "YX"] + [i for i, a in enumerate(axes) if a not in "YX"]
    array = np.transpose(array, order)
    return array.reshape(array.shape[:2] + (-1,)) if array.ndim > 2 else array


def _normalise(array: np.ndarray, label: str, allow_huge: bool) -> np.ndarray:
    """Decoded samples → float64 in [0, 1], (H, W) or (H, W, 3); validates shape and values."""
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))  # e.g. Pillow's "I;16B"
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3):
        raise ImageError(f"{label}: array of shape {array.shape} is not a 2-D image")
    if array.ndim == 3 and array.shape[2] > 4:
        raise ImageError(f"{label}: has {array.shape[2]} channels; at most 4 (RGBA) are supported")
    _check_side_lengths(array.shape[:2], label, allow_huge)
    if array.ndim == 3:  # drop alpha: grey+alpha → grey, RGBA → RGB
        array = array[..., 0] if array.shape[2] == 2 else array[..., :3]
    if array.dtype == np.bool_:
        return array.astype(np.float64)
    if array.dtype in (np.uint8, np.uint16):
        return array / float(np.iinfo(array.dtype).max)
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise ImageError(f"{label}: contains NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -1e-3 or high > 1 + 1e-3:
            raise ImageError(f"{label}: floating-point values must lie in [0, 1], found [{low:.4g}, {high:.4g}]")
        return np.clip(array, 0.0, 1.0)
    raise ImageError(f"{label}: unsupported sample type {array.dtype} (use 8/16-bit integers or float)")


def _resize_longer_side(image: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased bicubic resize so that max(H, W) == size."""
    from skimage.transform import resize

    h, w = image.shape[:2]
    scale = size / max(h, w)
    shape = (max(1, round(h * scale)), max(1, round(w * scale)))
    if shape == (h, w):
        return image
    if min(shape) < MIN_SIDE:
        raise ValueError(
            f"size={size} would make the {h}×{w} image {shape[0]}×{shape[1]}; "
            f"at least {MIN_SIDE} pixels are needed on the shorter side"
        )
    return resize(image, shape + image.shape[2:], order=3, mode="reflect", anti_aliasing=scale < 1, clip=True)


# --- output helpers ----------------------------------------------------------------------------
def to_uint8(img) -> np.ndarray:
    """Float image in [0, 1] (numpy or torch) → uint8 by clipping and rounding; uint8 passes through."""
    if hasattr(img, "detach"):
        img = img.detach().cpu().numpy()
    array = np.asarray(img)
    if array.dtype == np.uint8:
        return array.copy()
    return np.round(np.clip(np.nan_to_num(array.astype(np.float64), nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)


def save_png(path, img) -> None:
    """Write an 8-bit PNG atomically (temporary file in the same folder, then ``os.replace``).

    Parameters
    ----------
    path : str or os.PathLike
    img : array-like
        (H, W), (H, W, 3) or (H, W, 4); float in [0, 1] or uint8.
    """
    from PIL import Image

    array = to_uint8(img)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(f"img must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    with atomic_open(path, "wb", make_parents=False) as handle:
        Image.fromarray(array).save(handle, format="PNG")


def thumbnail(name_or_array, size: int = 64) -> np.ndarray:
    """A small uint8 preview whose longer side is ``size`` pixels (colour kept).

    Parameters
    ----------
    name_or_array : str, os.PathLike or np.ndarray
        Catalogue name, file path, or a float image in [0, 1] ((H, W) or (H, W, 3)).
    size : int
        Longer side in pixels (≥ 8).
    """
    if isinstance(name_or_array, (str, os.PathLike)):
        return to_uint8(load_image(name_or_array, size=size, grayscale=False))
    array = np.asarray(name_or_array, dtype=np.float64)
    return to_uint8(_resize_longer_side(array, int(size)))
