"""Does PySide6 hold the GIL while Qt paints? A solver-like thread's rate while the GUI thread paints.

A worker thread runs small torch FFT steps (like a 64² solver: many short operations, each
releasing and retaking the GIL) while the main thread alternates between sleeping and painting an
antialiased polyline into a QImage with ``QPainter.drawPolyline`` (pure C++ work). If PySide
released the GIL around the C++ call, the worker would keep its rate on a second core; if it holds it, the
worker stalls for the length of every paint. That is why the live window slows the solver
(bench/results/gui_performance.md).

Run: ``QT_QPA_PLATFORM=offscreen python bench/gil_paint.py``
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import torch
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QApplication


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each phase")
    parser.add_argument("--points", type=int, default=100, help="vertices of the painted polyline")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    torch.set_num_threads(1)
    image = torch.rand(64, 64)
    steps, stop = [0], threading.Event()

    def solver() -> None:
        x = image
        while not stop.is_set():
            x = torch.fft.irfft2(torch.fft.rfft2(x) * 0.5, s=x.shape) + image
            steps[0] += 1

    target = QImage(1600, 1000, QImage.Format.Format_ARGB32_Premultiplied)
    points = np.random.default_rng(0).random((args.points, 2)) * (1600, 1000)
    polyline = QPolygonF([QPointF(x, y) for x, y in points])

    def paint(seconds: float) -> int:
        start, count = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            painter = QPainter(target)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(200, 30, 30), 2))
            painter.drawPolyline(polyline)
            painter.end()
            count += 1
        return count

    worker = threading.Thread(target=solver, daemon=True)
    worker.start()
    rates = {"sleeping": [], "painting": []}
    for phase in ("sleeping", "painting") * 2:
        before, start = steps[0], time.perf_counter()
        paints = time.sleep(args.seconds) if phase == "sleeping" else paint(args.seconds)
        rate = (steps[0] - before) / (time.perf_counter() - start)
        rates[phase].append(rate)
        print(f"GUI thread {phase}: worker {rate:8.0f} steps/s" + (f" ({paints} paints)" if paints else ""), flush=True)
    stop.set()
    worker.join()
    ratio = np.median(rates["painting"]) / np.median(rates["sleeping"])
    print(f"worker rate while painting / while sleeping: {ratio:.2f}")
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
