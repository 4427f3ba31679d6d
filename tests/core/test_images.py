"""Image loading (every format / bit depth, every bad input), catalogue, colour helpers."""

from __future__ import annotations

import os
import socket
import struct
import zlib

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from skimage.color import rgb2ycbcr, ycbcr2rgb
from skimage.transform import resize

from core.images import (
    CATALOGUE,
    ImageError,
    catalogue_names,
    load_image,
    rgb_to_ycbcr,
    save_png,
    thumbnail,
    to_uint8,
    ycbcr_to_rgb,
)

RNG = np.random.default_rng(1234)


def _random(shape, dtype=np.uint8):
    return RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def _smooth_rgb(h=32, w=40):
    """A smooth colour image (JPEG keeps it within a few grey levels)."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    return np.stack([0.2 + 0.6 * xx, 0.3 + 0.5 * yy, 0.5 + 0.3 * np.sin(3 * xx + 2 * yy)], axis=-1)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _write_png(path, array, bit_depth=16):
    """Independent PNG encoder; row r uses filter r % 5 (None, Sub, Up, Average, Paeth)."""
    if array.ndim == 2:
        array = array[..., None]
    h, w, c = array.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = array.astype(">u2" if bit_depth == 16 else "u1").reshape(h, -1).view(np.uint8).astype(np.int64)
    bpp = c * bit_depth // 8
    lines = []
    for r in range(h):
        x = rows[r]
        a = np.concatenate([np.zeros(bpp, np.int64), x[:-bpp]])
        b = rows[r - 1] if r else np.zeros_like(x)
        c_ = np.concatenate([np.zeros(bpp, np.int64), b[:-bpp]])
        predictor = [0, a, b, (a + b) // 2, _paeth(a, b, c_)][r % 5]
        lines.append(bytes([r % 5]) + ((x - predictor) % 256).astype(np.uint8).tobytes())

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(lines)))
            + chunk(b"IEND", b"")
        )


# --- every supported format and bit depth -------------------------------------------------------
MODES = {"L": (20, 24), "LA": (20, 24, 2), "RGB": (20, 24, 3), "RGBA": (20, 24, 4)}


@pytest.mark.parametrize(
    "ext,mode", [(ext, mode) for ext in ("png", "bmp", "tif") for mode in MODES if (ext, mode) != ("bmp", "LA")]
)  # BMP has no grey+alpha
def test_8bit_files_load_exactly(tmp_path, ext, mode):
    shape = MODES[mode]
    data = _random(shape)
    path = tmp_path / f"img_{mode}.{ext}"
    Image.fromarray(data, mode=mode).save(path, **({"compression": "packbits"} if ext == "tif" else {}))
    got = load_image(path, grayscale=False)
    colour = data[..., :3] if data.ndim == 3 and shape[2] >= 3 else (data[..., 0] if data.ndim == 3 else data)
    assert got.dtype == np.float64 and got.shape == colour.shape
    np.testing.assert_array_equal(got, colour / 255.0)


@pytest.mark.parametrize("levels", [65536, 3])  # 3 levels: many Paeth ties
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16bit_png_every_filter_type(tmp_path, channels, levels):
    data = (RNG.integers(0, levels, (11, 13, channels)) * (65535 // (levels - 1))).astype(np.uint16).squeeze()
    path = tmp_path / "deep.png"
    _write_png(path, data)
    got = load_image(path, grayscale=False)
    colour = data if channels == 1 else (data[..., 0] if channels == 2 else data[..., :3])
    np.testing.assert_array_equal(got, colour / 65535.0)


def test_16bit_png_paeth_tie_breaks_towards_b(tmp_path):
    # row 4 uses Paeth; at pixel (4, 1) every byte has a=110, b=80, c=100 so |p−b| = |p−c| = 10
    data = np.zeros((8, 8, 3), np.uint16)
    data[3, 0], data[3, 1], data[4, 0], data[4, 1] = 100 * 257, 80 * 257, 110 * 257, 7 * 257
    _write_png(tmp_path / "tie.png", data)
    np.testing.assert_array_equal(load_image(tmp_path / "tie.png", grayscale=False), data / 65535.0)


def test_8bit_png_written_by_own_encoder_matches_pillow_decode(tmp_path):
    data = _random((10, 9, 3))
    _write_png(tmp_path / "e.png", data, bit_depth=8)
    np.testing.assert_array_equal(load_image(tmp_path / "e.png", grayscale=False), data / 255.0)


def test_16bit_tiff_packbits_and_planar(tmp_path):
    grey = _random((16, 18), np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.tif", compression="packbits")
    with tifffile.TiffFile(tmp_path / "g16.tif") as tif:
        assert tif.pages[0].compression == 32773  # really PackBits
    np.testing.assert_array_equal(load_image(tmp_path / "g16.tif"), grey / 65535.0)
    rgb = _random((16, 18, 3), np.uint16)
    tifffile.imwrite(tmp_path / "c16.tif", rgb, photometric="rgb")
    np.testing.assert_array_equal(load_image(tmp_path / "c16.tif", grayscale=False), rgb / 65535.0)
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(load_image(tmp_path / "planar.tif", grayscale=False), rgb / 65535.0)


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate"])
def test_compressed_tiff(tmp_path, compression):
    rgb = _random((12, 16, 3))
    Image.fromarray(rgb).save(tmp_path / "c.tif", compression=compression)
    np.testing.assert_array_equal(load_image(tmp_path / "c.tif", grayscale=False), rgb / 255.0)


def test_float_tiff_validated_and_clipped(tmp_path):
    values = RNG.random((12, 10)).astype(np.float32)
    values[0, 0], values[0, 1] = -1e-4, 1 + 1e-4  # tiny excursions are clipped
    tifffile.imwrite(tmp_path / "f.tif", values)
    got = load_image(tmp_path / "f.tif")
    np.testing.assert_allclose(got, np.clip(values, 0, 1).astype(np.float64))
    assert got.min() == 0.0 and got.max() == 1.0


def test_jpeg_within_compression_loss(tmp_path):
    rgb = _smooth_rgb()
    Image.fromarray(to_uint8(rgb)).save(tmp_path / "c.jpg", quality=95)
    got = load_image(tmp_path / "c.jpg", grayscale=False)
    assert got.shape == rgb.shape and np.abs(got - rgb).mean() < 0.01 and np.abs(got - rgb).max() < 0.06
    Image.fromarray(to_uint8(rgb[..., 1])).save(tmp_path / "g.jpeg", quality=95)
    assert np.abs(load_image(tmp_path / "g.jpeg") - rgb[..., 1]).max() < 0.03


def test_palette_and_bilevel_png(tmp_path):
    palette_image = Image.fromarray(_random((12, 14, 3))).quantize(colors=16)
    palette_image.save(tmp_path / "p.png")
    expected = np.asarray(palette_image.convert("RGB")) / 255.0
    np.testing.assert_array_equal(load_image(tmp_path / "p.png", grayscale=False), expected)
    bits = _random((9, 10)) > 127
    Image.fromarray(bits).save(tmp_path / "b.png")
    np.testing.assert_array_equal(load_image(tmp_path / "b.png"), bits.astype(float))


# --- options ------------------------------------------------------------------------------------
def test_grayscale_is_bt601_luma(tmp_path):
    rgb = _random((10, 12, 3))
    Image.fromarray(rgb).save(tmp_path / "c.png")
    expected = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255.0
    np.testing.assert_allclose(load_image(tmp_path / "c.png"), expected, atol=1e-12)
    assert load_image(tmp_path / "c.png", grayscale=False).shape == (10, 12, 3)


def test_size_resizes_longer_side_antialiased():
    full = load_image("chelsea", grayscale=False)  # 300 × 451
    small = load_image("chelsea", size=64, grayscale=False)
    assert small.shape == (43, 64, 3)
    expected = resize(full, (43, 64, 3), order=3, anti_aliasing=True, mode="reflect")
    np.testing.assert_allclose(small, expected, atol=1e-12)
    assert abs(small.mean() - full.mean()) < 0.01
    assert load_image("page", size=40).shape == (20, 40)  # 191 × 384, grey


def test_multiple_of_crops_centred(tmp_path):
    data = _random((23, 30))
    Image.fromarray(data).save(tmp_path / "g.png")
    got = load_image(tmp_path / "g.png", multiple_of=4)
    assert got.shape == (20, 28)
    np.testing.assert_array_equal(got, data[1:21, 1:29] / 255.0)
    assert load_image("camera", size=50, multiple_of=3).shape == (48, 48)
    assert load_image(tmp_path / "g.png", multiple_of=16).shape == (16, 16)
    with pytest.raises(ImageError, match="multiple of 24 leaves 0×24"):
        load_image(tmp_path / "g.png", multiple_of=24)


@pytest.mark.parametrize(
    "kwargs,match", [({"size": 4}, "size"), ({"size": 2.5}, "size"), ({"multiple_of": 0}, "multiple_of")]
)
def test_bad_options_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_image("camera", **kwargs)


# --- bad inputs ---------------------------------------------------------------------------------
def _make_bad(tmp_path, kind):
    path = tmp_path / f"bad_{kind}.png"
    if kind == "missing":
        return tmp_path / "nothing_here.png"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not an image\n")
    elif kind == "truncated":
        Image.fromarray(_random((64, 64, 3))).save(path)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "truncated16":
        _write_png(path, _random((32, 32, 3), np.uint16))
        path.write_bytes(path.read_bytes()[:400])
    elif kind == "one_pixel":
        Image.fromarray(_random((1, 1))).save(path)
    elif kind == "thin":
        Image.fromarray(_random((5, 40))).save(path)
    elif kind == "huge":
        Image.fromarray(np.zeros((8, 8193), np.uint8)).save(path)
    elif kind == "channels":
        path = tmp_path / "six.tif"
        tifffile.imwrite(path, _random((16, 16, 6)), photometric="minisblack", planarconfig="contig")
    elif kind == "stack":
        path = tmp_path / "stack.tif"
        tifffile.imwrite(path, _random((5, 16, 16)))
    elif kind == "nan":
        path = tmp_path / "nan.tif"
        values = np.full((16, 16), 0.5, np.float32)
        values[3, 4] = np.nan
        tifffile.imwrite(path, values)
    elif kind == "range":
        path = tmp_path / "range.tif"
        tifffile.imwrite(path, np.full((16, 16), 3.0, np.float32))
    elif kind == "animation":
        path = tmp_path / "anim.gif"
        frames = [Image.fromarray(_random((16, 16))) for _ in range(3)]
        frames[0].save(path, save_all=True, append_images=frames[1:])
    elif kind == "directory":
        path = tmp_path / "folder.png"
        path.mkdir()
    return path


@pytest.mark.parametrize(
    "kind,reason",
    [
        ("missing", "file not found"),
        ("empty", "empty"),
        ("text", "not a recognised image format"),
        ("truncated", "corrupt or unreadable"),
        ("truncated16", "corrupt or unreadable|truncated"),
        ("one_pixel", "1×1 pixels"),
        ("thin", "5×40 pixels; at least 8×8"),
        ("huge", "larger than 8192"),
        ("channels", "6 channels"),
        ("stack", "stack"),
        ("nan", "NaN"),
        ("range", r"\[0, 1\]"),
        ("animation", "3 frames"),
        ("directory", "directory"),
    ],
)
def test_bad_inputs_raise_image_error_naming_file_and_reason(tmp_path, kind, reason):
    path = _make_bad(tmp_path, kind)
    with pytest.raises(ImageError, match=reason) as info:
        load_image(path)
    assert path.name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_allow_huge_loads_large_image(tmp_path):
    path = _make_bad(tmp_path, "huge")
    assert load_image(path, allow_huge=True).shape == (8, 8193)


def test_unknown_catalogue_name_suggests_close_names():
    with pytest.raises(ImageError, match="did you mean 'camera'"):
        load_image("camra")
    with pytest.raises(ImageError, match="shepp_logan_phantom"):
        load_image("shepp")


# --- catalogue ----------------------------------------------------------------------------------
def test_every_catalogue_image_loads_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert catalogue_names() == list(CATALOGUE) and "camera" in CATALOGUE
    for name in catalogue_names():
        image = load_image(name, grayscale=False)
        assert image.dtype == np.float64 and image.ndim in (2, 3), name
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > image.min(), name
        assert ("colour" in CATALOGUE[name]) == (image.ndim == 3), name
        assert load_image(name).ndim == 2


# --- colour and output helpers ------------------------------------------------------------------
def test_ycbcr_matches_matlab_convention_and_inverts():
    rgb = RNG.random((6, 7, 3))
    ycc = rgb_to_ycbcr(rgb)
    np.testing.assert_allclose(ycc * 255.0, rgb2ycbcr(rgb), atol=1e-10)  # skimage: Y in [16, 235]
    np.testing.assert_allclose(ycbcr_to_rgb(ycc), rgb, atol=1e-12)
    np.testing.assert_allclose(ycbcr_to_rgb(ycc), ycbcr2rgb(ycc * 255.0), atol=1e-10)
    white, black = rgb_to_ycbcr(np.ones(3)), rgb_to_ycbcr(np.zeros(3))
    np.testing.assert_allclose([black[0], white[0]], [16 / 255, 235 / 255], atol=1e-12)
    tensor = torch.from_numpy(np.moveaxis(rgb, -1, 0))
    np.testing.assert_allclose(rgb_to_ycbcr(tensor, channel_axis=0).numpy(), np.moveaxis(ycc, -1, 0), atol=1e-12)
    with pytest.raises(ValueError, match="3 channels"):
        rgb_to_ycbcr(np.zeros((4, 4)))


def test_to_uint8_and_save_png_roundtrip_atomically(tmp_path):
    values = np.array([[-0.2, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 1.7, np.nan]])
    np.testing.assert_array_equal(to_uint8(values), [[0, 0, 0, 2, 128, 255, 255, 0]])
    np.testing.assert_array_equal(to_uint8(torch.tensor([0.25])), [64])
    image = RNG.random((12, 16, 3))
    target = tmp_path / "out.png"
    target.write_bytes(b"old contents")
    save_png(target, image)
    assert os.listdir(tmp_path) == ["out.png"]  # temporary file renamed away
    np.testing.assert_array_equal(load_image(target, grayscale=False), to_uint8(image) / 255.0)
    with pytest.raises(ValueError, match="shape"):
        save_png(tmp_path / "x.png", np.zeros((4, 4, 5)))
    assert os.listdir(tmp_path) == ["out.png"]


def test_thumbnail_sizes():
    assert thumbnail("chelsea", size=32).shape == (21, 32, 3)
    small = thumbnail(np.full((40, 20), 0.5), size=16)
    assert small.dtype == np.uint8 and small.shape == (16, 8)
    np.testing.assert_array_equal(small, 128)


def test_a_fifo_is_refused_at_once_as_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match=r"pipe\.png': not a regular file"):  # never opens (would block)
        load_image(fifo)


def test_a_multi_page_tiff_says_which_page_it_uses(tmp_path):
    path = tmp_path / "two.tif"
    first = _random((32, 24))
    with tifffile.TiffWriter(path) as tif:
        tif.write(first)
        tif.write(_random((16, 48)))
    with pytest.warns(UserWarning, match=r"two\.tif': holds 2 images; using the first \(32×24\), ignoring.*16×48"):
        image = load_image(path, grayscale=True)
    assert image.shape == (32, 24) and np.array_equal(np.round(image * 255), first)
