"""Aligned chips as pixmaps with their landmarks drawn, and side-by-side pair thumbnails."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from app.canvas.image_view import qimage_from_rgb

LANDMARK_COLOR = QColor(60, 220, 255)


def chip_pixmap(chip: np.ndarray, points: np.ndarray | None = None, size: int = 150) -> QPixmap:
    """``(S, S, 3)`` uint8 chip → pixmap scaled to ``size``, landmarks (chip pixels) as dots."""
    image = qimage_from_rgb(chip).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    if points is not None and len(points):
        scale = size / max(chip.shape[0], 1)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(LANDMARK_COLOR, 1.5))
        painter.setBrush(LANDMARK_COLOR)
        for x, y in np.asarray(points, dtype=np.float64):
            if np.isfinite(x) and np.isfinite(y):
                painter.drawEllipse(QPointF(x * scale, y * scale), 1.2, 1.2)
        painter.end()
    return QPixmap.fromImage(image)


def pair_pixmap(a: np.ndarray, b: np.ndarray, border: QColor) -> QPixmap:
    """Two equal-size thumbnails side by side with a coloured frame."""
    h, w = a.shape[:2]
    canvas = QImage(2 * w + 6, h + 4, QImage.Format.Format_RGB888)
    canvas.fill(border)
    painter = QPainter(canvas)
    painter.drawImage(2, 2, qimage_from_rgb(a))
    painter.drawImage(w + 4, 2, qimage_from_rgb(b))
    painter.end()
    return QPixmap.fromImage(canvas)
