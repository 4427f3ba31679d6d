"""Image panes measured on screen: they keep the image's aspect ratio, refit on a window resize,
a moved splitter and added lanes, draw a 256² image at least at native size when the window
allows, keep the user's zoom only while zoomed in, stay synced, and elide long titles."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QSplitter

from workbench.pane_titles import title_font


def settle(window, rounds: int = 6) -> None:
    for _ in range(rounds):
        QApplication.processEvents()
    window.refresh()
    QApplication.processEvents()


def pane_rects(window):
    """On-screen image rectangle and view rectangle of every pane."""
    panes = window.panes
    return {
        key: (panes.image_rect_on_screen(key), plot.getViewBox().sceneBoundingRect())
        for key, plot in panes.plots.items()
    }


def assert_fitted(window):
    """Every image is square (as the image) and fills its view along the tighter side."""
    for key, (image, view) in pane_rects(window).items():
        assert image.width() == pytest.approx(image.height(), rel=0.01), key
        assert max(image.width() - view.width(), image.height() - view.height()) == pytest.approx(0, abs=1.5), key
        assert view.contains(image.center())


def image_side(window, key="iterate0") -> float:
    return window.panes.image_rect_on_screen(key).width()


@pytest.fixture
def big_window(qtbot):
    """The default problem (256² camera, FISTA and PODM), not stepped, no worker thread."""
    from core.config import default_config
    from workbench.app import make_app
    from workbench.main_window import MainWindow

    make_app()
    window = MainWindow(default_config(), autosave_dir=None, start_thread=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def test_panes_refit_on_resize_and_draw_256_at_native_size_when_the_window_allows(big_window):
    assert big_window.panes.image_of("ground_truth").shape == (256, 256)
    sides = {}
    for size in ((1366, 768), (2560, 1440), (1024, 700), (1920, 1080)):
        big_window.resize(*size)
        settle(big_window)
        assert_fitted(big_window)
        sides[size] = image_side(big_window)
        # every pane the same size
        assert {round(image.width()) for image, _ in pane_rects(big_window).values()} == {round(sides[size])}
    assert sides[(2560, 1440)] >= 256  # a large window draws the 256² image at least at native size
    assert sides[(1024, 700)] < sides[(1366, 768)] < sides[(1920, 1080)] < sides[(2560, 1440)]
    big_window.resize(1366, 768)  # back: the same size as before (no shrinking over a session)
    settle(big_window)
    assert image_side(big_window) == pytest.approx(sides[(1366, 768)], abs=1.0)


def test_moving_the_splitter_refits_the_panes(big_window):
    big_window.resize(1600, 1000)
    settle(big_window)
    splitter = big_window.panes.parentWidget()
    assert isinstance(splitter, QSplitter)
    total = sum(splitter.sizes())
    splitter.setSizes([int(total * 0.8), total - int(total * 0.8)])
    settle(big_window)
    tall = image_side(big_window)
    assert_fitted(big_window)
    splitter.setSizes([int(total * 0.3), total - int(total * 0.3)])
    settle(big_window)
    assert_fitted(big_window)
    assert image_side(big_window) < tall


def test_zoom_is_kept_only_while_zoomed_in_and_views_stay_synced(big_window):
    big_window.resize(1600, 1000)
    settle(big_window)
    panes = big_window.panes
    view = panes.plots["iterate0"].getViewBox()
    view.scaleBy((0.25, 0.25))  # as the mouse wheel does
    settle(big_window)
    assert panes.views.zoomed
    zoomed = view.targetRect()
    assert zoomed.width() < 100
    for key in ("ground_truth", "error1"):  # the others show the same rectangle
        other = panes.plots[key].getViewBox().targetRect()
        assert other.center().x() == pytest.approx(zoomed.center().x(), abs=0.5)
        assert other.width() == pytest.approx(zoomed.width(), rel=0.02)
    big_window.resize(1400, 900)  # a resize keeps the user's zoom
    settle(big_window)
    assert panes.views.zoomed and view.targetRect().width() == pytest.approx(zoomed.width(), rel=0.02)
    view.scaleBy((8, 8))  # zoomed out past the whole image: back to the fit
    settle(big_window)
    assert not panes.views.zoomed
    assert_fitted(big_window)


def test_six_lanes_use_the_space_and_elide_long_titles(main_window, qtbot):
    lanes = main_window.lanes_panel
    for _ in range(4):
        lanes.add_lane()
    lanes.list.setCurrentRow(5)
    lanes.label_edit.setText("a lane with a very long label that cannot fit its pane")
    lanes.label_edit.editingFinished.emit()
    main_window.resize(1366, 768)
    settle(main_window)
    assert len(main_window.run.lanes) == 6
    assert_fitted(main_window)
    rects = pane_rects(main_window)
    assert len(rects) == 14
    sides = {round(image.width()) for image, _ in rects.values()}
    assert len(sides) == 1 and sides.pop() > 64  # equal panes, bigger than the 64 px image
    views = [view for _, view in rects.values()]
    for i, a in enumerate(views):  # no two panes overlap
        for b in views[i + 1 :]:
            assert a.intersected(b).isEmpty() or a.intersected(b).width() * a.intersected(b).height() < 1
    metrics = QFontMetrics(title_font())
    for key, plot in main_window.panes.plots.items():
        width = plot.width()
        full = main_window.panes.title_text(key)
        assert plot.titleLabel.toolTip() == full
        shown = plot.titleLabel.text.replace("&nbsp;", "")
        for line in shown.split("<br>"):
            text = line.split(">", 1)[-1].split("<", 1)[0] if "<" in line else line
            assert metrics.horizontalAdvance(text) <= width, (key, text)
    assert "a lane with a very long label that cannot fit its pane" in main_window.panes.title_text("iterate5")
    assert "…" in main_window.panes.plots["iterate5"].titleLabel.text


def test_error_map_levels_follow_the_current_iterates(main_window, qtbot):
    panes = main_window.panes
    main_window.step(1)
    qtbot.waitUntil(lambda: min(lane.k for lane in main_window.worker.latest().lanes) >= 1, timeout=60000)
    main_window.refresh()
    first = panes.error_bar.levels()[1]
    main_window.step(20)
    qtbot.waitUntil(lambda: min(lane.k for lane in main_window.worker.latest().lanes) >= 21, timeout=120000)
    qtbot.waitUntil(lambda: not main_window.worker.is_playing, timeout=60000)
    main_window.worker.publish()
    main_window.refresh()
    snapshot = main_window.worker.latest()
    expected = max(np.percentile(np.abs(lane.error_map), 99.5) for lane in snapshot.lanes)
    assert panes.error_bar.levels()[1] == pytest.approx(expected, rel=1e-5)
    assert panes.error_bar.levels()[1] != pytest.approx(first, rel=1e-3)
