"""Adapters between the engine's ``Run`` and the views (no numerics of their own: they call
``core`` display helpers). Every function expects the caller to hold the worker's run lock."""

from __future__ import annotations

import numpy as np

from core.display import display_image

from .pane_titles import LanePaneInfo


def metric_at(lane_snapshot, name: str, k: int) -> float | None:
    """Value of metric ``name`` at iteration ``k`` (1-based) of a lane snapshot, if recorded."""
    values = lane_snapshot.metrics.get(name)
    if values is None or not 1 <= k <= len(values):
        return None
    return float(values[k - 1])


def pane_info(lane_snapshot, k: int | None = None, kept_k: int | None = None) -> LanePaneInfo:
    """Title data of a lane's panes at iteration ``k`` (default: its latest).

    ``kept_k`` is the kept iteration actually displayed when iteration ``k`` is not kept; the
    PSNR/SSIM in the title are then those of ``kept_k``.
    """
    k = lane_snapshot.k if k is None else k
    kept_k = None if kept_k == k else kept_k
    shown = k if kept_k is None else kept_k
    best_k = best_iteration(lane_snapshot)
    return LanePaneInfo(
        label=lane_snapshot.label,
        color=lane_snapshot.color or "#888888",
        status=lane_snapshot.status,
        k=k,
        kept_k=kept_k,
        psnr=metric_at(lane_snapshot, "psnr", shown),
        ssim=metric_at(lane_snapshot, "ssim", shown),
        best_psnr=None if best_k is None else metric_at(lane_snapshot, "psnr", best_k),
        best_k=best_k,
        accept_rate=accept_rate(lane_snapshot, shown),
    )


def accept_rate(lane_snapshot, k: int) -> float | None:
    """Share of iterations 1..k whose optimality check accepted the step (None for lanes
    without a check, or before the first checked iteration)."""
    values = np.asarray(lane_snapshot.metrics.get("accepted", ()), dtype=np.float64)[: max(k, 0)]
    checked = values[np.isfinite(values)]
    return float(np.mean(checked > 0.5)) if len(checked) else None


def best_iteration(lane_snapshot) -> int | None:
    """Iteration (1-based) of the lane's best finite PSNR so far (the first on a tie), or None."""
    values = np.asarray(lane_snapshot.metrics.get("psnr", ()), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    return int(np.argmax(np.where(finite, values, -np.inf))) + 1


def kept_range(snapshot, keep_iterates: int) -> tuple[int, int]:
    """(first, last) iteration the scrubber can reach: the kept window of the longest lane."""
    last = max((lane.k for lane in snapshot.lanes), default=0)
    first = 0 if last <= keep_iterates else last - keep_iterates + 1
    return first, last


def nearest_kept(run, lane_index: int, k: int) -> int:
    """The kept iteration of a lane nearest to ``k`` (the earlier one on a tie; x⁰ is always kept)."""
    return min(run.kept_iterations(lane_index), key=lambda kept: (abs(kept - k), kept))


def lane_images_at(run, lane_index: int, k: int) -> tuple[int, int, np.ndarray | None, np.ndarray | None]:
    """Iterate and error image of a lane at iteration ``k`` (clamped to the lane's latest), or
    at the nearest kept iteration when ``k`` is not kept.

    Returns
    -------
    k : int
        The iteration asked for, clamped to the lane's latest.
    kept_k : int
        The iteration whose iterate is shown (``k`` when it is kept).
    image, error_map : ndarray or None
        Display images as in ``RunSnapshot`` (error map None without a ground truth).
    """
    lane = run.lanes[lane_index]
    k = min(k, lane.k)
    kept_k = k if lane.iterate_tensor(k) is not None else nearest_kept(run, lane_index, k)
    x = lane.iterate_tensor(kept_k)
    problem = run.problem
    image = problem.to_image(x)
    error = None
    if problem.x_true is not None:
        error = display_image(problem, image - problem.x_true, chroma="")
    return k, kept_k, display_image(problem, image), error


#: key of the previous iterate x^{k−1} added to PODM's extras (for x_A − x^{k−1})
PREVIOUS_ITERATE = "previous iterate"


def extras_at(run, lane_index: int, k: int) -> dict[str, np.ndarray]:
    """Intermediate images of a lane at iteration ``k`` (clamped to the lane's latest) as
    display images, from the engine's kept history ({} if not kept), with the kept previous
    iterate where the diagnostics need it (:func:`add_previous_iterate`)."""
    k = min(k, run.lanes[lane_index].k)
    return add_previous_iterate(run, lane_index, k, run.extras(lane_index, k))


def add_previous_iterate(run, lane_index: int, k: int, extras: dict) -> dict:
    """``extras`` plus x^{k−1} (display image, as the extras: no chroma) under
    :data:`PREVIOUS_ITERATE` when they are PODM's (``x_A``) and x^{k−1} is kept."""
    if "x_A" not in extras or k < 1:
        return extras
    x = run.lanes[lane_index].iterate_tensor(k - 1)
    if x is None:
        return extras
    return {**extras, PREVIOUS_ITERATE: display_image(run.problem, run.problem.to_image(x), chroma="")}


def live_extras(worker, lane_index: int, lane_snapshot) -> dict[str, np.ndarray]:
    """The latest extras of a lane snapshot, with x^{k−1} added when the run lock is free at
    once (never waits for a running step; the diagnostics then say why it is missing)."""
    extras = lane_snapshot.extras
    if "x_A" not in extras or not worker.run_lock.tryLock(0):
        return extras
    try:
        run = worker.run
        if lane_index < len(run.lanes) and run.lanes[lane_index].label == lane_snapshot.label:
            return add_previous_iterate(run, lane_index, lane_snapshot.k, extras)
        return extras
    finally:
        worker.run_lock.unlock()


def iterations_per_second(lane_snapshot, window: int = 10) -> float | None:
    """Solve rate of a lane over its last ``window`` iterations."""
    seconds = np.asarray(lane_snapshot.seconds)
    if len(seconds) < 2:
        return None
    n = min(window, len(seconds) - 1)
    elapsed = seconds[-1] - seconds[-1 - n]
    return n / elapsed if elapsed > 0 else None
