"""Convergence Workbench GUI (PySide6 + pyqtgraph): a view over ``core``'s engine.

The GUI owns no numerical logic: it edits ``core.config`` objects, drives ``core.engine.Run``
in a worker thread and shows the engine's snapshots.
"""
