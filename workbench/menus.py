"""The main window's menus (File, Export, Run) and their shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence


def add_action(window, menu, text: str, slot, shortcut=None) -> QAction:
    """A ``QAction`` owned by ``window`` in ``menu`` (None: a window-only shortcut)."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(slot)
    if menu is not None:
        menu.addAction(action)
    else:
        window.addAction(action)
    return action


def build_menus(window, *, editor, exporter, controls, recent) -> None:
    """Fill ``window``'s menu bar.

    Parameters
    ----------
    window : MainWindow
        Owner of the actions; its problem panel, transport bar, ``close`` and
        ``open_training_dialog`` are menu entries too.
    editor : RunEditor
    exporter : Exporter
    controls : RunControls
    recent : RecentFiles
        Its menu is File → Open Recent.
    """
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    add_action(window, file_menu, "&Open config or session…", editor.open_dialog, QKeySequence.StandardKey.Open)
    file_menu.addMenu(recent.menu)
    add_action(window, file_menu, "Open &image…", window.problem_panel.open_image_dialog)
    add_action(window, file_menu, "&Save session…", editor.save_dialog, QKeySequence.StandardKey.Save)
    add_action(window, file_menu, "Load &plugin…", editor.load_plugin_dialog)
    file_menu.addSeparator()
    add_action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit)
    export_menu = bar.addMenu("&Export")
    add_action(window, export_menu, "Image &panes as PNG…", exporter.export_panes_dialog, "Ctrl+E")
    add_action(window, export_menu, "Each &curve as PNG/SVG…", exporter.export_curves_dialog)
    add_action(window, export_menu, "All curves as one &figure (PNG/SVG)…", exporter.export_curves_figure_dialog)
    add_action(window, export_menu, "Metrics as &CSV…", exporter.export_csv_dialog)
    add_action(window, export_menu, "Lane iterates as &GIF/MP4…", exporter.export_animation_dialog)
    run_menu = bar.addMenu("&Run")
    add_action(window, run_menu, "Play / pause", controls.toggle_playing, "Space")
    add_action(window, run_menu, "Step", lambda: controls.step(1), "Right")
    add_action(window, run_menu, "Step ×10", lambda: controls.step(10))
    add_action(window, run_menu, "Run to end", controls.run_to_end)
    add_action(window, run_menu, "Reset", controls.reset, "Home")
    add_action(window, run_menu, "Scrub back", lambda: window.transport.nudge(-1), "Shift+Left")
    add_action(window, run_menu, "Scrub forward", lambda: window.transport.nudge(1), "Shift+Right")
    run_menu.addSeparator()
    add_action(window, run_menu, "&Train network…", window.open_training_dialog)
