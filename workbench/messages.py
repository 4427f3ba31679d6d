"""Messages the window shows: non-modal error boxes, lane failures reported once, status texts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from . import lane_view


def show_error_box(parent: QWidget, message: str, details: str, boxes: list[QMessageBox]) -> QMessageBox:
    """A non-modal warning box (kept in ``boxes`` while it is open); the application goes on."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Convergence Workbench", message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setModal(False)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.finished.connect(lambda _=None, b=box: boxes.remove(b) if b in boxes else None)
    boxes.append(box)
    box.show()
    return box


def new_lane_errors(snapshot, reported: set[tuple[str, str]]) -> list[str]:
    """Messages for lanes whose solver raised (status "error: ...") not reported before."""
    messages = []
    for lane in snapshot.lanes:
        key = (lane.label, lane.status)
        if lane.status.startswith("error") and key not in reported:
            reported.add(key)
            messages.append(f"lane '{lane.label}' stopped: {lane.status}")
    return messages


def rates_text(snapshot) -> str:
    """ "FISTA: 18.2 it/s | PODM: 4.4 it/s" for the status bar."""
    rates = []
    for lane in snapshot.lanes:
        rate = lane_view.iterations_per_second(lane)
        rates.append(f"{lane.label}: {rate:.1f} it/s" if rate else f"{lane.label}: –")
    return " | ".join(rates)
