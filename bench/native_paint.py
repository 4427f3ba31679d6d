"""Does a solver thread wait for the GIL while the window's plots paint? pyqtgraph's items against
the native ones of ``workbench.native_paint``.

A worker thread runs small torch FFT steps (like a 64² solver) while the main thread runs the Qt
event loop and repaints a grid of 6 plots with 4 long curves each at display rate (a timer calls
``viewport().update()``; the paint itself comes from the event loop, as in the window). Three
scenes with the same data:

* ``pyqtgraph``: ``GraphicsLayoutWidget`` and ``PlotDataItem`` curves (Python ``paintEvent``
  and Python ``paint``: the scene paints under the GIL);
* ``native view``: ``NativeGraphicsLayout`` (Qt's own ``paintEvent``) with ``PlotDataItem`` curves;
* ``native view + curves``: ``NativeGraphicsLayout`` with ``FastCurve`` items (what the window uses).

For each it prints the worker's steps/s and where its wall time went (running, waiting for a CPU,
sleeping: waiting for the GIL; Linux schedstat) and the paint cost of the scene (ms per
synchronous ``grab``). The worker's rate also moves with the machine's load; the sleeping share
is the figure the GIL decides.

Run: ``QT_QPA_PLATFORM=offscreen python bench/native_paint.py [--points N] [--seconds S]``
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
import torch  # noqa: E402
from gui_rate import ThreadShares  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.native_paint import FastCurve, NativeGraphicsLayout  # noqa: E402

SCENES = ("pyqtgraph", "native view", "native view + curves")


def build_scene(kind: str, x: np.ndarray, curves: list[np.ndarray]):
    widget = pg.GraphicsLayoutWidget() if kind == "pyqtgraph" else NativeGraphicsLayout()
    widget.resize(1600, 1000)
    for plot_index in range(6):
        plot = widget.addPlot(row=plot_index // 3, col=plot_index % 3)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        for lane, y in enumerate(curves):
            pen = pg.mkPen(pg.intColor(lane), width=2)
            if kind == "native view + curves":
                curve = FastCurve(pen)
                plot.addItem(curve)
                curve.setData(x, y)
            else:
                plot.plot(x, y, pen=pen)
    widget.show()
    return widget


def measure(app, widget, seconds: float) -> tuple[float, tuple, float]:
    """(worker steps/s, worker thread shares, ms per synchronous paint) for ``widget``."""
    image = torch.rand(64, 64)
    steps, stop, ident = [0], threading.Event(), []

    def solver() -> None:
        ident.append(threading.get_native_id())
        x = image
        while not stop.is_set():
            x = torch.fft.irfft2(torch.fft.rfft2(x) * 0.5, s=x.shape) + image
            steps[0] += 1

    worker = threading.Thread(target=solver, daemon=True)
    worker.start()
    timer = QTimer()
    timer.timeout.connect(widget.viewport().update)
    timer.start(16)
    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)
    loop.exec()
    shares, start, first = ThreadShares(str(ident[0])), time.perf_counter(), steps[0]
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    rate, worker_shares = (steps[0] - first) / (time.perf_counter() - start), shares.shares()
    timer.stop()
    stop.set()
    worker.join()
    start = time.perf_counter()
    for _ in range(10):
        widget.grab()
    return rate, worker_shares, (time.perf_counter() - start) * 100


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5000, help="points per curve (iterations of history)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = np.arange(1.0, args.points + 1)
    curves = [np.cumsum(rng.standard_normal(args.points)) for _ in range(4)]
    print(f"6 plots × 4 curves of {args.points} points, repainted every 16 ms; worker: 64² FFT steps")
    print("| scene | worker steps/s | running | waiting for a CPU | sleeping (GIL) | ms per paint |")
    print("|---|---|---|---|---|---|")
    for _ in range(args.rounds):  # interleaved: the machine's load drifts
        for kind in SCENES:
            widget = build_scene(kind, x, curves)
            rate, (running, waiting, sleeping), paint_ms = measure(app, widget, args.seconds)
            shares = f"{running:.2f} | {waiting:.2f} | {sleeping:.2f}"
            print(f"| {kind} | {rate:.0f} | {shares} | {paint_ms:.1f} |", flush=True)
            widget.close()
            widget.deleteLater()
            app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
