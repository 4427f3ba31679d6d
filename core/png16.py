"""16-bit colour PNG decoding (PNG spec §9 filters): Pillow reduces these to 8 bits."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def decode_png16(data: bytes, label: str, allow_huge: bool) -> np.ndarray:
    """Decode a 16-bit RGB / grey+alpha / RGBA PNG, as uint16 (H, W, C); sides checked before
    inflating (never more than the declared image holds)."""
    from .images import ImageError, _check_side_lengths  # images imports this module

    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[pos + 8 : pos + 21])
        elif kind == b"IDAT":
            idat.append(data[pos + 8 : pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        raise ImageError(f"{label}: corrupt PNG (missing IHDR or IDAT chunk)")
    width, height, _, colour_type, _, _, interlace = header
    _check_side_lengths((height, width), label, allow_huge)
    if interlace:
        raise ImageError(f"{label}: interlaced 16-bit colour PNGs are not supported; save it without interlacing")
    channels = {2: 3, 4: 2, 6: 4}[colour_type]
    bpp, stride = 2 * channels, 2 * channels * width
    needed = height * (stride + 1)  # never inflate more than the declared image holds
    raw = np.frombuffer(zlib.decompressobj().decompress(b"".join(idat), needed), np.uint8)
    if raw.size < height * (stride + 1):
        raise ImageError(f"{label}: truncated PNG (image data ends early)")
    rows = raw[:needed].reshape(height, stride + 1)
    out = np.empty((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for r in range(height):
        kind, line = int(rows[r, 0]), rows[r, 1:]
        if kind == 0:  # None
            out[r] = line
        elif kind == 1:  # Sub: running sum with stride bpp (mod 256)
            out[r] = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).ravel()
        elif kind == 2:  # Up
            out[r] = line + previous
        elif kind in (3, 4):  # Average, Paeth: sequential along the row
            out[r] = _unfilter_sequential(kind, line, previous, bpp)
        else:
            raise ImageError(f"{label}: corrupt PNG (unknown filter type {kind} in row {r})")
        previous = out[r]
    return out.view(">u2").reshape(height, width, channels).astype(np.uint16)


def _unfilter_sequential(kind: int, line: np.ndarray, previous: np.ndarray, bpp: int) -> bytes:
    """Undo the PNG Average (3) or Paeth (4) filter on one scanline."""
    cur, up = bytearray(line.tobytes()), previous.tobytes()
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = up[i]
        if kind == 3:
            predictor = (a + b) >> 1
        else:
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[i] = (cur[i] + predictor) & 0xFF
    return np.frombuffer(bytes(cur), np.uint8)
