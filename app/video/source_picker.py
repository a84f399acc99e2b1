"""Choosing a video source: a camera, a video file or an image sequence (Live and Unlock share it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QPushButton, QWidget

from app.settings import Setting, Settings
from core.io.video.reader import VIDEO_SUFFIXES, SourceSpec, list_cameras

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
