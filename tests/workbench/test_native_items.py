"""Axes drawn by native items (workbench/native_items.py) and titles replaced without a relayout
(workbench/pane_titles.py): the same pixels and text as pyqtgraph's, fewer layouts."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from conftest import wait_idle
from PySide6.QtGui import QImage, QPixmapCache
from PySide6.QtWidgets import QGraphicsItem
from test_gui_workflows import click

from workbench.curve_overlays import RobustViewBox
from workbench.native_items import PIXMAP_CACHE_KB, NativeAxis, NativeColorBar, NativeImage, native_axes
from workbench.native_paint import NativeGraphicsLayout
from workbench.pane_titles import TITLE_POINT_SIZE, PaneTitle, render, unconstrain_title


def _rgb(image: QImage) -> np.ndarray:
    """The pixels of ``image`` as a (rows, 4 · columns) byte array."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return pixels[:, : 4 * image.width()].copy()


def _pixels(widget) -> np.ndarray:
    """A fresh render of ``widget``."""
    return _rgb(widget.grab().toImage())


def _plot_image(qtbot, native: bool, x_range, y_range) -> tuple[np.ndarray, pg.PlotItem]:
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(460, 280)
    plot = widget.addPlot(axisItems=native_axes() if native else None)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setLabel("bottom", "iteration")
    plot.plot(np.arange(100.0), np.log10(1 + np.arange(100.0)))
    plot.setRange(xRange=x_range, yRange=y_range, padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(300)  # an axis whose labels widen it lays the plot out again
    return _pixels(widget), plot


def test_native_axes_draw_the_same_pixels_as_pyqtgraphs_and_paint_nothing_in_python(qtbot):
    for x_range, y_range in (((0, 100), (-0.5, 2.2)), ((0, 20), (1e-4, 3e-4)), ((-3e3, 5e3), (-40.0, -10.0))):
        reference, _ = _plot_image(qtbot, False, x_range, y_range)
        pixels, plot = _plot_image(qtbot, True, x_range, y_range)
        assert np.array_equal(pixels, reference), (x_range, y_range, int((pixels != reference).sum()))
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert type(axis) is NativeAxis
            assert axis.picture.boundingRect().isEmpty()  # its Python paint draws nothing: the children do
            assert axis.tick_labels()  # drawn by its native children
        assert not plot.getAxis("top").isVisible() and not plot.getAxis("right").isVisible()


def test_native_axis_lays_out_again_on_a_new_range_only(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(400, 250)
    plot = widget.addPlot(axisItems=native_axes())
    widget.show()
    qtbot.waitExposed(widget)
    axis = plot.getAxis("bottom")
    layouts = []
    original = axis.generateDrawSpecs
    axis.generateDrawSpecs = lambda painter: (layouts.append(1), original(painter))[1]
    plot.setXRange(0, 1000, padding=0)
    qtbot.waitUntil(lambda: "400" in axis.tick_labels())  # laid out before the repaint
    qtbot.wait(200)  # the first labels may resize the axis once
    count = len(layouts)
    for _ in range(5):
        axis.setRange(*axis.range)  # pyqtgraph's views call it on every resize and auto-range
        qtbot.wait(5)
    assert len(layouts) == count
    plot.setXRange(0, 50, padding=0)
    qtbot.waitUntil(lambda: "20" in axis.tick_labels() and "400" not in axis.tick_labels())
    assert len(layouts) == count + 1


def test_auto_range_padding_does_not_follow_the_views_pixel_size(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    plot = widget.addPlot(viewBox=RobustViewBox())
    plot.plot([0.0, 1.0], [0.0, 1.0])
    ranges = []
    for width in (300, 700):
        widget.resize(width, 250)
        widget.show()
        qtbot.wait(30)
        plot.getViewBox().updateAutoRange()
        ranges.append(plot.getViewBox().viewRange()[1])
    assert ranges[0] == ranges[1]  # a tick label's width no longer moves both ranges


def test_a_title_with_new_text_reads_as_a_full_set_title_without_a_relayout(qtbot):
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    fast, full = widget.addPlot(), widget.addPlot()
    first = [("■ FISTA", "#ff0000"), ("k=1 · 20.00 dB", None), ("", None)]
    titles = [PaneTitle(plot, first) for plot in (fast, full)]
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    lines = [("■ FISTA", "#ff0000"), ("k=12 · 23.41 dB · SSIM 0.812", None), ("check accepts 3 %", None)]
    geometry_requests = []
    fast.titleLabel.updateGeometry = lambda: geometry_requests.append(1)
    titles[0].set_lines(lines)
    full.setTitle(render(lines, full.width() - 6, 3), size=f"{TITLE_POINT_SIZE}pt")
    unconstrain_title(full)
    assert geometry_requests == []
    assert fast.titleLabel.text == full.titleLabel.text
    assert fast.titleLabel.item.toHtml() == full.titleLabel.item.toHtml()
    assert fast.titleLabel.item.pos() == full.titleLabel.item.pos()
    assert titles[0].text() == "■ FISTA\nk=12 · 23.41 dB · SSIM 0.812\ncheck accepts 3 %"


def test_the_windows_plots_use_native_axes_that_follow_the_run(main_window, qtbot):
    for _ in range(3):
        click(qtbot, main_window.transport.step)
        wait_idle(qtbot, main_window)
    main_window.refresh()
    qtbot.wait(50)
    for key, plot in main_window.curves.plots.items():
        bottom = plot.getAxis("bottom")
        assert type(bottom) is NativeAxis and type(plot.getAxis("left")) is NativeAxis, key
        low, high = bottom.range
        assert low < 0.5 and 3 <= high <= 12, (key, bottom.range)  # the first 1-2-5 step: 0–10
        assert bottom.tick_labels(), key
        assert all(item.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache for item in bottom.lines)
    # the grids kept as pixmaps fit in Qt's pixmap cache (else they are stroked at every repaint)
    assert QPixmapCache.cacheLimit() >= PIXMAP_CACHE_KB


def _pane_pixels(qtbot, item_type, image, colour_map, levels) -> np.ndarray:
    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(300, 240)
    plot = widget.addPlot()
    plot.hideAxis("left")
    plot.hideAxis("bottom")
    item = item_type(axisOrder="row-major")
    if colour_map is not None:
        item.setColorMap(pg.colormap.get(colour_map))
    plot.addItem(item)
    plot.getViewBox().setAspectLocked(True)
    item.setImage(image, autoLevels=False, levels=levels)
    plot.getViewBox().autoRange(padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(50)
    return _pixels(widget), item


def test_native_image_shows_the_same_pixels_as_image_item_and_follows_new_data(qtbot):
    rng = np.random.default_rng(0)
    grey = rng.random((40, 56)).astype(np.float32)
    error = np.abs(rng.standard_normal((40, 56))).astype(np.float32)
    error[3:6, 10:20] = np.nan  # NaNs are transparent
    for image, colour_map, levels in ((grey, None, (0.0, 1.0)), (error, "inferno", (0.0, 1.5))):
        reference, _ = _pane_pixels(qtbot, pg.ImageItem, image, colour_map, levels)
        pixels, item = _pane_pixels(qtbot, NativeImage, image, colour_map, levels)
        assert np.array_equal(pixels, reference), (colour_map, int((pixels != reference).sum()))
        assert item.pixmap_item.isVisible() and item.pixmap_item.pixmap().size() == item.qimage.size()
    widget = item.getViewWidget()
    before = _pixels(widget)
    item.setLevels((0.0, 3.0))  # the colour bar's levels: rendered again without a new image
    qtbot.waitUntil(lambda: not np.array_equal(_pixels(widget), before))
    item.setImage(np.zeros_like(error), autoLevels=False, levels=(0.0, 1.0))
    qtbot.waitUntil(lambda: len(np.unique(_pixels(widget).reshape(-1, 4)[:, :3], axis=0)) <= 3)
    item.clear()
    qtbot.waitUntil(lambda: not item.pixmap_item.isVisible())


def test_native_colour_bar_looks_like_pyqtgraphs_and_its_axis_follows_the_levels(qtbot):
    shown = []
    for bar_type in (pg.ColorBarItem, NativeColorBar):
        widget = NativeGraphicsLayout()
        qtbot.addWidget(widget)
        widget.resize(120, 400)
        bar = bar_type(values=(0.0, 0.2), colorMap="magma", interactive=True, width=12, label="|x − x_gt|")
        widget.addItem(bar)
        widget.show()
        qtbot.waitExposed(widget)
        bar.setLevels((0.0, 0.137))
        qtbot.wait(300)
        shown.append(_pixels(widget))
    assert np.array_equal(shown[0], shown[1]), int((shown[0] != shown[1]).sum())
    assert all(type(bar.getAxis(side)) is NativeAxis for side in ("left", "right", "top", "bottom"))
    assert "0.13" in bar.axis.tick_labels() and bar.getAxis("left").tick_labels() == []
    bar.setLevels((0.0, 2.5))
    qtbot.waitUntil(lambda: "2.5" in bar.axis.tick_labels() and "0.13" not in bar.axis.tick_labels())


def test_what_stays_on_screen_after_many_changes_is_a_fresh_render(qtbot):
    """Moved and hidden tick labels, new images and levels leave nothing behind in the window's
    backing store (the offscreen platform's window grab reads it; ``grab`` renders afresh)."""
    from PySide6.QtWidgets import QApplication

    widget = NativeGraphicsLayout()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    plot = widget.addPlot(axisItems=native_axes())
    plot.showGrid(x=True, y=True, alpha=0.25)
    curve = plot.plot([0.0], [0.0])
    pane = widget.addPlot()
    image = NativeImage(axisOrder="row-major")
    pane.addItem(image)
    bar = NativeColorBar(values=(0.0, 1.0), colorMap="magma", width=12)
    widget.addItem(bar)
    bar.setImageItem([image])
    widget.show()
    qtbot.waitExposed(widget)
    rng = np.random.default_rng(1)
    for n in (10, 20, 50, 100, 200):
        x = np.arange(n, dtype=float)
        curve.setData(x, np.log10(1 + x) * n / 10)
        image.setImage(rng.random((16 + n // 10, 24)).astype(np.float32), autoLevels=False)
        bar.setLevels((0.0, n / 100))
        qtbot.wait(150)
    on_screen = _rgb(QApplication.primaryScreen().grabWindow(widget.winId()).toImage())
    assert np.array_equal(on_screen, _pixels(widget))
