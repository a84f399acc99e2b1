"""Named overlay layers on the shared canvas: one per panel, each with its own style.

Every panel that draws on the shared image view draws into its own
:class:`CanvasLayer`: a root item whose children are that panel's boxes, so a
whole layer is ordered, dimmed or hidden by changing one item. The *active*
layer (the panel the user works in) is drawn on top at full strength; the
other panels' layers stay on the image for context, dimmed; the layer of a
closed panel is hidden. A legend (:mod:`app.canvas.legend`) lists the layers
that show something.

A face picked in any panel's list is outlined by one shared highlight above
every layer, and the view centres on it when it lies outside what is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView

# Other panels' layers keep this much opacity: readable as context, clearly behind the active one.
DIMMED_OPACITY = 0.45
ACTIVE_Z = 1000.0  # above every other layer root (those sit at 10 + their registration order)
HIGHLIGHT_Z = 2000.0
HIGHLIGHT_COLOR = QColor(255, 255, 255)
HIGHLIGHT_HALO = QColor(0, 0, 0, 160)
HIGHLIGHT_MARGIN = 0.15  # of the box size, so the outline sits around the layer's own box


@dataclass(frozen=True)
class LayerStyle:
    """How one panel's layer draws and how the legend names it.

    title: the legend's name for the layer ("Detection").
    line: the pen style every box of the layer uses, so layers differ even where colours repeat.
    keys: ``(meaning, colour)`` pairs the legend shows ("missed" in red).
    """

    title: str
    line: Qt.PenStyle = Qt.PenStyle.SolidLine
    keys: tuple[tuple[str, QColor], ...] = field(default_factory=tuple)

    def pen(self, color: QColor, width: float = 2.0) -> QPen:
        """A cosmetic pen (constant on-screen width) of this layer's line style."""
        pen = QPen(color, width, self.line)
        pen.setCosmetic(True)
        return pen


class CanvasLayer:
    """One panel's items on the canvas, under one root item.

    Items are added with :meth:`add` and removed with the scene's ``removeItem``
    (which also takes them off the root), as before layers existed.
    """

    def __init__(
        self, name: str, style: LayerStyle, root: QGraphicsItem, on_change: Callable[[], None]
    ) -> None:
        self.name = name
        self.style = style
        self.root = root
        self._on_change = on_change

    def add(self, item: QGraphicsItem) -> None:
        item.setParentItem(self.root)

    def content_changed(self) -> None:
        """The panel redrew its items: the legend may list this layer more or less."""
        self._on_change()

    def shows_something(self) -> bool:
        """Whether any of the layer's items is drawn (the legend lists only those layers)."""
        return self.root.isVisible() and any(child.isVisible() for child in self.root.childItems())

    @property
    def dimmed(self) -> bool:
        return self.root.opacity() < 1.0


class CanvasLayers(QObject):
    """The layers of one view, which of them is active, and the face highlight.

    changed(): a layer was added, activated, hidden or shown, or its content changed
        (the legend redraws on it).
    """

    changed = Signal()

    def __init__(self, view: QGraphicsView) -> None:
        super().__init__(view)
        self._view = view
        self._layers: dict[str, CanvasLayer] = {}
        self._hidden: set[str] = set()
        self.active: str | None = None
        self._highlight = QGraphicsRectItem()
        self._highlight.setZValue(HIGHLIGHT_Z)
        self._highlight.setVisible(False)
        halo = QGraphicsRectItem(self._highlight)  # dark under-stroke: the outline reads on any image
        halo.setPen(_cosmetic(HIGHLIGHT_HALO, 5.0))
        halo.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        self._halo = halo
        self._highlight.setPen(_cosmetic(HIGHLIGHT_COLOR, 2.5))
        self.scene.addItem(self._highlight)
        self.highlighted: tuple[float, float, float, float] | None = None

    @property
    def scene(self) -> QGraphicsScene:
        return self._view.scene()

    def layer(self, name: str, style: LayerStyle) -> CanvasLayer:
        """The layer called ``name``, made on first use (a panel asks once, with its style)."""
        existing = self._layers.get(name)
        if existing is not None:
            return existing
        root = QGraphicsRectItem()
        root.setPen(QPen(Qt.PenStyle.NoPen))
        root.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        root.setData(0, f"layer:{name}")
        self.scene.addItem(root)
        layer = CanvasLayer(name, style, root, self.changed.emit)
        self._layers[name] = layer
        self._restack()
        return layer

    def names(self) -> list[str]:
        """Layer names from bottom to top, as drawn."""
        return [layer.name for layer in sorted(self._layers.values(), key=lambda la: la.root.zValue())]

    def get(self, name: str) -> CanvasLayer | None:
        return self._layers.get(name)

    def visible_layers(self) -> list[CanvasLayer]:
        """Layers that show something, top first (the legend's order)."""
        shown = [self._layers[name] for name in self.names() if self._layers[name].shows_something()]
        return shown[::-1]

    def set_active(self, name: str | None) -> None:
        """Put ``name``'s layer on top at full strength and dim the others."""
        if name == self.active:
            return
        self.active = name
        self._restack()

    def set_hidden(self, name: str, hidden: bool) -> None:
        """Hide (or show again) a layer, e.g. the layer of a closed panel."""
        if hidden:
            self._hidden.add(name)
        else:
            self._hidden.discard(name)
        self._restack()

    def _restack(self) -> None:
        for order, layer in enumerate(self._layers.values()):
            active = layer.name == self.active
            layer.root.setZValue(ACTIVE_Z if active else 10.0 + order)
            # no active layer (nothing chosen yet): none is dimmed, as before layers existed
            layer.root.setOpacity(1.0 if active or self.active is None else DIMMED_OPACITY)
            layer.root.setVisible(layer.name not in self._hidden)
        self.changed.emit()

    # --- the highlight ----------------------------------------------------------
    def highlight(self, box: tuple[float, float, float, float]) -> None:
        """Outline ``box`` (image pixels, x1 y1 x2 y2) above every layer; centre it if off-view."""
        x1, y1, x2, y2 = (float(v) for v in box)
        pad = max(2.0, HIGHLIGHT_MARGIN * max(x2 - x1, y2 - y1))
        rect = QRectF(x1 - pad, y1 - pad, x2 - x1 + 2 * pad, y2 - y1 + 2 * pad)
        self._highlight.setRect(rect)
        self._halo.setRect(rect)
        self._highlight.setVisible(True)
        self.highlighted = (x1, y1, x2, y2)
        if not self.visible_rect().contains(rect):
            self._view.centerOn(rect.center())

    def clear_highlight(self) -> None:
        self._highlight.setVisible(False)
        self.highlighted = None

    def visible_rect(self) -> QRectF:
        """The part of the scene (image pixels) the view shows now."""
        return self._view.mapToScene(self._view.viewport().rect()).boundingRect()


def _cosmetic(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen
