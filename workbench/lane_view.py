"""Adapters between the engine's ``Run`` and the views (no numerics of their own: they call
``core`` display helpers). Every function expects the caller to hold the worker's run lock."""
from __future__ import annotations

import numpy as np

from core.display import display_image

from .panes import LanePaneInfo


def metric_at(lane_snapshot, name: str, k: int) -> float | None:
    """Value of metric ``name`` at iteration ``k`` (1-based) of a lane snapshot, if recorded."""
    values = lane_snapshot.metrics.get(name)
    if values is None or not 1 <= k <= len(values):
        return None
    return float(values[k - 1])


def pane_info(lane_snapshot, k: int | None = None) -> LanePaneInfo:
    """Title data of a lane's panes at iteration ``k`` (default: its latest)."""
    k = lane_snapshot.k if k is None else k
    return LanePaneInfo(label=lane_snapshot.label, color=lane_snapshot.color or "#888888",
                        status=lane_snapshot.status, k=k,
                        psnr=metric_at(lane_snapshot, "psnr", k), ssim=metric_at(lane_snapshot, "ssim", k))


def kept_range(snapshot, keep_iterates: int) -> tuple[int, int]:
    """(first, last) iteration the scrubber can reach: the kept window of the longest lane."""
    last = max((lane.k for lane in snapshot.lanes), default=0)
    first = 0 if last <= keep_iterates else last - keep_iterates + 1
    return first, last


def lane_images_at(run, lane_index: int, k: int) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """Kept iterate and error image of a lane at iteration ``k`` (clamped to the lane's latest).

    Returns
    -------
    k : int
        The iteration actually shown.
    image, error_map : ndarray or None
        Display images as in ``RunSnapshot`` (None when that iterate is not kept).
    """
    lane = run.lanes[lane_index]
    k = min(k, lane.k)
    x = lane.iterate_tensor(k)
    if x is None:
        return k, None, None
    problem = run.problem
    image = problem.to_image(x)
    error = None
    if problem.x_true is not None:
        error = display_image(problem, image - problem.x_true, chroma="")
    return k, display_image(problem, image), error


def extras_at(run, lane_index: int, k: int) -> dict[str, np.ndarray]:
    """Intermediate images of a lane at iteration ``k`` (clamped to the lane's latest) as
    display images, from the engine's kept history ({} if not kept)."""
    return run.extras(lane_index, min(k, run.lanes[lane_index].k))


def iterations_per_second(lane_snapshot, window: int = 10) -> float | None:
    """Solve rate of a lane over its last ``window`` iterations."""
    seconds = np.asarray(lane_snapshot.seconds)
    if len(seconds) < 2:
        return None
    n = min(window, len(seconds) - 1)
    elapsed = seconds[-1] - seconds[-1 - n]
    return n / elapsed if elapsed > 0 else None
