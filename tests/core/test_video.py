"""core.video: a lane's kept iterates as GIF/MP4, one frame per kept iterate, read back with imageio."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from core.cli import main
from core.config import Config
from core.engine import Run
from core.video import iterate_frames, write_animation

TINY = {
    "problem": {"image": "camera", "size": 32, "degradation": "blur", "noise_sigma": 0.01},
    "lanes": [{"label": "FISTA", "solver": "fista", "prior": "tv", "params": {"lam": 0.01}}],
    "run": {"iterations": 5, "keep_iterates": 10},
}


def tiny_run(**run_settings) -> Run:
    config = Config.from_dict({**TINY, "run": {**TINY["run"], **run_settings}})
    run = Run(config)
    run.run()
    return run


def test_mp4_of_a_tiny_run_has_one_frame_per_kept_iterate():
    run = tiny_run()
    frames = iterate_frames(run, 0)
    assert len(frames) == len(run.kept_iterations(0)) == 6  # x⁰ + 5 iterates
    np.testing.assert_array_equal(frames[-1], np.round(np.clip(run.snapshot().lanes[0].image, 0, 1) * 255))


def test_mp4_reads_back_with_the_frame_count_shape_and_content(tmp_path):
    run = tiny_run()
    frames = iterate_frames(run, 0)
    path = write_animation(frames, tmp_path / "fista.mp4", fps=5)
    video = iio.imread(path, index=None)
    assert video.shape == (len(frames), 32, 32, 3)
    # lossy H.264 of grey frames: every channel is close to the frame it encodes
    error = np.abs(video.astype(float) - np.stack(frames)[..., None]).mean(axis=(1, 2, 3))
    assert error.max() < 4.0
    assert np.abs(video[-1, ..., 0].astype(float) - frames[0]).mean() > 2 * error.max()  # frames differ


def test_an_early_stopped_lane_still_has_one_frame_per_kept_iterate(tmp_path):
    run = tiny_run(iterations=50, tolerance=0.02, keep_iterates=100)
    lane = run.snapshot().lanes[0]
    assert lane.status.startswith("converged at") and lane.k < 50
    path = write_animation(iterate_frames(run, 0), tmp_path / "early.mp4")
    assert iio.imread(path, index=None).shape[0] == lane.k + 1


def test_odd_sides_are_padded_to_even_for_h264_and_gif_keeps_the_shape(tmp_path):
    frames = [np.full((33, 41), 40 * i, np.uint8) for i in range(4)]
    video = iio.imread(write_animation(frames, tmp_path / "odd.mp4"), index=None)
    assert video.shape == (4, 34, 42, 3)
    np.testing.assert_allclose(video[:, :33, :41, 0].mean(axis=(1, 2)), [0, 40, 80, 120], atol=2)
    gif = iio.imread(write_animation(frames, tmp_path / "odd.gif"), index=None)
    assert gif.shape[:3] == (4, 33, 41)


@pytest.mark.parametrize(
    ("frames", "name", "fps", "message"),
    [
        ([], "a.mp4", 10, "no kept iterates"),
        ([np.zeros((8, 8), np.uint8)], "a.avi", 10, "must be .gif or .mp4"),
        ([np.zeros((8, 8), np.uint8)], "a.mp4", 0, "fps must be"),
        ([np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)], "a.mp4", 10, "share one"),
    ],
)
def test_bad_animation_requests_are_one_line_errors_naming_the_file(tmp_path, frames, name, fps, message):
    with pytest.raises(ValueError, match=message) as info:
        write_animation(frames, tmp_path / name, fps=fps)
    assert str(tmp_path / name) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / name).exists()


def test_run_command_writes_one_animation_per_lane(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[problem]\nimage = "camera"\nsize = 32\ndegradation = "blur"\n'
        '[[lanes]]\nlabel = "FISTA / tv"\nsolver = "fista"\nprior = "tv"\n'
        '[[lanes]]\nsolver = "ista"\nprior = "tv"\n'
        "[run]\niterations = 4\nkeep_iterates = 3\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--animation", "mp4"]) == 0
    for name in ("iterates_FISTA___tv.mp4", "iterates_ista.mp4"):
        assert iio.imread(out / name, index=None).shape == (4, 32, 32, 3)  # x⁰ + the last 3 iterates
