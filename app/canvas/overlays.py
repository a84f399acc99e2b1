"""Face boxes and landmarks drawn over the image, coloured by scale branch; branch heat maps.

Heat maps (:class:`HeatmapOverlay`) show a ScaleFace branch's response map
(RPN objectness, :meth:`core.detect.scaleface.ScaleFaceDetector.detect_with_maps`)
as a semi-transparent layer in the branch's colour. Geometry: value ``(i, j)``
of a map is the objectness of the anchors centred at network-input pixel
``(j * stride, i * stride)`` (torchvision's anchor grid starts at 0), i.e. at
original-image pixel ``(j * cell_size, i * cell_size)`` with ``cell_size =
stride / scale``. The layer is a one-pixel-per-cell image offset by half a
cell and scaled by ``cell_size``, so each cell is the square centred on its
anchor centre (smooth scaling then interpolates between anchor centres), and
it is clipped to the image. The RGBA images are made in the worker
(:func:`branch_heatmaps`); the GUI thread only wraps them in pixmap items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsItemGroup,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
)

from app.canvas.layers import CanvasLayer
from core.detect.registry import DISPLAY_MIN_SCORE
from core.types import Detection

#: PR / AP curve colour of each WIDER evaluation setting (Evaluation panel, Training panel's AP plot).
SETTING_COLORS: dict[str, tuple[int, int, int]] = {
    "easy": (60, 200, 90),
    "medium": (240, 170, 40),
    "hard": (230, 70, 70),
    "all_faces": (150, 150, 255),
}

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

    def __init__(self, layer: CanvasLayer) -> None:
        self._layer = layer
        self._groups: list[tuple[Detection, QGraphicsItemGroup, list[QGraphicsItem]]] = []
        self.visible_branches: set[str] = set(BRANCH_COLORS)
        self.min_score = DISPLAY_MIN_SCORE
        self.show_landmarks = True
        self.show_labels = True

    def clear(self) -> None:
        for _, group, _ in self._groups:
            _remove(group)
        self._groups.clear()
        self._layer.content_changed()

    def set_faces(self, faces: list[Detection], labels: list[str] | None = None) -> None:
        self.clear()
        for index, face in enumerate(faces):
            color = branch_color(face.branch)
            group = QGraphicsItemGroup()
            pen = self._layer.style.pen(color)
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
            self._layer.add(group)
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
        self._layer.content_changed()

    def faces(self) -> list[Detection]:
        """All faces drawn, in the order given to :meth:`set_faces`."""
        return [face for face, _, _ in self._groups]

    def visible_faces(self) -> list[Detection]:
        return [face for face, group, _ in self._groups if group.isVisible()]

    def __len__(self) -> int:
        return len(self._groups)


# A heat map at objectness 1 is this opaque: the image stays readable under three maps.
HEAT_MAX_ALPHA = 0.7
# alpha = HEAT_MAX_ALPHA * value ** HEAT_GAMMA: a trained RPN's objectness peaks around 0.5-0.7
# on faces, which a linear ramp shows too faintly; the square root keeps order and zero.
HEAT_GAMMA = 0.5
HEAT_Z = 1.0  # above the image (z -1), below the faces (z >= 10)


@dataclass(frozen=True)
class BranchHeatmap:
    """A branch's response map ready to draw (built in the worker).

    image: RGBA ``(Wb × Hb)`` QImage, one pixel per map cell, the branch colour with
        alpha ``HEAT_MAX_ALPHA * value ** HEAT_GAMMA``.
    cell_size: original-image pixels between neighbouring anchor centres.
    values: the ``(Hb, Wb)`` float32 objectness in [0, 1] it was made from.
    """

    branch: str
    image: QImage
    cell_size: float
    values: np.ndarray

    @property
    def peak(self) -> float:
        return float(self.values.max()) if self.values.size else 0.0

    def cell_center(self, row: int, col: int) -> tuple[float, float]:
        """Original-image pixel ``(x, y)`` of the anchor centre of cell ``(row, col)``."""
        return (col * self.cell_size, row * self.cell_size)


def heat_alpha(values: np.ndarray, max_alpha: float = HEAT_MAX_ALPHA) -> np.ndarray:
    """Objectness in [0, 1] → uint8 alpha (NaN and out-of-range values clipped)."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)
    return np.round(np.power(v, HEAT_GAMMA) * (255.0 * max_alpha)).astype(np.uint8)


def heat_rgba(values: np.ndarray, color: QColor, max_alpha: float = HEAT_MAX_ALPHA) -> np.ndarray:
    """``(H, W)`` values in [0, 1] → ``(H, W, 4)`` uint8 RGBA: constant colour, alpha from the value."""
    values = np.asarray(values)
    out = np.empty((*values.shape, 4), dtype=np.uint8)
    out[..., 0], out[..., 1], out[..., 2] = color.red(), color.green(), color.blue()
    out[..., 3] = heat_alpha(values, max_alpha)
    return out


def branch_heatmaps(maps: Mapping[str, object]) -> dict[str, BranchHeatmap]:
    """Response maps (``values``, ``cell_size``, e.g. ``ResponseMap``) → drawable heat maps.

    Safe on a worker thread (QImage, no QPixmap).
    """
    out = {}
    for name, response in maps.items():
        values = np.ascontiguousarray(np.asarray(response.values, dtype=np.float32))
        rgba = heat_rgba(values, branch_color(name))
        height, width = values.shape
        image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        out[name] = BranchHeatmap(name, image, float(response.cell_size), values)
    return out


class HeatmapOverlay:
    """Scene items of one image's branch heat maps, shown per branch (``visible_branches``)."""

    def __init__(self, layer: CanvasLayer) -> None:
        self._layer = layer
        self._clip: QGraphicsRectItem | None = None
        self.items: dict[str, QGraphicsPixmapItem] = {}
        self.heatmaps: dict[str, BranchHeatmap] = {}
        self.visible_branches: set[str] = set()

    def clear(self) -> None:
        if self._clip is not None:
            _remove(self._clip)
        self._clip = None
        self.items.clear()
        self.heatmaps = {}

    def set_maps(self, heatmaps: Mapping[str, BranchHeatmap], image_size: tuple[int, int]) -> None:
        """Draw ``heatmaps`` over an image of ``image_size`` = (width, height) pixels."""
        self.clear()
        if not heatmaps:
            return
        width, height = image_size
        clip = QGraphicsRectItem(QRectF(0, 0, width, height))
        clip.setPen(QPen(Qt.PenStyle.NoPen))
        clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        clip.setZValue(HEAT_Z)
        for name, heat in heatmaps.items():
            item = QGraphicsPixmapItem(QPixmap.fromImage(heat.image), clip)
            item.setOffset(-0.5, -0.5)  # pixel (j, i) centred on its anchor centre
            item.setTransform(QTransform.fromScale(heat.cell_size, heat.cell_size))
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            self.items[name] = item
        self._layer.add(clip)
        self._clip = clip
        self.heatmaps = dict(heatmaps)
        self.refresh()

    def refresh(self) -> None:
        for name, item in self.items.items():
            item.setVisible(name in self.visible_branches)
        if self._clip is not None:  # an empty clip would still count as something shown on the layer
            self._clip.setVisible(bool(self.visible()) or not self.items)
        self._layer.content_changed()

    def visible(self) -> list[str]:
        return [name for name, item in self.items.items() if name in self.visible_branches]


def _remove(item: QGraphicsItem) -> None:
    """Take ``item`` off its layer and the scene (a no-op if it is already off)."""
    if item.scene() is not None:
        item.scene().removeItem(item)
    else:
        item.setParentItem(None)
