"""The faces of the current image and the 40 predicted attributes of the selected one.

Each face is listed with its aligned CelebA frame (what the model saw). The
table shows every attribute with the decision and its confidence margin
(signed: > 0 present), shaded by how clear the decision is; present
attributes come first, the clearest at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # engine modules import torch; the window must not wait for it
    from core.attributes.recognizer import FaceAttributes


FRAME_ICON = (60, 74)


def frame_pixmap(frame: np.ndarray) -> QPixmap:
    """An RGB ``(H, W, 3)`` uint8 frame as a pixmap (copied: the array may go away)."""
    arr = np.ascontiguousarray(frame)
    h, w = arr.shape[:2]
    return QPixmap.fromImage(QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


def margin_color(margin: float, scale: float) -> QColor:
    """Green (present) / red (absent), stronger for larger ``|margin| / scale``."""
    strength = min(1.0, abs(margin) / scale) if scale > 0 else 0.0
    alpha = int(40 + 160 * strength)
    return QColor(60, 180, 80, alpha) if margin > 0 else QColor(220, 70, 60, alpha)


class FaceAttributesView(QWidget):
    """List of faces + attribute table. face_selected(int): a face row was chosen (-1: none)."""

    face_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.faces: list[FaceAttributes] = []
        self.face_list = QListWidget()
        self.face_list.setIconSize(QPixmap(*FRAME_ICON).size())
        self.face_list.currentRowChanged.connect(self._on_row)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["attribute", "predicted", "margin"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.caption = QLabel("No faces yet.")
        self.caption.setWordWrap(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.face_list)
        splitter.addWidget(self.table)
        splitter.setSizes([140, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.caption)

    def set_faces(self, faces: list[FaceAttributes], units: str = "") -> None:
        self.faces = list(faces)
        self.units = units
        self.face_list.blockSignals(True)
        self.face_list.clear()
        for i, face in enumerate(self.faces):
            x1, y1, x2, y2 = face.box
            present = face.prediction.present() if face.prediction is not None else []
            text = f"#{i + 1}  {face.score:.2f}  {x2 - x1:.0f}×{y2 - y1:.0f} px\n" + (
                ", ".join(present[:4]) + (" …" if len(present) > 4 else "")
                if face.prediction is not None
                else "(no landmarks)"
            )
            item = QListWidgetItem(text)
            if face.frame is not None:
                item.setIcon(QIcon(frame_pixmap(face.frame)))
            self.face_list.addItem(item)
        self.face_list.blockSignals(False)
        self.caption.setText(f"{len(self.faces)} face(s)." if self.faces else "No face found.")
        if self.faces:
            self.face_list.setCurrentRow(0)
        else:
            self.table.setRowCount(0)
            self.face_selected.emit(-1)

    def _on_row(self, row: int) -> None:
        self.show_face(row)
        self.face_selected.emit(row)

    def show_face(self, row: int) -> None:
        """Fill the table with the attributes of face ``row``."""
        self.table.setRowCount(0)
        if not 0 <= row < len(self.faces) or self.faces[row].prediction is None:
            return
        pred = self.faces[row].prediction
        order = sorted(range(len(pred.names)), key=lambda i: (not pred.positive[i], -float(pred.margin[i])))
        scale = float(np.quantile(np.abs(pred.margin), 0.9)) or 1.0
        self.table.setRowCount(len(order))
        for r, i in enumerate(order):
            margin = float(pred.margin[i])
            cells = [pred.names[i], "yes" if pred.positive[i] else "no", f"{margin:+.3f}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setBackground(QBrush(margin_color(margin, scale)))
                self.table.setItem(r, c, item)
        self.caption.setText(
            f"Face #{row + 1}: {len(pred.present())} of {len(pred.names)} attributes present. "
            f"Margin > 0 means present; {self.units}"
        )
