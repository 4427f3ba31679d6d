"""Problem panel: image (catalogue with thumbnails, Open…), colour, size, degradation and its
generated parameter form, noise σ and seed.

The panel edits a plain dict shaped like the ``[problem]`` section of a config and emits
``changed(dict)`` after every edit; the main window validates it with ``core.config`` and
rebuilds the run. It holds no numerical logic.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core import images
from core.registry import DEGRADATIONS, load_all

from .forms import ParamForm

THUMB_SIZE = 48
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff);;All files (*)"


def pixmap_from_array(array: np.ndarray) -> QPixmap:
    """QPixmap from a uint8 (H, W) or (H, W, 3) array (copied)."""
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


_THUMBNAILS: dict[str, QPixmap | None] = {}
_DONE = Future()
_DONE.set_result(None)
#: thumbnails are decoded and resized off the GUI thread (a catalogue image takes ~0.1 s)
_THUMBNAILER = ThreadPoolExecutor(1, thread_name_prefix="thumbnails")


def _thumbnail_array(name: str) -> np.ndarray | None:
    try:
        return images.thumbnail(name, THUMB_SIZE)
    except ValueError:
        return None


def catalogue_thumbnail(name: str, array: np.ndarray | None = None) -> QPixmap | None:
    """Cached thumbnail of a catalogue image (None if it cannot be loaded); ``array``: its pixels,
    already computed."""
    if name not in _THUMBNAILS:
        array = _thumbnail_array(name) if array is None else array
        _THUMBNAILS[name] = None if array is None else pixmap_from_array(array)
    return _THUMBNAILS[name]


class ProblemPanel(QWidget):
    """Editor of the ``[problem]`` section.

    Signals
    -------
    changed(dict)
        The edited problem section (TOML-shaped: image, size, grayscale, color_mode,
        degradation, noise_sigma, seed, params).
    """

    changed = Signal(dict)

    def __init__(self, problem: dict[str, Any], parent: QWidget | None = None):
        super().__init__(parent)
        load_all()
        self._problem = dict(problem)
        self._updating = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        self.catalogue = QListWidget()
        self.catalogue.setViewMode(QListWidget.ViewMode.IconMode)
        self.catalogue.setFlow(QListWidget.Flow.LeftToRight)
        self.catalogue.setWrapping(False)
        self.catalogue.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.catalogue.setFixedHeight(THUMB_SIZE + 42)
        self.catalogue.setMovement(QListWidget.Movement.Static)
        for name in images.catalogue_names():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(images.CATALOGUE.get(name, name))
            self.catalogue.addItem(item)
        self._pending_thumbnails = [
            (row, None if name in _THUMBNAILS else _THUMBNAILER.submit(_thumbnail_array, name))
            for row, name in enumerate(images.catalogue_names())
        ]
        self._thumbnail_timer = QTimer(self)
        self._thumbnail_timer.setInterval(50)
        self._thumbnail_timer.timeout.connect(self._load_next_thumbnail)
        self._thumbnail_timer.start()
        self.catalogue.itemClicked.connect(lambda item: self.set_image(item.data(Qt.ItemDataRole.UserRole)))
        layout.addWidget(self.catalogue)

        row = QHBoxLayout()
        self.image_label = QLabel()
        self.image_label.setWordWrap(True)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an image file (PNG, JPEG, BMP, GIF, TIFF); or drop one on the window")
        self.open_button.clicked.connect(self.open_image_dialog)
        row.addWidget(self.image_label, 1)
        row.addWidget(self.open_button)
        layout.addLayout(row)

        form = QFormLayout()
        self.grayscale = QCheckBox("grayscale")
        self.grayscale.toggled.connect(lambda v: self._edit("grayscale", bool(v)))
        self.color_mode = QComboBox()
        self.color_mode.addItems(["y", "rgb"])
        self.color_mode.setToolTip("colour images: solve the luminance Y of YCbCr, or every RGB channel")
        self.color_mode.currentTextChanged.connect(lambda v: self._edit("color_mode", v))
        colour_row = QHBoxLayout()
        colour_row.addWidget(self.grayscale)
        colour_row.addWidget(QLabel("colour mode"))
        colour_row.addWidget(self.color_mode)
        form.addRow("colour", colour_row)
        self.size = QSpinBox()
        self.size.setRange(0, 4096)
        self.size.setSpecialValueText("native")
        self.size.setSuffix(" px")
        self.size.setKeyboardTracking(False)
        self.size.setToolTip("longer side after resizing (native: keep the image's size)")
        self.size.valueChanged.connect(lambda v: self._edit("size", int(v) or None))
        form.addRow("size", self.size)
        self.degradation = QComboBox()
        self._fill_degradations()
        self.degradation.currentIndexChanged.connect(lambda _: self._on_degradation(self.degradation.currentData()))
        form.addRow("degradation", self.degradation)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 1.0)
        self.noise.setDecimals(4)
        self.noise.setSingleStep(0.005)
        self.noise.setKeyboardTracking(False)
        self.noise.setToolTip("σ of the additive Gaussian noise on the [0, 1] intensity scale: y = A x + σ n")
        self.noise.valueChanged.connect(lambda v: self._edit("noise_sigma", float(v)))
        form.addRow("noise σ", self.noise)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("seed of masks, kernels, random matrices and noise")
        self.seed.valueChanged.connect(lambda v: self._edit("seed", int(v)))
        form.addRow("seed", self.seed)
        layout.addLayout(form)
        self.params_box = QVBoxLayout()
        layout.addLayout(self.params_box)
        layout.addStretch(1)
        self.params_form: ParamForm | None = None
        self.set_problem(problem)

    def _fill_degradations(self) -> None:
        """Readable names in the list (``Entry.title``); the config keeps the identifier (item data)."""
        for name in sorted(DEGRADATIONS, key=lambda n: DEGRADATIONS[n].title.lower()):
            entry = DEGRADATIONS[name]
            self.degradation.addItem(entry.title, name)
            self.degradation.setItemData(
                self.degradation.count() - 1, f"config name: {name}\n\n{entry.doc}", Qt.ItemDataRole.ToolTipRole
            )

    def refresh_degradations(self) -> None:
        """Re-read the degradation registry (a plugin was loaded), keeping the selection."""
        self._updating = True
        try:
            self.degradation.clear()
            self._fill_degradations()
            self.degradation.setCurrentIndex(self.degradation.findData(self._problem.get("degradation")))
        finally:
            self._updating = False

    def _load_next_thumbnail(self) -> None:
        """Show the thumbnails computed so far in the background (the window opens at once)."""
        while self._pending_thumbnails and (self._pending_thumbnails[0][1] or _DONE).done():
            row, future = self._pending_thumbnails.pop(0)
            item = self.catalogue.item(row)
            pixmap = catalogue_thumbnail(item.data(Qt.ItemDataRole.UserRole), future and future.result())
            if pixmap is not None:
                item.setIcon(QIcon(pixmap))
        if not self._pending_thumbnails:
            self._thumbnail_timer.stop()

    # state ------------------------------------------------------------------------------
    def problem(self) -> dict[str, Any]:
        """The edited ``[problem]`` section."""
        return {**self._problem, "params": dict(self._problem.get("params", {}))}

    def set_problem(self, problem: dict[str, Any]) -> None:
        """Show ``problem`` (a TOML-shaped dict) without emitting ``changed``."""
        self._updating = True
        try:
            self._problem = {**problem, "params": dict(problem.get("params", {}))}
            image = str(problem.get("image", ""))
            self.image_label.setText(f"image: <b>{Path(image).name or image}</b>")
            self.image_label.setToolTip(image)
            for i in range(self.catalogue.count()):
                item = self.catalogue.item(i)
                item.setSelected(item.data(Qt.ItemDataRole.UserRole) == image)
            self.grayscale.setChecked(bool(problem.get("grayscale", True)))
            self.color_mode.setCurrentText(str(problem.get("color_mode", "y")))
            self.color_mode.setEnabled(not self.grayscale.isChecked())
            self.size.setValue(int(problem.get("size") or 0))
            self.degradation.setCurrentIndex(self.degradation.findData(problem.get("degradation")))
            self.noise.setValue(float(problem.get("noise_sigma", 0.0)))
            self.seed.setValue(int(problem.get("seed", 0)))
            self._build_params_form()
        finally:
            self._updating = False

    def _build_params_form(self) -> None:
        if self.params_form is not None:
            self.params_form.setParent(None)
            self.params_form.deleteLater()
        entry = DEGRADATIONS[self._problem["degradation"]]
        self.params_form = ParamForm(entry.params, self._problem.get("params", {}), owner=f"degradation '{entry.name}'")
        self.params_form.setToolTip(entry.doc)
        self.params_form.changed.connect(self._on_param)
        self.params_box.addWidget(self.params_form)

    # edits ------------------------------------------------------------------------------
    def _edit(self, key: str, value: Any) -> None:
        if self._updating:
            return
        self._problem[key] = value
        self.color_mode.setEnabled(not self.grayscale.isChecked())
        self.changed.emit(self.problem())

    def _on_degradation(self, name: str | None) -> None:
        if self._updating or name is None or name == self._problem.get("degradation"):
            return
        self._problem["degradation"] = name
        self._problem["params"] = {}
        self._updating = True
        try:
            self._build_params_form()
        finally:
            self._updating = False
        self.changed.emit(self.problem())

    def _on_param(self, name: str, value: Any) -> None:
        params = dict(self._problem.get("params", {}))
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        self._problem["params"] = params
        self.changed.emit(self.problem())

    def set_image(self, source: str) -> None:
        """Use a catalogue name or an image file path (as clicking/opening/dropping does)."""
        self._problem["image"] = str(source)
        self.image_label.setText(f"image: <b>{Path(source).name or source}</b>")
        self.image_label.setToolTip(str(source))
        self.changed.emit(self.problem())

    def set_degradation(self, name: str) -> None:
        """Select a degradation (its registry name) as the combo box does."""
        self.degradation.setCurrentIndex(self.degradation.findData(name))

    def open_image_dialog(self) -> None:
        """Ask for an image file and use it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.set_image(path)
