"""Face boxes and landmarks drawn over the image, coloured by scale branch."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsItemGroup,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from core.types import Detection

BRANCH_COLORS: dict[str, QColor] = {
    "small": QColor(255, 170, 0),
    "medium": QColor(0, 200, 255),
    "large": QColor(120, 230, 60),
}
FALLBACK_COLOR = QColor(230, 230, 230)


def branch_color(branch: str) -> QColor:
    return BRANCH_COLORS.get(branch, FALLBACK_COLOR)


class FaceOverlay:
    """Owns the scene items of one set of detections.

    Items are built once per result; toggles and the score slider only change
    visibility, so interaction stays instant with hundreds of faces.
    """

    def __init__(self, scene: QGraphicsScene) -> None:
        self._scene = scene
        self._groups: list[tuple[Detection, QGraphicsItemGroup, list[QGraphicsItem]]] = []
        self.visible_branches: set[str] = set(BRANCH_COLORS)
        self.min_score = 0.5
        self.show_landmarks = True
        self.show_labels = True

    def clear(self) -> None:
        for _, group, _ in self._groups:
            self._scene.removeItem(group)
        self._groups.clear()

    def set_faces(self, faces: list[Detection], labels: list[str] | None = None) -> None:
        self.clear()
        for index, face in enumerate(faces):
            color = branch_color(face.branch)
            group = QGraphicsItemGroup()
            pen = QPen(color, 2)
            pen.setCosmetic(True)  # constant on-screen width whatever the zoom
            x1, y1, x2, y2 = face.box
            rect = QGraphicsRectItem(QRectF(x1, y1, x2 - x1, y2 - y1))
            rect.setPen(pen)
            group.addToGroup(rect)
            text = labels[index] if labels else f"{face.score:.2f}"
            label = QGraphicsSimpleTextItem(text)
            label.setBrush(QBrush(color))
            label.setFont(QFont("Sans", 9))
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setPos(QPointF(x1, y1 - 2))
            label.setData(0, "label")
            group.addToGroup(label)
            landmark_items: list[QGraphicsItem] = []
            for x, y in face.landmarks or ():
                dot = QGraphicsEllipseItem(-2, -2, 4, 4)
                dot.setPos(QPointF(x, y))
                dot.setBrush(QBrush(color))
                dot.setPen(QPen(Qt.PenStyle.NoPen))
                dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
                group.addToGroup(dot)
                landmark_items.append(dot)
            group.setZValue(10 + face.score)
            self._scene.addItem(group)
            self._groups.append((face, group, landmark_items))
        self.refresh()

    def refresh(self) -> None:
        for face, group, landmark_items in self._groups:
            group.setVisible(face.branch in self.visible_branches and face.score >= self.min_score)
            for item in landmark_items:
                item.setVisible(self.show_landmarks)
            for child in group.childItems():
                if child.data(0) == "label":
                    child.setVisible(self.show_labels)

    def faces(self) -> list[Detection]:
        """All faces drawn, in the order given to :meth:`set_faces`."""
        return [face for face, _, _ in self._groups]

    def visible_faces(self) -> list[Detection]:
        return [face for face, group, _ in self._groups if group.isVisible()]

    def __len__(self) -> int:
        return len(self._groups)
