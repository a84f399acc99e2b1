"""The canvas legend: a small key in the view's top-right corner naming the visible layers.

One row per layer that shows something, the active layer first: a sample of
the layer's line style, its title (marked "dimmed" when it is another panel's
context), then its colour keys. It is a child of the viewport, so it stays in
the corner whatever the zoom, and it ignores the mouse so it never blocks a
click on the image beneath it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QWidget

from app.canvas.layers import CanvasLayers

MARGIN = 8  # from the viewport's edges
PAD = 6
SAMPLE_W = 22  # the line-style sample
SWATCH = 9  # one colour key's square
BACKGROUND = QColor(20, 20, 20, 190)
TEXT = QColor(235, 235, 235)
DIM_TEXT = QColor(160, 160, 160)


@dataclass(frozen=True)
class LegendRow:
    """One legend line: the layer's title, whether it is dimmed, its keys and line style."""

    title: str
    dimmed: bool
    keys: tuple[tuple[str, QColor], ...]
    line: Qt.PenStyle

    @property
    def text(self) -> str:
        keys = "  ".join(name for name, _ in self.keys)
        return f"{self.title}{' (dimmed)' if self.dimmed else ''}{':  ' + keys if keys else ''}"


class CanvasLegend(QWidget):
    """Draws :attr:`rows`, rebuilt from ``layers`` whenever they change."""

    def __init__(self, layers: CanvasLayers, viewport: QWidget) -> None:
        super().__init__(viewport)
        self.setObjectName("canvas_legend")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._layers = layers
        self._font = QFont("Sans", 8)
        self.rows: list[LegendRow] = []
        self.with_keys = True  # False where the canvas is too narrow for the colour keys
        layers.changed.connect(self.refresh)
        self.refresh()

    def titles(self) -> list[str]:
        return [row.title for row in self.rows]

    def refresh(self) -> None:
        self.rows = [
            LegendRow(layer.style.title, layer.dimmed, layer.style.keys, layer.style.line)
            for layer in self._layers.visible_layers()
        ]
        self.setVisible(bool(self.rows))
        self._place()
        self.update()

    def _place(self) -> None:
        metrics = QFontMetrics(self._font)
        room = self.parentWidget().width() - 2 * MARGIN
        self.with_keys = True
        width = max((self._row_width(metrics, row) for row in self.rows), default=0) + 2 * PAD
        if width > room:  # a narrow canvas: the layer names alone, never a legend cut off
            self.with_keys = False
            width = min(room, max((self._row_width(metrics, row) for row in self.rows), default=0) + 2 * PAD)
        height = len(self.rows) * metrics.height() + 2 * PAD
        parent = self.parentWidget()
        self.setGeometry(QRect(QPoint(parent.width() - width - MARGIN, MARGIN), QSize(width, height)))

    def _row_width(self, metrics: QFontMetrics, row: LegendRow) -> int:
        keys = sum(SWATCH + 4 + metrics.horizontalAdvance(name) + 8 for name, _ in self._keys(row))
        title = metrics.horizontalAdvance(row.title + (" (dimmed)" if row.dimmed else "")) + 10
        return SAMPLE_W + 6 + title + keys

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BACKGROUND)
        painter.drawRoundedRect(self.rect(), 4, 4)
        painter.setFont(self._font)
        metrics = QFontMetrics(self._font)
        for index, row in enumerate(self.rows):
            self._paint_row(painter, metrics, row, PAD + index * metrics.height())
        painter.end()

    def _paint_row(self, painter: QPainter, metrics: QFontMetrics, row: LegendRow, top: int) -> None:
        middle = top + metrics.height() / 2
        color = row.keys[0][1] if row.keys else TEXT
        painter.setPen(QPen(color, 2, row.line))
        painter.drawLine(QPointF(PAD, middle), QPointF(PAD + SAMPLE_W, middle))
        x = PAD + SAMPLE_W + 6
        baseline = top + metrics.ascent()
        painter.setPen(DIM_TEXT if row.dimmed else TEXT)
        title = row.title + (" (dimmed)" if row.dimmed else "")
        painter.drawText(x, baseline, title)
        x += metrics.horizontalAdvance(title) + 10
        for name, key_color in self._keys(row):
            painter.fillRect(QRect(x, int(middle - SWATCH / 2), SWATCH, SWATCH), key_color)
            x += SWATCH + 4
            painter.setPen(DIM_TEXT if row.dimmed else TEXT)
            painter.drawText(x, baseline, name)
            x += metrics.horizontalAdvance(name) + 8

    def _keys(self, row: LegendRow) -> tuple[tuple[str, QColor], ...]:
        return row.keys if self.with_keys else ()

    def parent_resized(self) -> None:
        self._place()
