"""The live window against headless: iteration rate, repaints, edit latency, autosave, memory.

The real main window runs offscreen (``QT_QPA_PLATFORM=offscreen``): 6 metric plots, image panes
for every lane, the display timer at its display rate. For each configuration (the default
problem with four lanes, FISTA, PODM, ISTA and ADMM, at 64² where iterations are many and fast,
and at 512²) it measures, interleaved in one process:

* **headless**: ``Run.step()`` in a loop on a fresh ``Run`` of the same config (iterations/s);
* **window**: the worker playing at full speed ("Run to end") with the window refreshing
  (iterations/s), with autosave off and on (written every ``--autosave-interval`` seconds,
  stricter than the workbench's 5 s), and the window's repaints per second (paint events of
  the curves' viewport: the window repaints when there is new data);
* **full repaints/s**: how many refreshes with a synchronous repaint of the whole window (every
  pane and plot) the GUI thread sustains while the worker plays;
* **edit latency**: while the window plays, parameter edits through the real editor, from the
  call to the moment they were applied (p50/p95), and how long the call held the GUI thread:
  run settings (tolerance; applied at once, even while a lane steps) and a lane edit (the ISTA
  lane, restarted; applied by the worker between two lanes, so after the lane in progress);
* **pause**: iterations taken after a pause request (≤ 1: the step in progress);
* **memory**: the window's bytes per iteration of history (mirror + curves + autosave text) and
  the process RSS growth per iteration over a long 64² run; refresh cost early and late.

It prints a table of the ratios window/headless (target ≥ 0.9), repaints/s (target ≥ 25 at 512²),
edit latency (target p95 ≤ 100 ms) and autosave on/off (target ≥ 0.95); ``--markdown PATH``
writes it too.

Usage::

    QT_QPA_PLATFORM=offscreen python bench/gui_rate.py [--seconds S] [--rounds R] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.config import default_config  # noqa: E402
from core.engine import Run  # noqa: E402
from core.lane_spec import LaneSpec  # noqa: E402

EXTRA_LANES = (
    LaneSpec(solver="ista", label="ISTA", prior="l1_wavelet"),
    LaneSpec(solver="admm", label="ADMM", prior="l1_wavelet"),
)


def bench_config(size: int, iterations: int):
    """The workbench's default problem at ``size`` px with four lanes and a high iteration limit."""
    config = default_config()
    config.problem.size = size
    config.lanes = [*config.lanes, *EXTRA_LANES]
    config.run.iterations = iterations
    return config


def headless_rate(config, seconds: float) -> float:
    """Iterations per second (lockstep of every lane) of ``Run.step`` for about ``seconds``."""
    run = Run(config.copy())
    run.step(1)  # warm-up
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        run.step(1)
        n += 1
    return n / (time.perf_counter() - start)


class PaintCounter(QObject):
    """Counts paint events of a widget."""

    def __init__(self, widget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def lane_k(window) -> int:
    snapshot = window.worker.latest()
    return min((lane.k for lane in snapshot.lanes), default=0)


def pump(app, seconds: float) -> None:
    """Run the event loop for ``seconds`` (the window refreshes on its timer), as ``app.exec()`` would."""
    loop = QEventLoop()
    QTimer.singleShot(max(1, int(seconds * 1000)), loop.quit)
    loop.exec()


def thread_ids(name: str) -> set[str]:
    """The ids of this process's threads called ``name`` (Linux; empty elsewhere)."""
    tasks = Path("/proc/self/task")
    found = set()
    for task in tasks.glob("*") if tasks.is_dir() else []:
        try:
            if (task / "comm").read_text().strip() == name:
                found.add(task.name)
        except OSError:
            continue
    return found


class ThreadShares:
    """Where a thread's wall time goes (Linux ``/proc/self/task/TID/schedstat``): running on a
    CPU, runnable but waiting for one (other threads and processes), and sleeping (for the solver
    thread while it plays: waiting for the GIL). Without that file every share reads NaN."""

    def __init__(self, thread_id: str | None):
        path = Path(f"/proc/self/task/{thread_id}/schedstat")
        self.path = path if thread_id is not None and path.is_file() else None
        self.start = self._read()

    def _read(self) -> tuple[float, float, float]:
        if self.path is None:
            return (float("nan"),) * 3
        running, waiting = (int(v) / 1e9 for v in self.path.read_text().split()[:2])
        return running, waiting, time.perf_counter()

    def shares(self) -> tuple[float, float, float]:
        """(running, waiting for a CPU, sleeping) as shares of the wall time since construction."""
        end = self._read()
        wall = end[2] - self.start[2]
        running, waiting = ((end[i] - self.start[i]) / wall for i in range(2))
        return running, waiting, 1.0 - running - waiting


def window_rate(app, window, seconds: float) -> tuple[float, float, tuple, tuple]:
    """(iterations/s, repaints/s, solver thread shares, GUI thread shares) with the window playing
    at full speed for about ``seconds`` (shares: :class:`ThreadShares`)."""
    painter = PaintCounter(window.curves.graphics.viewport())
    pump(app, 0.2)
    k0, paints0, start = lane_k(window), painter.count, time.perf_counter()
    window.run_to_end()
    solver, gui = ThreadShares(window.solver_thread_id), ThreadShares(str(os.getpid()))
    pump(app, seconds)
    window.set_playing(False)
    elapsed = time.perf_counter() - start
    shares = solver.shares(), gui.shares()
    pump(app, 0.1)
    while window.worker.is_playing:
        pump(app, 0.05)
    return (lane_k(window) - k0) / elapsed, (painter.count - paints0) / elapsed, *shares


def repaint_rate(app, window, seconds: float) -> float:
    """Full-window repaints per second the GUI thread sustains while the worker plays (each: a
    refresh and a synchronous repaint of every pane and plot)."""
    window.run_to_end()
    pump(app, 0.2)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        window.refresh()
        window.repaint()
        app.processEvents()
        n += 1
    rate = n / (time.perf_counter() - start)
    window.set_playing(False)
    while window.worker.is_playing:
        pump(app, 0.02)
    return rate


def edit_latencies(app, window, edits: int, lane: int | None = None) -> tuple[list[float], list[float], int]:
    """Edit latencies (ms from the call to applied by the worker), GUI time per call (ms), and the
    iterations taken after a pause request. The edits are run settings (tolerance), or with
    ``lane`` an edit of that lane (which restarts it)."""
    worker = window.worker
    applied: list[float] = []
    submit = worker.submit

    def timed_submit(apply, done=None, **options):
        return submit(lambda run: (applied.append(time.perf_counter()), apply(run))[1], done, **options)

    worker.submit = timed_submit
    latencies, blocking = [], []
    window.run_to_end()
    pump(app, 0.5)
    rng = np.random.default_rng(0)
    for i in range(edits):
        pump(app, float(rng.uniform(0.05, 0.25)))
        before = len(applied)
        if lane is None:
            settings = {**window.run_panel.run_settings(), "tolerance": 1e-12 * (i + 1)}
            start = time.perf_counter()
            window.editor.on_run_settings_changed(settings)
        else:
            spec = window.run.config.to_dict()["lanes"][lane]
            start = time.perf_counter()
            window.editor.on_lane_changed(lane, spec)
        blocking.append(1000 * (time.perf_counter() - start))
        while len(applied) == before:
            pump(app, 0.001)
        latencies.append(1000 * (applied[-1] - start))
    at_pause = max(lane.k for lane in window.run.lanes)
    window.set_playing(False)
    while worker.is_playing:
        pump(app, 0.02)
    after = max(lane.k for lane in window.run.lanes) - at_pause
    worker.submit = submit
    return latencies, blocking, after


def refresh_cost(app, window, samples: int = 20) -> float:
    """Median ms the GUI thread takes to show new data: one refresh with a publish waiting and the
    synchronous repaint of the whole window (the worker stepping meanwhile)."""
    times = []
    window.run_to_end()
    window.timer.stop()
    for _ in range(samples):
        while not window.worker._pending:  # wait for the worker's next publish
            pump(app, 0.005)
        start = time.perf_counter()
        window.refresh()
        window.repaint()
        times.append(1000 * (time.perf_counter() - start))
    window.timer.start()
    window.set_playing(False)
    while window.worker.is_playing:
        pump(app, 0.02)
    return statistics.median(times)


def window_bytes(window) -> int:
    """Bytes of history the window holds: its mirror, the plotted arrays, the autosave's text."""
    total = window.worker.memory_bytes()
    for plotted in window.curves._plotted.values():
        total += plotted.x.nbytes() + plotted.bound.nbytes() + sum(a.nbytes() for a in plotted.y.values())
    if window.autosaver is not None:
        total += window.autosaver.writer.nbytes()
    return total


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def make_window(config, autosave_dir, interval: float):
    from workbench.main_window import MainWindow

    before = thread_ids("solver-worker")
    window = MainWindow(config.copy(), autosave_dir=autosave_dir)
    pump(QApplication.instance(), 0.1)  # the worker thread starts
    window.solver_thread_id = next(iter(thread_ids("solver-worker") - before), None)
    if window.autosaver is not None:
        window.autosaver._periodic.setInterval(int(interval * 1000))
    window.resize(1600, 1000)
    window.show()
    return window


def close(app, window) -> None:
    window.close()
    while window.thread is not None and not window.thread.isFinished():
        pump(app, 0.05)
    window.deleteLater()
    pump(app, 0.1)


def measure(app, size: int, seconds: float, rounds: int, interval: float, edits: int) -> dict:
    config = bench_config(size, iterations=10**7)
    keys = ("headless", "window", "autosave", "paints", "solver_shares", "gui_shares")
    out = {"size": size, **{key: [] for key in keys}}
    with tempfile.TemporaryDirectory() as folder:
        plain = make_window(config, None, interval)
        saving = make_window(config, Path(folder) / ".autosave", interval)
        for _ in range(rounds):  # interleaved: the machine's load drifts
            out["headless"].append(headless_rate(config, seconds))
            rate, paints, solver, gui = window_rate(app, plain, seconds)
            out["window"].append(rate)
            out["paints"].append(paints)
            out["solver_shares"].append(solver)
            out["gui_shares"].append(gui)
            out["autosave"].append(window_rate(app, saving, seconds)[0])
        out["writes"] = saving.autosaver.writer.writes
        out["repaint_capacity"] = repaint_rate(app, plain, seconds)
        latencies, blocking, after_pause = edit_latencies(app, plain, edits)
        out.update(latency=latencies, blocking=blocking, after_pause=after_pause)
        out["refresh_ms"] = refresh_cost(app, plain)
        out["iterations"] = lane_k(plain)
        out["bytes_per_iteration"] = window_bytes(plain) / max(1, lane_k(plain))
        # last: a lane edit restarts the lane (the figures above count the lanes' iterations)
        lane_latencies, lane_blocking, _ = edit_latencies(app, plain, edits, lane=len(config.lanes) - 2)
        out.update(lane_latency=lane_latencies, lane_blocking=lane_blocking)
        out["longest_lane_ms"] = max(
            (1000 * float(np.median(lane.step_seconds)) for lane in plain.run.lanes if len(lane.step_seconds)),
            default=float("nan"),
        )
        close(app, plain)
        close(app, saving)
    return out


def long_run(app, iterations: int, interval: float) -> dict:
    """RSS and refresh cost over a long 64² run with autosave on."""
    config = bench_config(64, iterations=iterations)
    with tempfile.TemporaryDirectory() as folder:
        window = make_window(config, Path(folder) / ".autosave", interval)
        early = refresh_cost(app, window)
        k0, rss0, start = lane_k(window), rss_bytes(), time.perf_counter()
        window.run_to_end()
        while window.worker.is_playing:
            pump(app, 0.1)
        elapsed = time.perf_counter() - start
        k1 = lane_k(window)
        rss1 = rss_bytes()
        window.run.config.run.iterations = iterations + 2000
        late = refresh_cost(app, window)
        result = {
            "iterations": k1,
            "rate": (k1 - k0) / elapsed,
            "rss_per_iteration": (rss1 - rss0) / max(1, k1 - k0),
            "bytes_per_iteration": window_bytes(window) / max(1, k1),
            "refresh_early_ms": early,
            "refresh_late_ms": late,
        }
        close(app, window)
    return result


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def table(results: list[dict], long: dict | None) -> str:
    lines = [
        "| size | headless it/s | window it/s | window/headless | autosave on it/s | on/off | repaints/s "
        "| full repaints/s | show new data ms | edit latency p50 / p95 ms (one lockstep ms) | GUI ms per edit (max) "
        "| lane edit p50 / p95 ms (slowest lane's step ms) | GUI ms per lane edit (max) "
        "| its after pause | window B/iteration |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        headless, window, saving = (statistics.median(r[key]) for key in ("headless", "window", "autosave"))
        lines.append(
            f"| {r['size']}² | {headless:.1f} | {window:.1f} | {window / headless:.2f} | {saving:.1f} "
            f"| {saving / window:.2f} | {statistics.median(r['paints']):.0f} | {r['repaint_capacity']:.0f} "
            f"| {r['refresh_ms']:.0f} | {percentile(r['latency'], 50):.0f} / {percentile(r['latency'], 95):.0f} "
            f"({1000 / window:.0f}) "
            f"| {max(r['blocking'], default=float('nan')):.1f} "
            f"| {percentile(r['lane_latency'], 50):.0f} / {percentile(r['lane_latency'], 95):.0f} "
            f"({r['longest_lane_ms']:.0f}) | {max(r['lane_blocking'], default=float('nan')):.1f} "
            f"| {r['after_pause']} | {r['bytes_per_iteration']:.0f} |"
        )
    lines += [
        "",
        "Where the threads' wall time went while the window played (medians; Linux schedstat):",
        "",
        "| size | solver: running | solver: waiting for a CPU | solver: sleeping (the GIL) | GUI: running "
        "| GUI: waiting for a CPU |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        solver, gui = (np.median(np.array(r[key]), axis=0) for key in ("solver_shares", "gui_shares"))
        lines.append(
            f"| {r['size']}² | {solver[0]:.2f} | {solver[1]:.2f} | {solver[2]:.2f} | {gui[0]:.2f} | {gui[1]:.2f} |"
        )
    text = "\n".join(lines)
    if long is not None:
        text += (
            f"\n\nLong 64² run with autosave on: {long['iterations']} iterations at {long['rate']:.0f} it/s; "
            f"window history {long['bytes_per_iteration']:.0f} B/iteration (4 lanes), RSS growth "
            f"{long['rss_per_iteration']:.0f} B/iteration; showing new data (refresh + repaint) "
            f"{long['refresh_early_ms']:.1f} ms at the start, {long['refresh_late_ms']:.1f} ms after "
            f"{long['iterations']} iterations."
        )
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measured segment")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--autosave-interval", type=float, default=1.0)
    parser.add_argument("--long", type=int, default=20000, help="iterations of the long 64² run (0: skip)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from workbench.app import make_app

    app = make_app()
    results = []
    for size in args.sizes:
        results.append(measure(app, size, args.seconds, args.rounds, args.autosave_interval, args.edits))
        print(f"{size}²: done", flush=True)
    long = long_run(app, args.long, args.autosave_interval) if args.long else None
    text = table(results, long)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (
        f"torch {torch.__version__}, {args.threads} thread(s), {platform.processor() or platform.machine()}, "
        f"load average {load:.1f}; segments of {args.seconds:.0f} s × {args.rounds} rounds (medians), "
        f"autosave every {args.autosave_interval:g} s"
    )
    print(header)
    print(text)
    if args.markdown:
        args.markdown.write_text(header + "\n\n" + text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
