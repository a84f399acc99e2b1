"""The embedding plot: one attribute's LMLE embedding in 2-D (PCA), linked to the faces.

Points are filled by the face's class for the chosen attribute (orange =
has it, blue = has not) and outlined in the colour of the cluster they fall
in; cluster centroids are stars. Hovering shows the face's thumbnail;
dragging a box (left button, "Box select" on) lists the faces inside,
otherwise the left button pans; the wheel zooms. Built for 10,000+ points:
one ScatterPlotItem with shared pens/brushes, hover by a vectorised nearest
point search in screen space (no per-point items).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.attributes.jobs import EmbeddingData
from core.attributes.projection import Projection, project_attribute

CLASS_COLORS = {True: QColor(250, 130, 20, 220), False: QColor(60, 120, 230, 110)}
# cluster outlines: hues away from the class fills (no orange, no blue), so both read at once
CLUSTER_PALETTE = [
    (40, 200, 90), (230, 40, 90), (250, 230, 60), (170, 80, 220), (0, 190, 190), (240, 240, 240),
    (120, 60, 30), (200, 120, 200), (130, 200, 40), (120, 120, 120), (255, 150, 180), (0, 110, 60),
]  # fmt: skip
HOVER_PIXELS = 8.0


def star_size(clusters: int) -> float:
    """Centroid star size in pixels: 18 for a few clusters, shrinking towards 11 for the paper's
    tens per class, so the stars do not hide the faces they summarise."""
    return float(max(11.0, min(18.0, 18.0 * (8 / max(clusters, 1)) ** 0.5)))


THUMB_CACHE = 512
LISTED_ICONS = 300  # icons for the first faces of a selection only: big selections stay instant


class SelectViewBox(pg.ViewBox):
    """A ViewBox whose left-drag draws a selection box (when ``select_mode``) instead of panning."""

    sigBoxSelected = Signal(object)  # QRectF in data coordinates

    def __init__(self) -> None:
        super().__init__()
        self.select_mode = True
        self.band = QGraphicsRectItem()
        self.band.setPen(pg.mkPen((40, 40, 40), width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.band.setBrush(QBrush(QColor(255, 255, 0, 40)))
        self.band.setZValue(1e9)
        self.band.hide()
        self.addItem(self.band, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt override
        if not (self.select_mode and ev.button() == Qt.MouseButton.LeftButton and axis is None):
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start = self.mapToView(ev.buttonDownPos())
        rect = QRectF(start, self.mapToView(ev.pos())).normalized()
        if ev.isFinish():
            self.band.hide()
            self.sigBoxSelected.emit(rect)
        else:
            self.band.setRect(rect)
            self.band.show()


class EmbeddingView(QWidget):
    """Scatter of :class:`EmbeddingData` for one attribute + hover thumbnail + selection list.

    face_activated(object): a path double-clicked in the selection list.
    """

    face_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: EmbeddingData | None = None
        self.projection: Projection | None = None
        self.selected: np.ndarray = np.zeros(0, dtype=np.int64)
        self.hovered: int | None = None
        self._thumbs: OrderedDict[Path, QPixmap] = OrderedDict()
        self._pens = [pg.mkPen(c, width=1.2) for c in CLUSTER_PALETTE]
        self._brushes = {k: QBrush(v) for k, v in CLASS_COLORS.items()}
        self._build()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Attribute"))
        self.attribute_box = QComboBox()
        self.attribute_box.currentIndexChanged.connect(lambda _: self.redraw())
        top.addWidget(self.attribute_box, 1)
        self.select_box = QCheckBox("Box select")
        self.select_box.setToolTip("left-drag selects the faces in a box; off: left-drag pans")
        self.select_box.setChecked(True)
        top.addWidget(self.select_box)
        self.viewbox = SelectViewBox()
        self.select_box.toggled.connect(lambda on: setattr(self.viewbox, "select_mode", on))
        self.plot = pg.PlotWidget(viewBox=self.viewbox)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.scatter = pg.ScatterPlotItem(size=7, pxMode=True)
        self.centroid_item = pg.ScatterPlotItem(symbol="star", size=18, pxMode=True)
        self.centroid_item.setZValue(10)
        self.plot.addItem(self.scatter)
        self.plot.addItem(self.centroid_item)
        self.viewbox.sigBoxSelected.connect(self.select_rect)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.preview = QLabel("Hover a point")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(120, 150)
        self.preview_text = QLabel()
        self.preview_text.setWordWrap(True)
        self.summary = QLabel("Load a labelled face set to see the embedding.")
        self.summary.setWordWrap(True)
        self.selection_list = QListWidget()
        self.selection_list.setIconSize(QPixmap(44, 54).size())
        self.selection_list.itemDoubleClicked.connect(
            lambda item: self.face_activated.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.preview)
        side_layout.addWidget(self.preview_text)
        side_layout.addWidget(QLabel("Selected faces (drag a box)"))
        side_layout.addWidget(self.selection_list, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(side)
        splitter.setSizes([520, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.summary)

    # --- data -----------------------------------------------------------------
    def set_data(self, data: EmbeddingData) -> None:
        self.data = data
        current = self.attribute_box.currentText()
        self.attribute_box.blockSignals(True)
        self.attribute_box.clear()
        rates = data.labels.mean(0)
        for i, name in enumerate(data.names):
            self.attribute_box.addItem(f"{name} ({rates[i]:.1%})", i)
        names = [self.attribute_box.itemText(i).split(" (")[0] for i in range(self.attribute_box.count())]
        self.attribute_box.setCurrentIndex(
            names.index(current.split(" (")[0]) if current.split(" (")[0] in names else 0
        )
        self.attribute_box.blockSignals(False)
        self.redraw()

    def clear(self) -> None:
        """Drop the embedding, its projection and the thumbnails (the panel was closed)."""
        self.data, self.projection, self.hovered = None, None, None
        self.selected = np.zeros(0, dtype=np.int64)
        self._thumbs.clear()
        self.scatter.clear()
        self.centroid_item.clear()
        self.selection_list.clear()
        self.attribute_box.clear()
        self.summary.setText("Load a labelled face set to see the embedding.")

    @property
    def attribute(self) -> int:
        value = self.attribute_box.currentData()
        return int(value) if value is not None else 0

    def redraw(self) -> None:
        data = self.data
        if data is None:
            return
        a = self.attribute
        proj = project_attribute(data.embeddings[:, a], data.centroids[a], data.centroid_label[a])
        self.projection = proj
        labels = data.labels[:, a]
        brushes = [self._brushes[bool(v)] for v in labels]
        pens = [self._pens[c % len(self._pens)] for c in proj.cluster]
        self.scatter.setData(
            x=proj.points[:, 0], y=proj.points[:, 1], brush=brushes, pen=pens, data=np.arange(len(labels))
        )
        self.centroid_item.setData(
            x=proj.centroids[:, 0],
            y=proj.centroids[:, 1],
            size=star_size(len(proj.centroids)),
            brush=[self._brushes[bool(v)] for v in proj.centroid_label],
            pen=[
                pg.mkPen(CLUSTER_PALETTE[i % len(CLUSTER_PALETTE)], width=2.5)
                for i in range(len(proj.centroids))
            ],
        )
        self.plot.setTitle(f"{data.names[a]}: PCA of its LMLE embedding")
        self.plot.setLabel("bottom", f"PC1 ({proj.explained[0]:.0%})")
        self.plot.setLabel("left", f"PC2 ({proj.explained[1]:.0%})")
        self.viewbox.autoRange()
        pos = int(labels.sum())
        with_clusters = int((proj.centroid_label == 1).sum())
        self.summary.setText(
            f"{data.source}: {pos} with / {len(labels) - pos} without {data.names[a]}, "
            f"{with_clusters} + {len(proj.centroids) - with_clusters} clusters (stars). "
            "Orange = has it, blue = has not; outline = cluster."
        )
        self.selected = np.zeros(0, dtype=np.int64)
        self.selection_list.clear()

    # --- hover ----------------------------------------------------------------
    def point_near(self, scene_pos: QPointF) -> int | None:
        """Index of the point within :data:`HOVER_PIXELS` screen pixels of ``scene_pos``, else ``None``."""
        if self.projection is None or len(self.projection.points) == 0:
            return None
        view = self.viewbox.mapSceneToView(scene_pos)
        px, py = self.viewbox.viewPixelSize()  # data units per screen pixel
        pts = self.projection.points
        d2 = ((pts[:, 0] - view.x()) / px) ** 2 + ((pts[:, 1] - view.y()) / py) ** 2
        best = int(d2.argmin())
        return best if d2[best] <= HOVER_PIXELS**2 else None

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        index = self.point_near(scene_pos)
        if index is not None and index != self.hovered:
            self.show_face(index)

    def show_face(self, index: int) -> None:
        """Show the thumbnail and labels of face ``index`` in the preview."""
        assert self.data is not None
        self.hovered = index
        path = self.data.paths[index]
        pix = self.thumbnail(path)
        if pix.isNull():
            self.preview.setText("(unreadable)")
        else:
            self.preview.setPixmap(pix.scaled(120, 150, Qt.AspectRatioMode.KeepAspectRatio))
        a = self.attribute
        has = bool(self.data.labels[index, a])
        self.preview_text.setText(
            f"{path.name}\n{'has' if has else 'has not'} {self.data.names[a]}\n"
            f"cluster {int(self.projection.cluster[index]) if self.projection is not None else '-'}"
        )

    def thumbnail(self, path: Path) -> QPixmap:
        """The image as a pixmap at most 89x109 (cached, least recently used dropped)."""
        if path in self._thumbs:
            self._thumbs.move_to_end(path)
            return self._thumbs[path]
        image = QImage(str(path))
        if not image.isNull() and (image.width() > 89 or image.height() > 109):
            image = image.scaled(
                89, 109, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        pix = QPixmap.fromImage(image)
        self._thumbs[path] = pix
        if len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        return pix

    # --- selection -----------------------------------------------------------
    def select_rect(self, rect: QRectF) -> None:
        """Select the points inside ``rect`` (data coordinates) and list their faces."""
        if self.projection is None or self.data is None:
            return
        pts = self.projection.points
        inside = (
            (pts[:, 0] >= rect.left())
            & (pts[:, 0] <= rect.right())
            & (pts[:, 1] >= rect.top())
            & (pts[:, 1] <= rect.bottom())
        )
        self.selected = np.flatnonzero(inside)
        self.selection_list.clear()
        a = self.attribute
        for rank, i in enumerate(self.selected):
            path = self.data.paths[i]
            mark = "+" if self.data.labels[i, a] else "−"
            item = QListWidgetItem(f"{mark} {path.name}  c{int(self.projection.cluster[i])}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            if rank < LISTED_ICONS:
                item.setIcon(QIcon(self.thumbnail(path)))
            self.selection_list.addItem(item)
        pos = int(self.data.labels[self.selected, a].sum()) if len(self.selected) else 0
        self.summary.setText(
            f"{len(self.selected)} faces selected: {pos} with {self.data.names[a]}, {len(self.selected) - pos} without."
        )
