"""Small widgets of the Live and Unlock panels: a video source picker and per-branch toggles."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QVBoxLayout,
    QWidget,
)

from app.branch_labels import GroupNaming, group_text, group_tooltip, naming_of
from app.canvas.overlays import BRANCH_COLORS
from core.detect.registry import DEFAULT_DETECTOR
from core.scale_ranges import BRANCH_NAMES
from core.types import Detection


class BranchToggles(QGroupBox):
    """One coloured check box per group of faces (scale branch, layer group or size bin, named
    as :mod:`app.branch_labels` does), with the count of faces shown in it.

    changed(): a box was toggled.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.boxes: dict[str, QCheckBox] = {}
        self.naming: GroupNaming = naming_of(DEFAULT_DETECTOR)
        for name in BRANCH_NAMES:
            box = QCheckBox()
            color = BRANCH_COLORS[name]
            box.setStyleSheet(f"QCheckBox {{ color: rgb({color.red()},{color.green()},{color.blue()}); }}")
            box.setChecked(True)
            box.toggled.connect(lambda _=False: self.changed.emit())
            layout.addWidget(box)
            self.boxes[name] = box

    def visible_branches(self) -> set[str]:
        return {name for name, box in self.boxes.items() if box.isChecked()}

        self.set_detector(DEFAULT_DETECTOR)

    def set_detector(self, model: str, branch_kind: str | None = None) -> None:
        """Name the groups as detector ``model``'s (its result's ``branch_kind`` where known)."""
        self.naming = naming_of(model) if branch_kind is None else naming_of(model, branch_kind)
        self.setTitle(self.naming.title)
        self.setToolTip(self.naming.assignment)
        for name, box in self.boxes.items():
            box.setText(group_text(self.naming, name))
            box.setToolTip(group_tooltip(self.naming, name))

    def set_counts(self, faces: Sequence[Detection], min_score: float) -> None:
        for name, box in self.boxes.items():
            count = sum(1 for f in faces if f.branch == name and f.score >= min_score)
            box.setText(group_text(self.naming, name, count))
