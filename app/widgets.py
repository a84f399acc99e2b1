"""Small widgets the panels share: a persisted path field, a stem choice, progress display."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QWidget,
)

from app.settings import Setting, Settings
from core.io.imageio import IMAGE_SUFFIXES
from core.progress import Progress
from core.recognize.stems import STEMS

#: QFileDialog filter for every image format the loader reads.
IMAGE_FILTER = "Images ({});;All files (*)".format(" ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)))


def path_row(
    parent: QWidget, settings: Settings, setting: Setting[str], folder: bool, file_filter: str = ""
) -> tuple[QWidget, QLineEdit]:
    """A line edit + "…" browse button whose text persists in ``setting``.

    folder: browse for a directory, else for a file (``file_filter`` as in QFileDialog).
    Returns the row widget (for a form) and the edit (to read the path).
    """
    edit = QLineEdit(settings.get(setting))
    edit.editingFinished.connect(lambda: settings.set(setting, edit.text()))
    browse = QPushButton("…")
    browse.setMaximumWidth(30)

    def choose() -> None:
        if folder:
            chosen = QFileDialog.getExistingDirectory(parent, "Choose folder", edit.text())
        else:
            chosen, _ = QFileDialog.getOpenFileName(parent, "Choose file", edit.text(), file_filter)
        if chosen:
            edit.setText(chosen)
            settings.set(setting, chosen)

    browse.clicked.connect(choose)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row, edit


def stem_combo(current: str, tooltip: str) -> QComboBox:
    """A choice of recognition stem (labels shown, names as item data), ``current`` selected."""
    box = QComboBox()
    for spec in STEMS.values():
        box.addItem(spec.label, spec.name)
    box.setCurrentIndex(max(0, box.findData(current)))
    box.setToolTip(tooltip)
    return box


def score_slider_row(
    settings: Settings, setting: Setting[float], minimum: float
) -> tuple[QHBoxLayout, QSlider, QLabel]:
    """ "Min score" + a slider in hundredths from ``minimum`` to 1 (initial value ``setting``) + its label.

    The label shows the slider's value from the start (a restored value is shown before
    anything moves) and follows it; the caller connects ``valueChanged`` to what the score filters.
    """
    row = QHBoxLayout()
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(int(round(minimum * 100)), 100)
    # round, not int(): a stored 0.29 is 28.999… hundredths
    slider.setValue(int(round(settings.get(setting) * 100)))
    label = QLabel(_score_text(slider.value()))
    label.setMinimumWidth(label.fontMetrics().horizontalAdvance("0.00") + 4)  # the row does not jump
    slider.valueChanged.connect(lambda value: label.setText(_score_text(value)))
    row.addWidget(QLabel("Min score"))
    row.addWidget(slider, 1)
    row.addWidget(label)
    return row, slider, label


def _score_text(hundredths: int) -> str:
    return f"{hundredths / 100:.2f}"


def show_progress(bar: QProgressBar, label: QLabel, progress: Progress) -> None:
    """Show a job's :class:`Progress`: a busy bar when the fraction is unknown."""
    if progress.fraction is None:
        bar.setRange(0, 0)
    else:
        bar.setRange(0, 1000)
        bar.setValue(int(progress.fraction * 1000))
    label.setText(progress.message)
