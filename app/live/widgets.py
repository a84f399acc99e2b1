"""Small widgets of the Live and Unlock panels: a video source picker and per-branch toggles."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.canvas.overlays import BRANCH_COLORS
from app.settings import Setting, Settings
from core.io.video.reader import VIDEO_SUFFIXES, SourceSpec, list_cameras
from core.scale_ranges import BRANCH_NAMES, SCALE_RANGES
from core.types import Detection

PICK_FILE, PICK_FOLDER = "file", "folder"


class SourcePicker(QWidget):
    """Camera list (⟳ looks again), "Video file…", "Image sequence (folder)…", Open and Close.

    open_requested(object): the :class:`SourceSpec` the user chose (files and folders via a dialog).
    close_requested(): Close was clicked.
    The last folder browsed persists in ``last_dir``.
    """

    open_requested = Signal(object)
    close_requested = Signal()

    def __init__(self, settings: Settings, last_dir: Setting[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.last_dir = last_dir
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source_box = QComboBox()
        self.source_box.setMinimumContentsLength(12)
        refresh = QPushButton("⟳")
        refresh.setToolTip("Look for cameras again")
        refresh.clicked.connect(self.refresh_cameras)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._open_selected)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close_requested)
        row.addWidget(self.source_box, 1)
        row.addWidget(refresh)
        row.addWidget(self.open_button)
        row.addWidget(self.close_button)

    def refresh_cameras(self) -> None:
        """List the cameras present; with none, say so and preselect "Video file…"."""
        self.source_box.clear()
        cameras = list_cameras()
        for camera in cameras:
            self.source_box.addItem(str(camera), SourceSpec("camera", camera.index))
        if not cameras:
            self.source_box.addItem("No camera found", None)
            item = self.source_box.model().item(0)
            item.setEnabled(False)
        self.source_box.addItem("Video file…", PICK_FILE)
        self.source_box.addItem("Image sequence (folder)…", PICK_FOLDER)
        self.source_box.setCurrentIndex(0 if cameras else 1)

    def remember(self, spec: SourceSpec) -> None:
        if spec.kind != "camera":
            self.settings.set(self.last_dir, str(Path(str(spec.target)).parent))

    def _open_selected(self) -> None:
        choice = self.source_box.currentData()
        last = self.settings.get(self.last_dir)
        if choice == PICK_FILE:
            patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
            path, _ = QFileDialog.getOpenFileName(
                self, "Open video", last, f"Videos ({patterns});;All files (*)"
            )
            if path:
                self.open_requested.emit(SourceSpec("file", path))
        elif choice == PICK_FOLDER:
            folder = QFileDialog.getExistingDirectory(self, "Open image sequence", last)
            if folder:
                self.open_requested.emit(SourceSpec("images", folder))
        elif isinstance(choice, SourceSpec):
            self.open_requested.emit(choice)


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
