"""Titles of image panes: a few plain-text lines, each elided to the pane's width (the full text
is the tooltip), so that many lanes never make titles overlap."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics

from . import theme

TITLE_POINT_SIZE = 9
TITLE_LINES = 3  # every pane's title has this many lines, so that all images get the same height
WORSE_THAN_BEST_DB = 0.01  # the title says so when the shown iterate is this much below the best


@dataclass
class LanePaneInfo:
    """What a lane's panes show in their titles."""

    label: str
    color: str
    status: str = "ready"
    k: int = 0
    psnr: float | None = None
    ssim: float | None = None
    kept_k: int | None = None  # iterate shown instead of iteration k (not kept); None: k's own
    best_psnr: float | None = None  # the lane's best PSNR so far and where
    best_k: int | None = None
    accept_rate: float | None = None  # share of iterations 1..k whose optimality check accepted (PODM)


def _warning(status: str) -> bool:
    return status.startswith(("diverged", "error")) or "diverging" in status


def lane_title_lines(info: LanePaneInfo, what: str) -> list[tuple[str, str | None]]:
    """(text, colour or None) lines of a lane pane's title: swatch and label; iteration (and the
    kept iteration shown when iteration k is not kept) with PSNR/SSIM of the shown iterate; the
    status when diverging or failed, else the best PSNR when the shown iterate is worse, and, for lanes with an
    optimality check, the share of accepted checks."""
    colours = theme.current()
    if what == "iterate":
        details = f"k={info.k}"
        if info.kept_k is not None:
            details += f" (nearest kept: {info.kept_k})"
        if info.psnr is not None and np.isfinite(info.psnr):
            details += f" · {info.psnr:.2f} dB"
        if info.ssim is not None and np.isfinite(info.ssim):
            details += f" · SSIM {info.ssim:.3f}"
    else:
        details = f"{what} · k={info.k if info.kept_k is None else info.kept_k}"
    last: tuple[str, str | None] = ("", None)
    if _warning(info.status):
        last = (f"⚠ {info.status}", colours.error)
    elif what == "iterate" and is_worse_than_best(info):
        last = (
            f"▼ best {info.best_psnr:.2f} dB at k={info.best_k} (now {info.psnr - info.best_psnr:+.2f})",
            colours.warning,
        )
    if what == "iterate" and info.accept_rate is not None:  # on the last line: the details line is elided first
        rate = f"check accepts {100 * info.accept_rate:.0f} %"
        last = (f"{last[0]} · {rate}" if last[0] else rate, last[1])
    return [(f"■ {info.label}", info.color), (details, None), last]


def is_worse_than_best(info: LanePaneInfo) -> bool:
    """True when the shown iterate's PSNR is below the lane's best by more than ``WORSE_THAN_BEST_DB``."""
    if info.psnr is None or info.best_psnr is None or info.best_k is None:
        return False
    if not (np.isfinite(info.psnr) and np.isfinite(info.best_psnr)):
        return False
    return info.psnr < info.best_psnr - WORSE_THAN_BEST_DB


def title_font() -> QFont:
    font = QFont()
    font.setPointSize(TITLE_POINT_SIZE)
    return font


def render(lines: list[tuple[str, str | None]], width: float | None, count: int = TITLE_LINES) -> str:
    """HTML of ``lines`` (padded to ``count`` lines), each elided to ``width`` pixels."""
    metrics = QFontMetrics(title_font())
    parts = []
    for text, color in (list(lines) + [("", None)] * count)[:count]:
        if width is not None and width > 0:
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width))
        text = html.escape(text) or "&nbsp;"
        parts.append(f"<span style='color:{color}'>{text}</span>" if color else text)
    return "<br>".join(parts)


def full_text(lines: list[tuple[str, str | None]]) -> str:
    """The plain, unelided text of a title (its tooltip)."""
    return "\n".join(text for text, _ in lines if text)


class PaneTitle:
    """A plot's elided title, re-elided whenever the plot's width changes."""

    def __init__(self, plot: pg.PlotItem, lines: list[tuple[str, str | None]], count: int = TITLE_LINES):
        self.plot = plot
        self.lines = lines
        self.count = count
        self._shown: tuple | None = None
        plot.titleLabel.setMinimumWidth(0)
        plot.geometryChanged.connect(self.update)
        self.update()

    def set_lines(self, lines: list[tuple[str, str | None]]) -> None:
        self.lines = lines
        self.update()

    def text(self) -> str:
        """Full title text (what the tooltip shows)."""
        return full_text(self.lines)

    def update(self) -> None:
        width = self.plot.width() - 6 if self.plot.width() > 12 else None
        key = (tuple(self.lines), None if width is None else int(width))
        if key == self._shown:
            return
        same_width = self._shown is not None and self._shown[1] == key[1]
        self._shown = key
        text = render(self.lines, width, self.count)
        if not (same_width and replace_title_text(self.plot.titleLabel, text)):
            self.plot.setTitle(text, size=f"{TITLE_POINT_SIZE}pt")
            unconstrain_title(self.plot)
        self.plot.titleLabel.setToolTip(self.text())


def replace_title_text(label: pg.LabelItem, text: str) -> bool:
    """Show ``text`` in ``label`` as ``LabelItem.setText`` would, without asking the layout for
    new geometry (that relayout of the whole grid at every refresh is what a title costs) when
    the text keeps its height; False (nothing changed) when it would not, or before the label
    has a text of its own."""
    item = label.item
    shown = getattr(label, "text", None)
    if not shown or not label.isVisible() or label.opts.get("justify") != "center":
        return False
    height = item.boundingRect().height()
    opening = _opening_span(label.opts)
    item.setHtml(f"{opening}{text}</span>")
    if item.boundingRect().height() != height:
        item.setHtml(f"{opening}{shown}</span>")
        return False
    label.text = text
    bounds = label.itemRect()  # centred as LabelItem.resizeEvent centres it
    bounds.moveCenter(label.rect().center())
    item.setPos(item.pos() + bounds.topLeft() - label.itemRect().topLeft())
    return True


def _opening_span(opts: dict) -> str:
    """The ``<span style=…>`` that ``LabelItem.setText`` wraps a text in, for the label's options."""
    styles = [
        "color: " + pg.mkColor(opts.get("color") or pg.getConfigOption("foreground")).name(QColor.NameFormat.HexArgb)
    ]
    if "family" in opts:
        styles.append("font-family: " + opts["family"])
    if "size" in opts:
        styles.append("font-size: " + opts["size"])
    for key, css, value in (("bold", "font-weight", "bold"), ("italic", "font-style", "italic")):
        if opts.get(key) in (True, False):
            styles.append(f"{css}: " + (value if opts[key] else "normal"))
    return f"<span style='{'; '.join(styles)}'>"


def unconstrain_title(plot: pg.PlotItem) -> None:
    """Let the plot's title label be narrower than its text: pyqtgraph's LabelItem makes its
    text width its minimum and preferred width (again on every resize), which widens and
    overlaps layout columns."""
    label = plot.titleLabel
    if not getattr(label, "_unconstrained", False):
        original = label.updateMin

        def update_min() -> None:
            original()
            height = label._sizeHint[Qt.SizeHint.MinimumSize][1]
            label._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
            label._sizeHint[Qt.SizeHint.PreferredSize] = (0, height)
            label.setMinimumWidth(0)

        label.updateMin = update_min
        label._unconstrained = True
    label.updateMin()
    label.updateGeometry()


def set_title(plot: pg.PlotItem, text: str, size: str = "9pt", color: str | None = None) -> None:
    """A one-line plot title that never widens its layout column (the full text as tooltip)."""
    plot.setTitle(html.escape(text), size=size, **({"color": color} if color else {}))
    unconstrain_title(plot)
    plot.titleLabel.setToolTip(text)
