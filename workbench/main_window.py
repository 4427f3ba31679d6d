"""The main window: panels on the left, image panes on top, curves / diagnostics below, the
transport bar above and a status bar; a display-rate timer pulls the worker's snapshot."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.config import Config
from core.engine import Run

from . import feed, lane_view, messages
from .curves import CurvesView
from .diagnostics import DiagnosticsView
from .document import Document
from .lanes_panel import LanesPanel, assign_lane_colors
from .menus import build_menus
from .panes import ImagePanes
from .problem_panel import ProblemPanel
from .run_controls import RunControls
from .run_panel import RunPanel
from .status_bar import StatusLabels
from .transport import TransportBar
from .window_actions import Exporter, RunEditor
from .worker import RunWorker
from .worker_thread import start_worker, stop_worker

REFRESH_MS = 33  # ~30 Hz display rate
CLOSE_GRACE_MS = 200  # a close waits this long for the current iteration, then defers


class MainWindow(QMainWindow):
    """Convergence Workbench main window.

    It lays out the widgets, runs the display timer and composes three controllers, each given
    what it uses: ``editor`` (:class:`RunEditor`: edits, files), ``exporter``
    (:class:`Exporter`) and ``controls`` (:class:`RunControls`: the transport bar).

    Parameters
    ----------
    config : Config
        What to open (the embedded default, a config file or a session's config).
    autosave_dir : Path, optional
        Where to autosave; None disables autosave (tests, screenshots).
    start_thread : bool
        Start the worker thread (False for ``--screenshot``, which steps synchronously).
    run : Run, optional
        The run of ``config``, already built (the start path builds it to report errors first).
    settings : QSettings, optional
        What to remember between starts (:mod:`workbench.settings`); None: nothing is written.
    """

    def __init__(
        self,
        config: Config,
        autosave_dir: Path | None = None,
        start_thread: bool = True,
        run: Run | None = None,
        settings: QSettings | None = None,
    ):
        super().__init__()
        self.setAcceptDrops(True)
        self.errors: list[str] = []
        self._error_boxes: list[QMessageBox] = []
        self._reported_lanes: set[tuple[str, str]] = set()
        self.scrub_k: int | None = None  # None: follow the latest iteration
        self._shown_snapshot = None
        self._lane_keys: tuple | None = None
        self.training_dialog = None  # Run → Train network… (created on first use)
        self._stopping = False  # closing: waiting for the worker's iteration
        assign_lane_colors(config)
        self.worker = RunWorker(run if run is not None else Run(config))
        self.worker.failed.connect(self.show_error)
        self.thread = start_worker(self.worker) if start_thread else None
        self._build_widgets()
        self.document = Document(self, settings)  # title, recent files, remembered geometry
        self.autosaver = None
        if autosave_dir is not None:
            from .autosave import Autosaver

            self.autosaver = Autosaver(self.worker, autosave_dir, parent=self, warn=self.status_labels.autosave_warning)
        status = self.statusBar().showMessage
        self.editor = RunEditor(
            parent=self,
            worker=self.worker,
            problem_panel=self.problem_panel,
            lanes_panel=self.lanes_panel,
            run_panel=self.run_panel,
            show_error=self.show_error,
            show_status=status,
            refresh=self.refresh,
            new_run=self.forget_display,
            autosaver=self.autosaver,
            document=self.document,
        )
        self.editor.connect()
        self.exporter = Exporter(
            parent=self,
            worker=self.worker,
            panes=self.panes,
            curves=self.curves,
            show_error=self.show_error,
            show_status=status,
        )
        self.controls = RunControls(
            parent=self,
            worker=self.worker,
            transport=self.transport,
            run_panel=self.run_panel,
            show_status=status,
            refresh=self.refresh,
            on_reset=self.forget_display,
        )
        self.controls.connect()
        build_menus(
            self, editor=self.editor, exporter=self.exporter, controls=self.controls, recent=self.document.recent
        )
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.document.restore_window()
        self.refresh()

    @property
    def run(self) -> Run:
        return self.worker.run

    # layout -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        config = self.run.config.to_dict()
        self.problem_panel = ProblemPanel(config["problem"])
        self.lanes_panel = LanesPanel(config["lanes"], degradation=config["problem"]["degradation"])
        self.run_panel = RunPanel(config["run"])
        self.run_panel.x_axis_changed.connect(lambda mode: self.curves.set_x_axis(mode))

        self.side_tabs = QTabWidget()
        for panel, title in (
            (self.problem_panel, "Problem"),
            (self.lanes_panel, "Lanes"),
            (self.run_panel, "Run settings"),
        ):
            scroll = QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.side_tabs.addTab(scroll, title)
        self.side_tabs.setCurrentIndex(1)
        self.side_tabs.setMinimumWidth(360)

        self.panes = ImagePanes()
        self.curves = CurvesView()
        self.curves.scrub_requested.connect(self.scrub_to)
        self.diagnostics = DiagnosticsView()
        self.diagnostics.lane_selected.connect(lambda _: self._show_current(force=True))
        self.diagnostics.shown.connect(lambda: self._show_current(force=self.scrub_k is not None))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.diagnostics, "Diagnostics (intermediate images, checks)")
        self.tabs.currentChanged.connect(lambda _: self._show_current(force=True))
        right = QSplitter(Qt.Orientation.Vertical, objectName="panes_and_plots")  # named: remembered
        right.addWidget(self.panes)
        right.addWidget(self.tabs)
        right.setSizes([450, 550])  # side-by-side panes need less height than the curves
        main = QSplitter(Qt.Orientation.Horizontal, objectName="panels_and_views")
        main.addWidget(self.side_tabs)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setSizes([390, 1210])

        self.transport = TransportBar()
        self.transport.scrubbed.connect(self.scrub_to)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.transport)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)

        self.status_labels = StatusLabels(self.statusBar())
        self.status_autosave = self.status_labels.autosave

    def open_training_dialog(self) -> None:
        """Show the non-modal "Train network" dialog (one per window, kept between openings)."""
        from .training_dialog import TrainingDialog

        if self.training_dialog is None:
            self.training_dialog = TrainingDialog(self)
        self.training_dialog.show()
        self.training_dialog.raise_()

    # transport (thin delegates to ``controls``) -----------------------------------------
    def set_playing(self, playing: bool) -> None:
        """See :meth:`RunControls.set_playing`."""
        self.controls.set_playing(playing)

    def run_to_end(self) -> None:
        """See :meth:`RunControls.run_to_end`."""
        self.controls.run_to_end()

    def step(self, n: int = 1) -> None:
        """See :meth:`RunControls.step`."""
        self.controls.step(n)

    def reset(self) -> None:
        """See :meth:`RunControls.reset`."""
        self.controls.reset()

    def step_synchronously(self, n: int) -> None:
        """See :meth:`RunControls.step_synchronously`."""
        self.controls.step_synchronously(n)

    def replay(self, iterations: int, restored: bool = False) -> None:
        """Replay the run to ``iterations`` in the worker; for a ``restored`` autosave, autosaves
        wait until the replay has caught up (they would hold less than the autosave)."""
        if restored and self.autosaver is not None:
            self.autosaver.hold(iterations)
        self.worker.run_to(iterations)

    def scrub_to(self, k: int) -> None:
        """Show iteration ``k`` of the kept history in every pane and plot (-1: live)."""
        self.scrub_k = None if k is None or k < 0 else int(k)
        if self.scrub_k is not None:
            self.transport.set_value(self.scrub_k)
        self._show_current(force=True)

    # edits, files and exports (thin delegates to the controllers) -----------------------
    def apply_config(self, config: Config, replay_to: int | None = None) -> bool:
        """See :meth:`RunEditor.apply_config`."""
        return self.editor.apply_config(config, replay_to)

    def on_lane_changed(self, index: int, lane: dict) -> None:
        """See :meth:`RunEditor.on_lane_changed`."""
        self.editor.on_lane_changed(index, lane)

    def open_path(self, path: str | Path) -> bool:
        """See :meth:`RunEditor.open_path`."""
        return self.editor.open_path(path)

    def open_session(self, folder: str | Path) -> bool:
        """See :meth:`RunEditor.open_session`."""
        return self.editor.open_session(folder)

    def save_session_to(self, folder: str | Path) -> Path:
        """See :meth:`RunEditor.save_session_to`."""
        return self.editor.save_session_to(folder)

    def export_animation(self, lane_index: int, path: str | Path) -> None:
        """See :meth:`Exporter.export_animation`."""
        self.exporter.export_animation(lane_index, path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        """A dropped image file becomes the problem's image (a .toml or session folder opens)."""
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.editor.open_path(files[0])

    # display ----------------------------------------------------------------------------
    def forget_display(self) -> None:
        """A new run replaced the old one (new problem or reset): rebuild the lane views, reset
        the curves' axes and follow the latest iterate."""
        if getattr(self, "autosaver", None) is not None:
            self.autosaver.release()
        self.panes.reset_levels()
        self.curves.reset_view()
        self._lane_keys = None
        self.scrub_k = None

    def refresh(self) -> None:
        """Timer slot: pull the latest snapshot and repaint what changed."""
        self.transport.set_playing(self.worker.is_playing)
        snapshot = self.worker.latest()
        if snapshot is None or snapshot is self._shown_snapshot:
            return
        self._shown_snapshot = snapshot
        keys = tuple((lane.label, lane.color) for lane in snapshot.lanes)
        if keys != self._lane_keys:
            self._lane_keys = keys
            self.panes.set_lanes([lane_view.pane_info(lane) for lane in snapshot.lanes])
            self.curves.set_lanes([(lane.label, lane.color or "#888888") for lane in snapshot.lanes])
            self.diagnostics.set_lanes([lane.label for lane in snapshot.lanes])
            self.panes.set_reference(snapshot.ground_truth, snapshot.observation)
        self.curves.update_curves(snapshot)
        self._report_lane_errors(snapshot)
        first, last = lane_view.kept_range(snapshot, self.run.config.run.keep_iterates)
        self.transport.set_range(first, last, follow=self.scrub_k is None)
        self._show_current(force=False)
        self.status_labels.update(snapshot, self.worker)

    def _show_current(self, force: bool) -> None:
        snapshot = self._shown_snapshot
        if snapshot is None:
            return
        if self.scrub_k is None:
            k = max((lane.k for lane in snapshot.lanes), default=0)
            for i, lane in enumerate(snapshot.lanes):
                self.panes.set_lane_image(i, lane.image, lane.error_map, lane_view.pane_info(lane))
            index = self.diagnostics.pick_lane(snapshot.lanes)
            if 0 <= index < len(snapshot.lanes) and self.diagnostics.isVisible():  # else shown when shown
                lane = snapshot.lanes[index]
                self.diagnostics.show_lane(lane, lane.k, lane_view.live_extras(self.worker, index, lane))
        else:
            k, index = self.scrub_k, self.diagnostics.pick_lane(snapshot.lanes)
            if force:  # kept iterates are read between two steps (never waiting for the run lock)
                self.worker.submit(lambda run: feed.scrubbed(run, k, index), lambda got, _: self._show_scrubbed(k, got))
        self.curves.set_cursor(k, snapshot)
        self.transport.show_position(k, self.scrub_k is None)

    def _show_scrubbed(self, k: int, got) -> None:
        shown, index, extras = got if got and self.scrub_k == k else ([], -1, {})  # else scrubbed meanwhile
        lanes = self._shown_snapshot.lanes
        for i, (lane_k, kept_k, image, error) in enumerate(shown[: len(lanes)]):
            self.panes.set_lane_image(i, image, error, lane_view.pane_info(lanes[i], lane_k, kept_k))
        if 0 <= index < len(lanes):
            self.diagnostics.show_lane(lanes[index], min(k, lanes[index].k), extras)

    # errors -----------------------------------------------------------------------------
    def _report_lane_errors(self, snapshot) -> None:
        """A lane whose solver raised (status "error: ...") is reported once, non-modally."""
        for message in messages.new_lane_errors(snapshot, self._reported_lanes):
            self.show_error(message)

    def show_error(self, message: str, details: str = "") -> None:
        """Non-modal error message; the application goes on."""
        self.errors.append(message)
        self.statusBar().showMessage(message, 10000)
        messages.show_error_box(self, message, details, self._error_boxes)

    # shutdown ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        """Close without ever destroying a running worker thread.

        The worker is asked to stop (it finishes its current iteration), and so is a training
        run. When a thread has not ended within ``CLOSE_GRACE_MS``, this close is ignored, the
        status bar says that the window is stopping, and the window closes again once the
        threads have finished.
        """
        if self.thread is not None:
            self.worker.stop()  # it finishes its iteration while the dialog stops
        # cancels a training run; False while its current step still runs
        training_busy = self.training_dialog is not None and not self.training_dialog.close()
        if self.thread is not None and stop_worker(self.worker, self.thread, CLOSE_GRACE_MS):
            self.thread = None
        if self.thread is not None or training_busy:
            event.ignore()
            self._close_when_stopped()
            return
        self.timer.stop()
        self.document.save_window()
        if self.autosaver is not None:
            self.autosaver.close()
        for box in list(self._error_boxes):
            box.close()
        super().closeEvent(event)

    @property
    def stopping(self) -> bool:
        """True between a close request and the end of the worker's current iteration."""
        return self._stopping

    def _close_when_stopped(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self.timer.stop()
        self.statusBar().showMessage("stopping: the window closes when the current iteration has finished…")
        # edits would wait for the run lock held by the running iteration
        self.centralWidget().setEnabled(False)
        self.menuBar().setEnabled(False)
        for action in self.findChildren(QAction):
            action.setEnabled(False)
        for thread in (self.thread, getattr(self.training_dialog, "thread", None)):
            if thread is not None:
                thread.finished.connect(self.close)  # queued: runs in the GUI thread
