"""The reproduction registry/CLI and the PNG line plots used by the reproductions."""

import numpy as np
import pytest

from core.reproduce import (
    REPRODUCERS,
    load_reproducers,
    main,
    markdown_table,
    register_reproducer,
)
from core.reproduce.plot import line_panel, save_panels
from core.reproduce.podm_fig2 import count_increases, fig2_config


def test_registry_lists_reproductions_and_rejects_unknown(capsys, scratch_registries):
    load_reproducers()
    assert {"denoiser", "podm_fig2", "relaxed_podm"} <= set(REPRODUCERS)
    original = REPRODUCERS["denoiser"]
    with pytest.raises(ValueError, match="registered twice"):
        register_reproducer("denoiser")(lambda out, quick: [])
    assert REPRODUCERS["denoiser"] is original  # the refused registration replaced nothing
    assert main(["--list"]) == 0
    assert "podm_fig2" in capsys.readouterr().out
    assert main(["nope"]) == 2
    assert "unknown reproduction 'nope'" in capsys.readouterr().err


def test_markdown_table_and_monotonicity_counter():
    assert markdown_table(["a", "b"], [[1.234, "x"]]) == "| a | b |\n|---|---|\n| 1.23 | x |\n"
    assert count_increases(np.array([3.0, 2.0, 2.0, 1.0])) == 0
    assert count_increases(np.array([3.0, 2.0, 2.5, 1.0, np.nan, 1.5])) == 2


def test_fig2_config_swaps_in_the_learned_denoiser():
    config = fig2_config("camera", grayscale=True, size=64, iterations=7)
    by_label = {lane.label: lane for lane in config.lanes}
    assert by_label["PODM"].denoiser == "dncnn" and by_label["PnP"].denoiser == "dncnn"
    assert by_label["FISTA"].denoiser is None and by_label["PODM"].prior == "lp"
    assert by_label["PODM"].params["sigma_max"] == 15.0 and by_label["PnP"].params["sigma_max"] == 49.0
    assert config.problem.degradation == "sparse_sr" and config.run.iterations == 7


def test_line_panel_draws_each_series_in_its_colour(tmp_path):
    x = np.arange(1, 11)
    panel = line_panel(
        {"a": (x, 10.0**-x), "b": (x, 10.0 ** (-x / 2))}, {"a": "#ff0000", "b": "#0000ff"}, "t", log_y=True
    )
    pixels = np.asarray(panel)
    assert ((pixels == [255, 0, 0]).all(-1)).sum() > 50 and ((pixels == [0, 0, 255]).all(-1)).sum() > 50
    path = save_panels([panel, panel, panel], tmp_path / "p.png")
    from PIL import Image

    assert Image.open(path).size == (2 * panel.size[0], 2 * panel.size[1])
