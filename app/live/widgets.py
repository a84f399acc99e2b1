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

from app.canvas.overlays import BRANCH_COLORS
from core.scale_ranges import BRANCH_NAMES, SCALE_RANGES
from core.types import Detection


def range_text(branch: str) -> str:
    low, high = SCALE_RANGES[branch]
    return f"{low:.0f}–{high:.0f} px" if high != float("inf") else f"≥{low:.0f} px"


class BranchToggles(QGroupBox):
    """One coloured check box per branch / scale range, with the count of faces shown in it.

    changed(): a box was toggled.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Scale ranges", parent)
        layout = QVBoxLayout(self)
        self.boxes: dict[str, QCheckBox] = {}
        for name in BRANCH_NAMES:
            box = QCheckBox(f"{name} ({range_text(name)})")
            color = BRANCH_COLORS[name]
            box.setStyleSheet(f"QCheckBox {{ color: rgb({color.red()},{color.green()},{color.blue()}); }}")
            box.setChecked(True)
            box.toggled.connect(lambda _=False: self.changed.emit())
            layout.addWidget(box)
            self.boxes[name] = box

    def visible_branches(self) -> set[str]:
        return {name for name, box in self.boxes.items() if box.isChecked()}

    def set_kind(self, branch_kind: str) -> None:
        self.setTitle("Scale ranges" if branch_kind == "scale_range" else "Branches")

    def set_counts(self, faces: Sequence[Detection], min_score: float) -> None:
        for name, box in self.boxes.items():
            count = sum(1 for f in faces if f.branch == name and f.score >= min_score)
            box.setText(f"{name} ({range_text(name)}): {count}")
