"""The image canvas: a QGraphicsView with zoom, pan, fit and 1:1.

Scene coordinates are image pixels (origin top-left), so overlays drawn by the
panels use the engine's box convention directly. Each panel draws into its own
named layer (:attr:`ImageView.layers`), which a legend in the corner names.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsTextItem, QGraphicsView

from app.canvas.layers import CanvasLayers
from app.canvas.legend import CanvasLegend

MIN_ZOOM = 0.02
MAX_ZOOM = 40.0
ZOOM_STEP = 1.25


def qimage_from_rgb(image: np.ndarray) -> QImage:
    """RGB uint8 ``(H, W, 3)`` → an owning QImage (safe to build on a worker thread)."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    return QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ImageView(QGraphicsView):
    """Shows one image (or an error message in its place) with zoom and pan.

    zoom_changed(float): the current scale (1.0 = one image pixel per screen pixel).
    painted(): emitted after the first paint of a newly set image (startup bench, tests).
    """

    zoom_changed = Signal(float)
    painted = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self.setAcceptDrops(False)  # the main window handles drops
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._pixmap_item.setZValue(-1)
        self.scene().addItem(self._pixmap_item)
        self._message = QGraphicsTextItem()
        self._message.setDefaultTextColor(QColor(255, 170, 150))
        self._message.setFont(QFont("Sans", 11))
        self.scene().addItem(self._message)
        self._fit_mode = True
        self._paint_pending = False
        self.image_size: tuple[int, int] | None = None
        self.layers = CanvasLayers(self)
        self.legend = CanvasLegend(self.layers, self.viewport())

    # --- content ------------------------------------------------------------
    def set_image(self, image: QImage | np.ndarray) -> None:
        """Show an image; keeps 'fit' mode if it was on, else keeps the zoom."""
        qimage = image if isinstance(image, QImage) else qimage_from_rgb(image)
        self._message.setPlainText("")
        self._message.setVisible(False)
        self._pixmap_item.setPixmap(QPixmap.fromImage(qimage))
        self._pixmap_item.setVisible(True)
        self.image_size = (qimage.width(), qimage.height())
        self.scene().setSceneRect(QRectF(0, 0, qimage.width(), qimage.height()))
        if self._fit_mode:
            self.fit()
        self._paint_pending = True
        self.viewport().update()

    def show_message(self, text: str) -> None:
        """Replace the image by a message (e.g. why a file cannot be shown)."""
        self._pixmap_item.setVisible(False)
        self._pixmap_item.setPixmap(QPixmap())
        self.image_size = None
        self.layers.clear_highlight()
        self._message.setPlainText(text)
        self._message.setTextWidth(max(200, self.viewport().width() - 40))
        self._message.setVisible(True)
        self._message.setPos(0, 0)
        self.resetTransform()
        self.scene().setSceneRect(self._message.boundingRect())
        self.zoom_changed.emit(1.0)

    @property
    def message_text(self) -> str:
        return self._message.toPlainText() if self._message.isVisible() else ""

    def has_image(self) -> bool:
        return self.image_size is not None

    # --- zoom ---------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self._fit_mode = False
        self.resetTransform()
        self.scale(factor, factor)
        self.zoom_changed.emit(factor)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / ZOOM_STEP)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        self._fit_mode = True
        if self.image_size is None:
            return
        self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def zoom_to_rect(self, rect: QRectF, margin: float = 0.3) -> None:
        """Zoom so that ``rect`` (image pixels) fills the view with a margin."""
        grown = rect.adjusted(
            -rect.width() * margin, -rect.height() * margin, rect.width() * margin, rect.height() * margin
        )
        self._fit_mode = False
        self.fitInView(grown, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    # --- events -------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        if event.angleDelta().y() == 0:
            return super().wheelEvent(event)
        self.set_zoom(self.zoom * (ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.legend.parent_resized()
        if self._fit_mode:
            self.fit()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self._paint_pending and self.has_image():
            self._paint_pending = False
            self.painted.emit()
