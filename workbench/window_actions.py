"""Edits and files of the main window (:class:`RunEditor`; exports: :mod:`workbench.exporter`).

Each controller receives what it uses (the worker, the panels, the views, and callbacks into
the window for messages and repaints) instead of reading the window's attributes. Every edit
goes through ``core``: the config is validated by ``core.config``, lanes are restarted by
``Run.replace_lane``, sessions are written and read by ``core.session``.

Edits never wait for the run lock: each is a job of the worker (:meth:`RunWorker.submit`),
applied at once while the worker is idle, else between two steps, and its outcome (message or
error) is shown from the job's callback. A new problem is built in the background
(:class:`workbench.problem_build.ProblemBuilder`, cancellable) and swapped in between two steps.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from core.config import Config, load_config
from core.engine import Run
from core.lane_spec import LaneSpec
from core.session import SESSION_FILE, open_session, save_session

from .lanes_panel import assign_lane_colors
from .problem_build import ProblemBuilder

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
        Owns the ``Run``; every edit is one of its jobs.
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
    document : Document
        Told about opened and saved files and every edit (the title); its dialogs' folders.
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
        document,
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
        self.document = document
        self.builder = ProblemBuilder(parent)

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
        if message:
            self.show_status(message, 6000)
        if self.autosaver is not None:
            self.autosaver.changed()
        self.refresh()

    def _edit(self, apply, message, what: str, settings_only: bool = False) -> bool:
        """Submit the edit ``apply(run)``; then show ``message(result)`` or the error under ``what``
        (``settings_only``: see :meth:`RunWorker.submit`). Returns True when it was applied at
        once, False when queued."""

        def done(result, error) -> None:
            if error is not None:
                self.show_status("")  # no "waiting for the lane step" left behind
                self.show_error(f"{what}: {error[0].split(': ', 1)[-1]}", error[1])
                self._sync_panels()
                return
            self.document.edited()
            self._changed(message(result))

        applied = self.worker.submit(apply, done, settings_only=settings_only)
        if not applied:  # shown until the worker has applied it (done() replaces the message)
            doing = what.removeprefix("cannot ").removeprefix("invalid ")
            self.show_status(f"{doing}: waiting for the lane step in progress…")
        return applied

    def _sync_panels(self) -> None:
        config = self.run.config.to_dict()
        self.problem_panel.set_problem(config["problem"])
        self.lanes_panel.set_degradation(config["problem"]["degradation"])
        self.lanes_panel.set_lanes(config["lanes"], current=self.lanes_panel.current())
        self.run_panel.set_run(config["run"])

    @property
    def building(self) -> bool:
        """True while a new problem is being built."""
        return self.builder.building

    def apply_config(
        self, config: Config, replay_to: int | None = None, message: str = "", source: Path | None = None
    ) -> bool:
        """Build a new run for ``config`` in the background (new problem: every lane restarts).

        The worker pauses; when the build is done the new run is swapped in between two steps
        and ``replay_to`` iterations are replayed (opening a session); the document then shows
        ``source`` (the file opened) or, without one, an edit. A build that fails shows
        the error, one the user cancels (or declines, for a slow size) changes nothing. Returns
        False when the user declined the build.
        """
        self.worker.set_paused(True)
        assign_lane_colors(config)
        if not self.builder.confirm(config):
            self._sync_panels()
            return False

        def failed(exc: Exception, details: str) -> None:
            self.show_error(f"cannot build the problem: {exc}", details)
            self._sync_panels()

        def cancelled() -> None:
            self.show_status("building the problem cancelled: nothing changed", 6000)
            self._sync_panels()

        def installed(run, error) -> None:
            self.new_run()
            self._sync_panels()
            if replay_to:
                self.worker.run_to(replay_to)
            if source is None:
                self.document.edited()
            else:
                self.document.opened(source)
            self._changed(message)

        self.builder.build(config, lambda run: self.worker.replace_run(run, installed), failed, cancelled)
        return True

    # problem / run settings -------------------------------------------------------------
    def on_problem_changed(self, problem: dict) -> None:
        """A problem edit: validate, rebuild the problem and restart every lane."""
        # the config is read after the edits queued before this one have been applied
        self.worker.set_paused(True)
        self.worker.submit(lambda run: run.config.to_dict(), lambda data, _: self._rebuild_problem(problem, data))

    def _rebuild_problem(self, problem: dict, data: dict) -> None:
        data["problem"] = problem
        try:
            config = Config.from_dict(data)
        except INPUT_ERRORS as exc:
            self._report(exc, "invalid problem")
            self._sync_panels()
            return
        self.apply_config(config, message="problem changed: observation updated, every lane restarted")

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

        def apply(run) -> None:
            run.config.run.iterations = config.run.iterations
            run.config.run.tolerance = config.run.tolerance

        self._edit(apply, lambda _: "run settings updated", "invalid run settings", settings_only=True)

    # lanes ------------------------------------------------------------------------------
    def on_lane_changed(self, index: int, lane: dict) -> None:
        """Solver/prior/denoiser/parameter edit: restart that lane only (between two steps)."""
        spec = lane_spec(lane)

        def apply(run) -> int:
            was = run.lanes[index].k
            run.replace_lane(index, spec)
            return was

        def message(was: int) -> str:
            note = f" (it was at iteration {was}; the other lanes keep their history)" if was else ""
            return f"lane '{lane.get('label')}' changed: restarted from x⁰{note}"

        self._edit(apply, message, f"cannot change lane '{lane.get('label')}'")

    def on_lane_relabeled(self, index: int, lane: dict) -> None:
        """Label or colour edit: history kept."""

        def apply(run) -> str:
            spec = run.lanes[index].spec
            spec.label = lane.get("label") or spec.label
            spec.color = lane.get("color")
            run.config.lanes[index] = spec
            return spec.label

        self._edit(apply, lambda label: f"lane renamed to '{label}'", "cannot rename the lane")

    def on_lane_added(self, lane: dict) -> None:
        spec = lane_spec(lane)
        self._edit(lambda run: run.add_lane(spec), lambda _: f"lane '{lane.get('label')}' added", "cannot add lane")

    def on_lane_removed(self, index: int) -> None:
        def apply(run) -> tuple[str, int]:
            label = run.lanes[index].label
            run.remove_lane(index)
            return label, len(run.lanes)

        def message(result) -> str:
            label, left = result
            return f"lane '{label}' removed" + ("" if left else "; no lanes left: Add adds a FISTA lane")

        self._edit(apply, message, "cannot remove the lane")

    def on_lanes_reordered(self, order: list) -> None:
        """Reorder lanes keeping their histories."""

        def apply(run) -> None:
            run.lanes[:] = [run.lanes[i] for i in order]
            run.config.lanes[:] = [run.config.lanes[i] for i in order]

        self._edit(apply, lambda _: "lanes reordered", "cannot reorder the lanes")

    # files ------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a session folder, a config (.toml) or an image file (new problem image)."""
        path = Path(path)
        try:
            if path.is_dir() or path.name == SESSION_FILE:
                return self.open_session(path if path.is_dir() else path.parent)
            if path.suffix.lower() == ".toml":
                return self.apply_config(load_config(path), source=path)
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
        replay = max((len(table.get("iteration", ())) for table in metrics.values()), default=0)
        return self.apply_config(
            config, replay_to=replay, message=f"session {folder} opened; replaying {replay} iterations", source=folder
        )

    def save_session_to(self, folder: str | Path) -> Path | None:
        """Save the current session into ``folder`` (config, metrics, kept iterates) between two
        steps. Returns the folder when it was saved at once (the worker idle), else None (the
        status bar says when it is saved); a failure is shown."""
        saved = []

        def done(path, error) -> None:
            if error is not None:
                self.show_error(f"cannot save session: {error[0]}", error[1])
                return
            saved.append(path)
            self.document.saved(path)
            self.show_status(f"session saved to {path}", 6000)

        self.worker.submit(lambda run: save_session(run, folder), done)
        return saved[0] if saved else None

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent,
            "Open config (or a session's session.toml)",
            self.document.folder("open", sessions_dir()),
            "Config or session (*.toml);;All files (*)",
        )
        if path:
            self.document.remember_folder("open", path)
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
        start = self.document.folder("save", sessions_dir())
        folder = QFileDialog.getExistingDirectory(self.parent, "Save session into folder", start)
        if folder:
            self.document.remember_folder("save", Path(folder).parent)
            self.save_session_to(folder)


from .exporter import Exporter  # noqa: E402, F401  (re-exported: the window's second controller)
