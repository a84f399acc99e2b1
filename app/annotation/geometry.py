"""Gesture geometry of the annotation canvas: whole-pixel moves, resizes and drawn boxes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt

from app.annotation.items import HANDLES
from core.annotate.faces import with_box
from core.wider.labels import FaceBox

MIN_SIZE = 1.0  # smallest box side in image pixels

HANDLE_CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor,
    "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor,
    "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor,
    "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor,
    "r": Qt.CursorShape.SizeHorCursor,
}


def snap_delta(start: QPointF, point: QPointF) -> tuple[float, float]:
    """A drag's offset in whole pixels: WIDER boxes are integers, and a move keeps any
    fractional part a file had."""
    return float(round(point.x() - start.x())), float(round(point.y() - start.y()))


def resized(face: FaceBox, handle: str, point: QPointF) -> FaceBox:
    """``face`` with the edges of ``handle`` moved to ``point`` (snapped; never below MIN_SIZE)."""
    left, top, right, bottom = HANDLES[handle]
    x1, y1, x2, y2 = face.x, face.y, face.x + face.w, face.y + face.h
    px, py = float(round(point.x())), float(round(point.y()))
    if left:
        x1 = min(px, x2 - MIN_SIZE)
    if right:
        x2 = max(px, x1 + MIN_SIZE)
    if top:
        y1 = min(py, y2 - MIN_SIZE)
    if bottom:
        y2 = max(py, y1 + MIN_SIZE)
    return with_box(face, x1, y1, x2 - x1, y2 - y1)


def drawn(rect: QRectF, image_size: tuple[int, int] | None) -> FaceBox | None:
    """A new face from a dragged rectangle, snapped and clipped to the image; ``None`` when empty."""
    width, height = image_size or (0, 0)
    x1 = float(max(0, round(rect.left())))
    y1 = float(max(0, round(rect.top())))
    x2 = float(min(width, round(rect.right())))
    y2 = float(min(height, round(rect.bottom())))
    if x2 - x1 < MIN_SIZE or y2 - y1 < MIN_SIZE:
        return None
    return FaceBox(x1, y1, x2 - x1, y2 - y1)
