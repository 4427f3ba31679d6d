"""A lane's kept iterates as an animation: an animated GIF (Pillow) or an H.264 MP4 (the ffmpeg
binary shipped in the imageio-ffmpeg wheel). One frame per kept iterate, x⁰ first, so a lane that
stopped early (converged, diverged, ended) has one frame for each iterate it kept.

Used by ``python -m core run --animation gif|mp4`` and the workbench's Export menu.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes
from .images import to_uint8

FORMATS = (".gif", ".mp4")


def iterate_frames(run, lane_index: int) -> list[np.ndarray]:
    """The kept iterates of lane ``lane_index`` of a :class:`~core.engine.Run` as uint8 frames
    ((H, W) or (H, W, 3)), oldest first, x⁰ included."""
    frames = []
    for k in run.kept_iterations(lane_index):
        image = run.iterate(lane_index, k)
        if image is not None:
            frames.append(to_uint8(np.clip(image, 0.0, 1.0)))
    return frames


def write_animation(frames: list[np.ndarray], path: str | Path, fps: float = 10.0) -> Path:
    """Write ``frames`` as an animated GIF (``.gif``) or an MP4 video (``.mp4``), atomically.

    Parameters
    ----------
    frames : list of np.ndarray
        uint8 (or float in [0, 1]) images of one shape, (H, W) or (H, W, 3).
    path : path
        Output file; its suffix chooses the format.
    fps : float
        Frames per second (> 0).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For no frames, frames of different shapes, a bad ``fps``, an unknown suffix, or an
        encoder failure (naming the file).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: animation format must be .gif or .mp4, got '{suffix or 'none'}'")
    if not frames:
        raise ValueError(f"{path}: no kept iterates to export")
    if not (isinstance(fps, (int, float)) and 0 < fps <= 1000):
        raise ValueError(f"{path}: fps must be a number in (0, 1000], got {fps!r}")
    frames = [to_uint8(frame) for frame in frames]
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1 or frames[0].ndim not in (2, 3):
        raise ValueError(f"{path}: frames must share one (H, W) or (H, W, 3) shape, got {sorted(shapes)}")
    data = _gif_bytes(frames, fps) if suffix == ".gif" else _mp4_bytes(frames, fps, path)
    return atomic_write_bytes(path, data)


def _gif_bytes(frames: list[np.ndarray], fps: float) -> bytes:
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)


def _mp4_bytes(frames: list[np.ndarray], fps: float, path: Path) -> bytes:
    """H.264 (yuv420p, the format players accept) through imageio-ffmpeg's binary; odd sides are
    padded by one edge row/column, since 4:2:0 chroma needs even sides."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ValueError(f"{path}: MP4 export needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    rgb = [np.repeat(f[..., None], 3, axis=2) if f.ndim == 2 else f for f in frames]
    h, w = rgb[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    with tempfile.TemporaryDirectory(prefix="cw-video-") as scratch:
        target = Path(scratch) / "video.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(target),
            (w + w % 2, h + h % 2),
            fps=fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            quality=None,
            output_params=["-crf", "18"],
            ffmpeg_log_level="error",
        )
        try:
            writer.send(None)  # start the encoder
            for frame in rgb:
                writer.send(np.ascontiguousarray(np.pad(frame, pad, mode="edge")))
            writer.close()
        except (OSError, RuntimeError) as exc:
            raise ValueError(f"{path}: MP4 encoding failed ({exc})") from None
        return target.read_bytes()
