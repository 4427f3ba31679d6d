"""Edits, files and exports of the main window, as two controllers the window composes.

Each controller receives what it uses (the worker, the panels, the views, and callbacks into
the window for messages and repaints) instead of reading the window's attributes. Every edit
goes through ``core``: the config is validated by ``core.config``, lanes are restarted by
``Run.replace_lane``, sessions are written and read by ``core.session``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMutexLocker
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from core.config import Config, load_config
from core.engine import Run
from core.lane_spec import LaneSpec
from core.session import SESSION_FILE, open_session, save_session

from . import export
from .lanes_panel import assign_lane_colors

StatusFn = Callable[[str, int], None]
ErrorFn = Callable[[str, str], None]
#: what validating an edited config can raise for bad input (besides ValueError: int(inf), depth)
INPUT_ERRORS = (ValueError, OSError, OverflowError, RecursionError)


def lane_spec(lane: dict) -> LaneSpec:
    """``LaneSpec`` from a TOML-shaped lane dict (validated later by the engine)."""
    return LaneSpec(
        solver=lane["solver"],
        label=lane.get("label", ""),
        prior=lane.get("prior"),
        denoiser=lane.get("denoiser"),
        color=lane.get("color"),
        params=dict(lane.get("params", {})),
    )


def sessions_dir() -> Path:
    """Default folder of saved sessions (``sessions/`` under the current folder)."""
    return Path.cwd() / "sessions"


def report(show_error: ErrorFn, exc: Exception, what: str) -> None:
    """Show ``what: exc`` with the current traceback as details."""
    show_error(f"{what}: {exc}", traceback.format_exc())


class RunEditor:
    """Edits of the run (problem, run settings, lanes) and opening/saving files.

    Parameters
    ----------
    parent : QWidget
        Parent of the file dialogs.
    worker : RunWorker
        Owns the ``Run``; every edit holds its ``run_lock``.
    problem_panel, lanes_panel, run_panel
        The editors, re-synced from the config after a rejected edit or a new run.
    show_error : callable(message, details)
    show_status : callable(message, timeout_ms)
    refresh : callable()
        Repaint from the latest snapshot.
    new_run : callable()
        A new ``Run`` replaced the old one (new problem): the views forget their state.
    autosaver : Autosaver, optional
        Told about every edit.
    """

    def __init__(
        self,
        *,
        parent: QWidget,
        worker,
        problem_panel,
        lanes_panel,
        run_panel,
        show_error: ErrorFn,
        show_status: StatusFn,
        refresh: Callable[[], None],
        new_run: Callable[[], None],
        autosaver=None,
    ):
        self.parent = parent
        self.worker = worker
        self.problem_panel = problem_panel
        self.lanes_panel = lanes_panel
        self.run_panel = run_panel
        self.show_error = show_error
        self.show_status = show_status
        self.refresh = refresh
        self.new_run = new_run
        self.autosaver = autosaver

    @property
    def run(self) -> Run:
        return self.worker.run

    def connect(self) -> None:
        """Connect the panels' edit signals to this editor."""
        self.problem_panel.changed.connect(self.on_problem_changed)
        self.lanes_panel.lane_changed.connect(self.on_lane_changed)
        self.lanes_panel.lane_relabeled.connect(self.on_lane_relabeled)
        self.lanes_panel.lane_added.connect(self.on_lane_added)
        self.lanes_panel.lane_removed.connect(self.on_lane_removed)
        self.lanes_panel.lanes_reordered.connect(self.on_lanes_reordered)
        self.lanes_panel.invalid.connect(lambda message: self.show_status(message, 8000))
        self.run_panel.changed.connect(self.on_run_settings_changed)

    # helpers ----------------------------------------------------------------------------
    def _report(self, exc: Exception, what: str) -> None:
        report(self.show_error, exc, what)

    def _changed(self, message: str = "") -> None:
        self.worker.publish()
        if message:
            self.show_status(message, 6000)
        if self.autosaver is not None:
            self.autosaver.changed()
        self.refresh()

    def _sync_panels(self) -> None:
        config = self.run.config.to_dict()
        self.problem_panel.set_problem(config["problem"])
        self.lanes_panel.set_degradation(config["problem"]["degradation"])
        self.lanes_panel.set_lanes(config["lanes"], current=self.lanes_panel.current())
        self.run_panel.set_run(config["run"])

    def apply_config(self, config: Config, replay_to: int | None = None) -> bool:
        """Build a new run for ``config`` (new problem: every lane restarts).

        ``replay_to`` replays that many iterations in the worker (opening a session).
        Returns False (and shows the error) when the config cannot be built.
        """
        self.worker.set_paused(True)
        assign_lane_colors(config)
        try:
            run = Run(config)
        except Exception as exc:  # bad image, parameters, device...
            self._report(exc, "cannot build the problem")
            self._sync_panels()
            return False
        self.worker.replace_run(run)
        self.new_run()
        self._sync_panels()
        if replay_to:
            self.worker.run_to(replay_to)
        self._changed()
        return True

    # problem / run settings -------------------------------------------------------------
    def on_problem_changed(self, problem: dict) -> None:
        """A problem edit: validate, rebuild the problem and restart every lane."""
        data = self.run.config.to_dict()
        data["problem"] = problem
        try:
            config = Config.from_dict(data)
        except INPUT_ERRORS as exc:
            self._report(exc, "invalid problem")
            self._sync_panels()
            return
        if self.apply_config(config):
            self.show_status("problem changed: observation updated, every lane restarted", 6000)

    def on_run_settings_changed(self, settings: dict) -> None:
        """Iterations/tolerance apply in place; device, precision and kept iterates rebuild."""
        data = self.run.config.to_dict()
        old = data["run"]
        data["run"] = {**old, **settings}
        try:
            config = Config.from_dict(data)
        except INPUT_ERRORS as exc:
            self._report(exc, "invalid run settings")
            self._sync_panels()
            return
        rebuild = any(config.run.__dict__[key] != old.get(key) for key in ("device", "dtype", "keep_iterates"))
        if rebuild:
            self.apply_config(config)
            return
        with QMutexLocker(self.worker.run_lock):
            self.run.config.run.iterations = config.run.iterations
            self.run.config.run.tolerance = config.run.tolerance
        self._changed("run settings updated")

    # lanes ------------------------------------------------------------------------------
    def on_lane_changed(self, index: int, lane: dict) -> None:
        """Solver/prior/denoiser/parameter edit: restart that lane only."""
        try:
            with QMutexLocker(self.worker.run_lock):
                was = self.run.lanes[index].k
                self.run.replace_lane(index, lane_spec(lane))
        except Exception as exc:
            self._report(exc, f"cannot change lane '{lane.get('label')}'")
            self._sync_panels()
            return
        note = f" (it was at iteration {was}; the other lanes keep their history)" if was else ""
        self._changed(f"lane '{lane.get('label')}' changed: restarted from x⁰{note}")

    def on_lane_relabeled(self, index: int, lane: dict) -> None:
        """Label or colour edit: history kept."""
        with QMutexLocker(self.worker.run_lock):
            spec = self.run.lanes[index].spec
            spec.label = lane.get("label") or spec.label
            spec.color = lane.get("color")
            self.run.config.lanes[index] = spec
        self._changed(f"lane renamed to '{spec.label}'")

    def on_lane_added(self, lane: dict) -> None:
        try:
            with QMutexLocker(self.worker.run_lock):
                self.run.add_lane(lane_spec(lane))
        except Exception as exc:
            self._report(exc, "cannot add lane")
            self._sync_panels()
            return
        self._changed(f"lane '{lane.get('label')}' added")

    def on_lane_removed(self, index: int) -> None:
        with QMutexLocker(self.worker.run_lock):
            label = self.run.lanes[index].label
            self.run.remove_lane(index)
            left = len(self.run.lanes)
        self._changed(f"lane '{label}' removed" + ("" if left else "; no lanes left: Add adds a FISTA lane"))

    def on_lanes_reordered(self, order: list) -> None:
        """Reorder lanes keeping their histories."""
        with QMutexLocker(self.worker.run_lock):
            self.run.lanes[:] = [self.run.lanes[i] for i in order]
            self.run.config.lanes[:] = [self.run.config.lanes[i] for i in order]
        self._changed("lanes reordered")

    # files ------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a session folder, a config (.toml) or an image file (new problem image)."""
        path = Path(path)
        try:
            if path.is_dir() or path.name == SESSION_FILE:
                return self.open_session(path if path.is_dir() else path.parent)
            if path.suffix.lower() == ".toml":
                return self.apply_config(load_config(path))
        except INPUT_ERRORS as exc:
            self._report(exc, f"cannot open {path}")
            return False
        self.problem_panel.set_image(str(path))
        return True

    def open_session(self, folder: str | Path) -> bool:
        """Open a saved session: its config, replayed to the saved iteration counts."""
        try:
            config, metrics, _ = open_session(folder)
        except INPUT_ERRORS as exc:
            self._report(exc, f"cannot open session {folder}")
            return False
        counts = [len(table.get("iteration", ())) for table in metrics.values()]
        ok = self.apply_config(config, replay_to=max(counts, default=0))
        if ok:
            self.show_status(f"session {folder} opened; replaying {max(counts, default=0)} iterations", 6000)
        return ok

    def save_session_to(self, folder: str | Path) -> Path:
        """Save the current session into ``folder`` (config, metrics, kept iterates)."""
        with QMutexLocker(self.worker.run_lock):
            path = save_session(self.run, folder)
        self.show_status(f"session saved to {path}", 6000)
        return path

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent,
            "Open config (or a session's session.toml)",
            str(sessions_dir()),
            "Config or session (*.toml);;All files (*)",
        )
        if path:
            self.open_path(path)

    def load_plugin(self, path: str | Path) -> bool:
        """Load a plugin file (:func:`core.plugins.load_plugin_file`) and show its components in the
        lists; a failure is shown and changes nothing."""
        from core import registry
        from core.plugins import load_plugin_file

        tables = [table for table in vars(registry).values() if isinstance(table, registry.Registry)]
        before = [set(table) for table in tables]
        try:
            load_plugin_file(path)
        except (ValueError, OSError) as exc:
            self._report(exc, "cannot load the plugin")
            return False
        self.lanes_panel.refresh_components()
        self.problem_panel.refresh_degradations()
        added = sorted(f"{table.kind} '{name}'" for table, old in zip(tables, before) for name in set(table) - old)
        self.show_status(f"plugin {Path(path).name} loaded: " + (", ".join(added) or "nothing new registered"), 10000)
        return True

    def load_plugin_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Load plugin", "", "Python plugin (*.py);;All files (*)")
        if path:
            self.load_plugin(path)

    def save_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent, "Save session into folder", str(sessions_dir()))
        if folder:
            try:
                self.save_session_to(folder)
            except (OSError, ValueError) as exc:
                self._report(exc, "cannot save session")


class Exporter:
    """Export dialogs and exports: panes, curves, metrics, a lane's kept iterates.

    Parameters
    ----------
    parent : QWidget
        Parent of the dialogs.
    worker : RunWorker
    panes : ImagePanes
    curves : CurvesView
    show_error : callable(message, details)
    show_status : callable(message, timeout_ms)
    """

    def __init__(self, *, parent: QWidget, worker, panes, curves, show_error: ErrorFn, show_status: StatusFn):
        self.parent = parent
        self.worker = worker
        self.panes = panes
        self.curves = curves
        self.show_error = show_error
        self.show_status = show_status

    def export_panes_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export image panes", "panes.png", "PNG (*.png)")
        if path:
            self._export(lambda: export.export_widget_png(self.panes, path))

    def export_curves_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent,
            "Export curves (one file per plot: name_<metric>.ext)",
            "curves.png",
            "PNG (*.png);;SVG (*.svg)",
        )
        if path:
            path = Path(path)
            self._export(
                lambda: [
                    export.export_plot(plot, path.with_name(f"{path.stem}_{key}{path.suffix}"))
                    for key, plot in self.curves.plots.items()
                ]
            )

    def export_curves_figure_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Export all curves as one figure", "curves.png", "PNG (*.png);;SVG (*.svg)"
        )
        if path:
            self._export(lambda: export.export_plot(self.curves.graphics.ci, path))

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self._export(lambda: export.export_metrics_csv(self.worker.latest(), path))

    def export_animation_dialog(self) -> None:
        labels = [lane.label for lane in self.worker.run.lanes]
        if not labels:
            return
        label, ok = QInputDialog.getItem(self.parent, "Export iterates", "lane", labels, 0, False)
        if not ok:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Export kept iterates", f"{label}.gif", "GIF (*.gif);;MP4 (*.mp4)"
        )
        if path:
            self.export_animation(labels.index(label), path)

    def export_animation(self, lane_index: int, path: str | Path) -> None:
        """Write a lane's kept iterates as GIF/MP4."""
        with QMutexLocker(self.worker.run_lock):
            frames = export.iterate_frames(self.worker.run, lane_index)
        self._export(lambda: export.export_animation(frames, path))

    def _export(self, job) -> None:
        try:
            result = job()
        except (OSError, ValueError) as exc:
            report(self.show_error, exc, "export failed")
            return
        self.show_status(f"exported {result}", 6000)
