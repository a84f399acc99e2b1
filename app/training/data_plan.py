"""The Training panel's data check: which WIDER split a ScaleFace run would read, shown before Start.

The split is resolved by :mod:`core.wider.locate` (the CLI uses the same), in
a fast-pool job: reading a label file of the full train split takes a moment.
A folder that does not fit gives the core's sentence (what was looked for,
what was found), shown beside the form rather than as an error dialog.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from app.settings import Keys, Settings
from core.errors import UserError
from core.train.config import ConfigError, parse_override
from core.wider.locate import AUTO, plan_split

# tasks whose data is a WIDER split (task.data.split)
WIDER_TASKS = frozenset({"scaleface"})
SPLIT_CHOICES = (AUTO, "train", "val")
SPLIT_TIP = (
    "which WIDER split of the Data folder to train on: auto (train if present, else val), "
    "train, val, or a label .txt file (Label file…)"
)

PLAN_TIP = "what Start would train on, read from the Data folder's label file"


@dataclass(frozen=True)
class DataCheck:
    """ok: the run can read its data; text: the plan ("WIDER val split: …") or what is wrong."""

    ok: bool
    text: str
    detail: str = ""  # where the labels and images are (a tooltip)


def check_data(data: str, split: str) -> DataCheck:
    """The plan of training on ``split`` of ``data``, or the plain reason it cannot (no raise)."""
    try:
        plan = plan_split(data, split)
    except UserError as exc:
        return DataCheck(False, str(exc))
    except OSError as exc:  # an unreadable folder or file: the user's to fix, not a bug
        return DataCheck(False, f"Cannot read {data}: {exc.strerror or exc}")
    where = plan.location
    return DataCheck(True, plan.describe(), f"labels: {where.labels}\nimages: {where.images_dir}")


def uses_synthetic_faces(overrides: list[str]) -> bool:
    """The overrides switch ScaleFace to synthetic faces (no data folder read)."""
    for item in overrides:
        try:
            path, value = parse_override(item)
        except ConfigError:  # a malformed word is the run's to report, not the plan's
            continue
        if path == ["task", "data", "source"] and value == "synthetic":
            return True
    return False


class SplitPicker(QWidget):
    """An editable split box (auto / train / val / a label file path) + "Label file…"; persisted."""

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.box = QComboBox()
        self.box.setEditable(True)
        self.box.addItems(SPLIT_CHOICES)
        self.box.setCurrentText(settings.get(Keys.TRAINING_SPLIT) or AUTO)
        self.box.setToolTip(SPLIT_TIP)
        self.box.currentTextChanged.connect(lambda text: settings.set(Keys.TRAINING_SPLIT, text.strip()))
        self.file_button = QPushButton("Label file…")
        self.file_button.setToolTip("train on a WIDER-format label file (images in images/ beside it)")
        self.file_button.clicked.connect(self._choose_file)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box, 1)
        layout.addWidget(self.file_button)

    @property
    def split(self) -> str:
        return self.box.currentText().strip() or AUTO

    def _choose_file(self) -> None:
        start = self.split if Path(self.split).suffix else ""
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a WIDER label file", start, "Labels (*.txt)")
        if chosen:
            self.box.setCurrentText(chosen)


class DataPlanner(QObject):
    """The Split row and the plan line of the Training form, kept up to date with the inputs.

    inputs: returns ``(task, data folder, override words)`` as the form holds them now.
    runner: the fast job pool the check runs in.
    """

    def __init__(
        self, settings: Settings, runner, inputs: Callable[[], tuple[str, str, list[str]]], parent=None
    ):
        super().__init__(parent)
        self.runner, self.inputs = runner, inputs
        self.picker = SplitPicker(settings)
        self.split_label = QLabel("Split")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setToolTip(PLAN_TIP)
        self.request = 0  # only the latest check may write the plan
        self.timer = QTimer(self, singleShot=True, interval=250)  # re-check once typing pauses
        self.timer.timeout.connect(self.refresh)
        self.picker.box.currentTextChanged.connect(self.timer.start)

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow(self.split_label, self.picker)
        form.addRow(self.label)

    def watch(self, *signals) -> None:
        for signal in signals:
            signal.connect(self.timer.start)

    def split_overrides(self, task: str) -> list[str]:
        split = self.picker.split
        return [f"task.data.split={json.dumps(split)}"] if task in WIDER_TASKS and split != AUTO else []

    def refresh(self) -> None:
        """Show what a run would read: the WIDER split of the Data folder (checked in a job)."""
        self.timer.stop()
        self.request += 1
        task, data, overrides = self.inputs()
        wider = task in WIDER_TASKS
        for widget in (self.split_label, self.picker, self.label):
            widget.setVisible(wider)
        if not wider:
            return
        if uses_synthetic_faces(overrides):
            self._show(self.request, DataCheck(True, "Synthetic faces: no data folder needed."))
        elif not data:
            text = 'Choose a WIDER folder as Data (or set task.data.source="synthetic").'
            self._show(self.request, DataCheck(False, text))
        else:
            request = self.request
            self.label.setText(f"Checking {data}…")
            self.runner.submit(
                check_data,
                data,
                self.picker.split,
                name="check training data",
                on_result=lambda check: self._show(request, check),
            )

    def _show(self, request: int, check: DataCheck) -> None:
        if request != self.request:
            return  # the data or split changed since this check started
        self.label.setText(check.text)
        self.label.setToolTip(check.detail or PLAN_TIP)
        self.label.setStyleSheet("" if check.ok else "color: #e0a040;")
