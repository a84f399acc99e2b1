"""A small bar that shows a verification score against its threshold.

The bar spans the threshold ± a margin wide enough for the neighbouring
operating points: red (different) left of the threshold mark, green (same)
right of it, the borderline band (where a neighbouring operating point would
decide otherwise) shaded amber, and the score as a marker. A score beyond the
bar's ends sits at the end as an arrow, with its value written beside it.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.verification.cfp_view import ACCEPT, REJECT

BORDERLINE = QColor(230, 170, 40)
MIN_HALF_SPAN = 0.03  # cosine; the neighbouring points of the shipped calibration lie 0.01–0.03 apart
MARKER = 6  # px, half-width of the score's triangle


class ScoreBar(QWidget):
    """The score, the threshold and the borderline band of one decision (see the module doc)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score: float | None = None
        self.threshold = 0.0
        self.band = (0.0, 0.0)
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(260, 40)

    def set_decision(self, score: float, threshold: float, band: tuple[float, float]) -> None:
        self.score, self.threshold, self.band = score, threshold, band
        self.setToolTip(
            f"cosine score {score:.4f} against threshold {threshold:.4f}: at or right of the mark "
            f"is 'same person'. Amber: {band[0]:.3f}–{band[1]:.3f}, where a neighbouring "
            "operating point (10× looser or stricter FAR) would decide the other way."
        )
        self.update()

    def clear(self) -> None:
        self.score = None
        self.setToolTip("")
        self.update()

    def span(self) -> tuple[float, float]:
        """The score range the bar's width stands for."""
        half = max(MIN_HALF_SPAN, 1.5 * max(self.threshold - self.band[0], self.band[1] - self.threshold))
        return self.threshold - half, self.threshold + half

    def x_of(self, value: float) -> float:
        """Where ``value`` is drawn, clamped to the bar."""
        low, high = self.span()
        track = self._track()
        fraction = min(1.0, max(0.0, (value - low) / (high - low)))
        return track.left() + fraction * track.width()

    def _track(self) -> QRectF:
        return QRectF(MARKER, 4, max(1, self.width() - 2 * MARKER), 12)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.score is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = self._track()
        cut = self.x_of(self.threshold)
        painter.fillRect(
            QRectF(track.left(), track.top(), cut - track.left(), track.height()), _faded(REJECT)
        )
        painter.fillRect(QRectF(cut, track.top(), track.right() - cut, track.height()), _faded(ACCEPT))
        low, high = self.x_of(self.band[0]), self.x_of(self.band[1])
        painter.fillRect(QRectF(low, track.top() + 3, high - low, track.height() - 6), BORDERLINE)
        painter.setPen(QPen(Qt.GlobalColor.black, 2))
        painter.drawLine(QPointF(cut, track.top() - 3), QPointF(cut, track.bottom() + 3))
        self._paint_score(painter, track)
        painter.end()

    def _paint_score(self, painter: QPainter, track: QRectF) -> None:
        x = self.x_of(self.score)
        color = ACCEPT if self.score >= self.threshold else REJECT
        painter.setPen(QPen(color.darker(130), 1))
        painter.setBrush(color)
        tip = track.bottom()
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x, tip),
                    QPointF(x - MARKER, tip + MARKER + 2),
                    QPointF(x + MARKER, tip + MARKER + 2),
                ]
            )
        )
        low, high = self.span()
        text = f"{self.score:.3f}"
        if self.score < low or self.score > high:  # off the bar: the marker sits at its end
            text = f"◀ {text}" if self.score < low else f"{text} ▶"
        painter.setPen(self.palette().color(self.foregroundRole()))
        width = painter.fontMetrics().horizontalAdvance(text)
        left = min(max(0.0, x - width / 2), self.width() - width)
        painter.drawText(QPointF(left, self.height() - 2), text)


def _faded(color: QColor) -> QColor:
    out = QColor(color)
    out.setAlpha(90)
    return out
