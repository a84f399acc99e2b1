"""Scene items of the annotation canvas: labelled boxes (with resize handles), suggestions, drafts.

Items only draw. Hit-testing and gestures live in :mod:`app.annotation.canvas`,
which tests in *screen* pixels, so a 3-pixel face stays as easy to click as a
large one whatever the zoom. Pens are cosmetic (constant on-screen width).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from app.canvas.layers import LayerStyle
from app.canvas.overlays import branch_color
from core.annotate.suggest import Suggestion
from core.wider.attributes import ATTRIBUTE_NAMES
from core.wider.labels import FaceBox

TINY_PX = 10  # WIDER's "hard" faces: below this height a box is flagged as tiny
HANDLE_PX = 8  # on-screen size of a resize handle

VALID_COLOR = QColor(80, 220, 100)
TINY_COLOR = QColor(235, 100, 235)  # not yellow/orange: those are the small-face suggestion colours
INVALID_COLOR = QColor(240, 70, 70)
CODE_COLORS = (QColor(80, 220, 100), QColor(255, 170, 30), QColor(240, 70, 70))
SELECTED_COLOR = QColor(60, 170, 255)

COLOR_MODES: tuple[str, ...] = ("validity", *ATTRIBUTE_NAMES)

# Labels are dotted (detections are solid, evaluation verdicts dashed); the selected box, the one
# being edited, turns solid so its edges can be placed precisely.
LAYER_STYLE = LayerStyle(
    "Annotation",
    Qt.PenStyle.DotLine,
    (("label", VALID_COLOR), ("tiny", TINY_COLOR), ("invalid", INVALID_COLOR), ("selected", SELECTED_COLOR)),
)

# handle codes: which edges a handle moves (left, top, right, bottom)
HANDLES: dict[str, tuple[bool, bool, bool, bool]] = {
    "tl": (True, True, False, False),
    "t": (False, True, False, False),
    "tr": (False, True, True, False),
    "r": (False, False, True, False),
    "br": (False, False, True, True),
    "b": (False, False, False, True),
    "bl": (True, False, False, True),
    "l": (True, False, False, False),
}


def handle_points(rect: QRectF) -> dict[str, QPointF]:
    cx, cy = rect.center().x(), rect.center().y()
    return {
        "tl": rect.topLeft(),
        "t": QPointF(cx, rect.top()),
        "tr": rect.topRight(),
        "r": QPointF(rect.right(), cy),
        "br": rect.bottomRight(),
        "b": QPointF(cx, rect.bottom()),
        "bl": rect.bottomLeft(),
        "l": QPointF(rect.left(), cy),
    }


def face_color(face: FaceBox, mode: str) -> QColor:
    """Colour of a box: by validity (invalid red, tiny yellow, else green) or by one attribute's code."""
    if mode == "validity":
        if int(face.invalid):
            return INVALID_COLOR
        return TINY_COLOR if face.h < TINY_PX else VALID_COLOR
    return CODE_COLORS[min(int(getattr(face, mode)), len(CODE_COLORS) - 1)]


_PENS: dict[tuple, QPen] = {}


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen, cached (a crowded image restyles a thousand boxes at once)."""
    key = (color.rgba(), width, style)
    pen = _PENS.get(key)
    if pen is None:
        pen = QPen(color, width, style)
        pen.setCosmetic(True)
        _PENS[key] = pen
    return pen


class BoxItem(QGraphicsRectItem):
    """One labelled face. ``index`` is its position in the image's face list."""

    def __init__(self, index: int, face: FaceBox, color: QColor) -> None:
        super().__init__(QRectF(face.x, face.y, face.w, face.h))
        self.index = index
        self.color = color
        self.selected = False
        self._handles: list[QGraphicsRectItem] = []
        self.setZValue(20)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # the canvas controller handles input
        self._restyle()

    def set_selected(self, selected: bool, show_handles: bool = False) -> None:
        self.selected = selected
        self._restyle()
        self._show_handles(selected and show_handles)

    def set_color(self, color: QColor) -> None:
        if color != self.color:
            self.color = color
            self._restyle()

    def set_box(self, rect: QRectF) -> None:
        self.setRect(rect)
        if self._handles:
            for handle, point in zip(self._handles, handle_points(rect).values(), strict=True):
                handle.setPos(point)

    def _restyle(self) -> None:
        if self.selected:
            self.setPen(_pen(SELECTED_COLOR, 2.5))
            fill = QColor(SELECTED_COLOR)
            fill.setAlpha(40)
            self.setBrush(QBrush(fill))
            self.setZValue(30)
        else:
            self.setPen(_pen(self.color, 1.5, LAYER_STYLE.line))
            self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            self.setZValue(20)

    def _show_handles(self, visible: bool) -> None:
        if visible and not self._handles:
            half = HANDLE_PX / 2
            for point in handle_points(self.rect()).values():
                handle = QGraphicsRectItem(-half, -half, HANDLE_PX, HANDLE_PX, self)
                handle.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
                handle.setPen(_pen(QColor(20, 20, 20), 1))
                handle.setBrush(QBrush(QColor(255, 255, 255)))
                handle.setPos(point)
                self._handles.append(handle)
        for handle in self._handles:
            handle.setVisible(visible)

    @property
    def handles_visible(self) -> bool:
        return bool(self._handles) and self._handles[0].isVisible()


class SuggestionItem(QGraphicsRectItem):
    """A detector suggestion: dashed, coloured by branch / scale range, score shown when selected."""

    def __init__(self, index: int, suggestion: Suggestion) -> None:
        x1, y1, x2, y2 = suggestion.box
        super().__init__(QRectF(x1, y1, x2 - x1, y2 - y1))
        self.index = index
        self.suggestion = suggestion
        self.color = branch_color(suggestion.branch)
        self.setZValue(15)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._label = QGraphicsSimpleTextItem(f"{suggestion.score:.2f}", self)
        self._label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._label.setFont(QFont("Sans", 8))
        self._label.setBrush(QBrush(self.color))
        self._label.setPos(QPointF(x1, y2 + 1))
        self.set_selected(False)

    def set_selected(self, selected: bool) -> None:
        pen = QPen(_pen(self.color, 3.0 if selected else 2.0))
        pen.setDashPattern([2.0, 1.5])  # short dashes read as "dashed" even on a 10-pixel face
        self.setPen(pen)
        self._label.setVisible(selected)


class DraftItem(QGraphicsRectItem):
    """The rectangle being drawn, or the rubber band of a box selection."""

    def __init__(self, band: bool) -> None:
        super().__init__()
        color = QColor(255, 255, 255) if band else SELECTED_COLOR
        self.setPen(_pen(color, 1.5, Qt.PenStyle.DotLine if band else Qt.PenStyle.SolidLine))
        self.setZValue(40)
