"""Box editing on the image view: hit-testing, selection and mouse gestures.

The controller filters the view's viewport events while the editor is active
(the view's own drag mode is switched off then and restored afterwards). A
gesture — draw, move, resize — previews on the items while the mouse moves
and emits **one** :attr:`AnnotationCanvas.edit_requested` on release, so a
drag becomes one undo step. The canvas never changes the split itself.

Mouse: left-drag on empty image draws a box; on a box moves the selection; on
a handle resizes; Ctrl+click toggles a box in the selection; Shift+drag
selects with a rubber band; a click on a suggestion selects it and a
double-click accepts it; the middle button pans.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGraphicsView

from app.annotation.geometry import HANDLE_CURSORS, drawn, resized, snap_delta
from app.annotation.items import (
    HANDLE_PX,
    LAYER_STYLE,
    BoxItem,
    DraftItem,
    SuggestionItem,
    face_color,
    handle_points,
)
from app.canvas.image_view import ImageView
from core.annotate.faces import moved
from core.annotate.suggest import Suggestion
from core.wider.labels import FaceBox

HIT_PX = 5  # click tolerance around a box edge, in screen pixels
DRAG_PX = 3  # a press that moves less than this is a click


class AnnotationCanvas(QObject):
    """Shows one image's faces and suggestions and turns mouse gestures into edit requests.

    edit_requested(list[FaceBox], str, set[int]): the new face list, the undo
        text, the selection after the edit.
    selection_changed(): box or suggestion selection changed.
    suggestion_activated(int): a suggestion was double-clicked.
    """

    edit_requested = Signal(object, str, object)
    selection_changed = Signal()
    suggestion_activated = Signal(int)

    def __init__(self, view: ImageView, layer_name: str = "annotation") -> None:
        super().__init__(view)
        self.view = view
        self.layer = view.layers.layer(layer_name, LAYER_STYLE)
        self.faces: list[FaceBox] = []
        self.items: list[BoxItem] = []
        self.selection: set[int] = set()
        self.suggestions: list[Suggestion] = []
        self.suggestion_items: list[SuggestionItem] = []
        self.suggestion_selection: set[int] = set()
        self.color_mode = "validity"
        self.active = False
        self._saved_drag_mode = view.dragMode()
        self._gesture: dict | None = None
        self._pan_from: QPointF | None = None
        view.zoom_changed.connect(lambda _: self._restyle_selection())

    # --- activation -----------------------------------------------------------
    def activate(self) -> None:
        """Take over left-drag on the canvas (no panning) until :meth:`deactivate`."""
        if self.active:
            return
        self.active = True
        self._saved_drag_mode = self.view.dragMode()
        self.view.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.view.viewport().installEventFilter(self)
        self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def deactivate(self) -> None:
        if not self.active:
            return
        self.active = False
        self._cancel_gesture()
        self.view.viewport().removeEventFilter(self)
        self.view.setDragMode(self._saved_drag_mode)
        self.view.viewport().unsetCursor()

    # --- content --------------------------------------------------------------
    def clear(self) -> None:
        self._cancel_gesture()
        self.set_faces([], set())
        self.set_suggestions([])

    def set_faces(self, faces: list[FaceBox], selection: set[int] | None = None) -> None:
        """Show ``faces``, reusing the existing items: only boxes that changed are touched,
        so an edit on a 1000-face image costs a few milliseconds."""
        if self._gesture is not None:  # new content (image switch, undo) ends a gesture in progress
            self._cancel_gesture()
        scene = self.view.scene()
        old = self.faces
        for item in self.items[len(faces) :]:
            scene.removeItem(item)
        del self.items[len(faces) :]
        for i, face in enumerate(faces):
            if i < len(self.items):
                if old[i] != face:
                    self.items[i].set_box(QRectF(face.x, face.y, face.w, face.h))
                    self.items[i].set_color(face_color(face, self.color_mode))
            else:
                item = BoxItem(i, face, face_color(face, self.color_mode))
                self.layer.add(item)
                self.items.append(item)
        self.faces = list(faces)
        keep = self.selection if selection is None else selection
        self.selection = {i for i in keep if 0 <= i < len(self.faces)}
        self._restyle_selection()
        self.layer.content_changed()

    def set_suggestions(self, suggestions: list[Suggestion], selection: set[int] | None = None) -> None:
        scene = self.view.scene()
        for item in self.suggestion_items:
            scene.removeItem(item)
        self.suggestions = list(suggestions)
        self.suggestion_items = [SuggestionItem(i, s) for i, s in enumerate(self.suggestions)]
        for item in self.suggestion_items:
            self.layer.add(item)
        self.layer.content_changed()
        self.suggestion_selection = {i for i in (selection or set()) if 0 <= i < len(self.suggestions)}
        for i, item in enumerate(self.suggestion_items):
            item.set_selected(i in self.suggestion_selection)

    def set_color_mode(self, mode: str) -> None:
        self.color_mode = mode
        for item, face in zip(self.items, self.faces, strict=True):
            item.set_color(face_color(face, mode))

    def select(self, selection: set[int], suggestions: set[int] | None = None) -> None:
        self.selection = {i for i in selection if 0 <= i < len(self.faces)}
        if suggestions is not None:
            self.suggestion_selection = {i for i in suggestions if 0 <= i < len(self.suggestions)}
            for i, item in enumerate(self.suggestion_items):
                item.set_selected(i in self.suggestion_selection)
        self._restyle_selection()
        self.selection_changed.emit()

    def _handles_fit(self, index: int) -> bool:
        """Handles only on a box big enough on screen; a smaller one is moved, not resized (zoom in)."""
        face = self.faces[index]
        return min(face.w, face.h) * self.view.zoom >= 4 * HANDLE_PX

    def _restyle_selection(self) -> None:
        single = len(self.selection) == 1
        for i, item in enumerate(self.items):
            selected = i in self.selection
            handles = selected and single and self._handles_fit(i)
            if item.selected != selected or item.handles_visible != handles:
                item.set_selected(selected, show_handles=handles)

    def selection_rect(self) -> QRectF | None:
        rects = [self.items[i].rect() for i in sorted(self.selection)]
        rects += [self.suggestion_items[i].rect() for i in sorted(self.suggestion_selection)]
        if not rects:
            return None
        united = rects[0]
        for rect in rects[1:]:
            united = united.united(rect)
        return united

    # --- hit-testing (screen-pixel tolerances) ----------------------------------
    def _tolerance(self) -> float:
        return HIT_PX / max(self.view.zoom, 1e-6)

    def face_at(self, point: QPointF) -> int | None:
        """The box under ``point``: the smallest one whose outline (grown by the tolerance) contains it."""
        tol = self._tolerance()
        best, best_area = None, float("inf")
        for i, face in enumerate(self.faces):
            if (
                face.x - tol <= point.x() <= face.x + face.w + tol
                and face.y - tol <= point.y() <= face.y + face.h + tol
            ):
                area = face.w * face.h
                if area < best_area:
                    best, best_area = i, area
        return best

    def handle_at(self, point: QPointF) -> tuple[int, str] | None:
        """A resize handle of the single selected box under ``point`` (boxes too small on screen have none)."""
        if len(self.selection) != 1:
            return None
        index = next(iter(self.selection))
        item = self.items[index]
        if not item.handles_visible:
            return None
        rect = item.rect()
        zoom = max(self.view.zoom, 1e-6)
        reach = (HANDLE_PX / 2 + 2) / zoom
        for code, handle in handle_points(rect).items():
            if abs(point.x() - handle.x()) <= reach and abs(point.y() - handle.y()) <= reach:
                return index, code
        return None

    def suggestion_at(self, point: QPointF) -> int | None:
        tol = self._tolerance()
        best, best_area = None, float("inf")
        for i, item in enumerate(self.suggestion_items):
            rect = item.rect().adjusted(-tol, -tol, tol, tol)
            if rect.contains(point) and item.rect().width() * item.rect().height() < best_area:
                best, best_area = i, item.rect().width() * item.rect().height()
        return best

    # --- events ---------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind not in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseButtonDblClick,
        ):
            return False
        assert isinstance(event, QMouseEvent)
        if self._pan(event):
            return True
        if not self.view.has_image():
            return False
        point = self.view.mapToScene(event.position().toPoint())
        if kind == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.LeftButton:
            hit = self.suggestion_at(point) if self.face_at(point) is None else None
            if hit is not None:
                self.suggestion_activated.emit(hit)
            return True
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self.view.setFocus()
            self._press(point, event.modifiers(), event.position())
            return True
        if kind == QEvent.Type.MouseMove:
            if self._gesture is not None:
                self._move(point, event.position())
            else:
                self._hover(point)
            return self._gesture is not None
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            if self._gesture is not None:
                self._release(point)
            return True
        return False

    def _pan(self, event: QMouseEvent) -> bool:
        """Middle-button drag scrolls the view (left-drag edits while the editor is active)."""
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position()
            return True
        if self._pan_from is not None and kind == QEvent.Type.MouseMove:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            bars = (self.view.horizontalScrollBar(), self.view.verticalScrollBar())
            bars[0].setValue(bars[0].value() - int(delta.x()))
            bars[1].setValue(bars[1].value() - int(delta.y()))
            return True
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            return True
        return False

    def _hover(self, point: QPointF) -> None:
        handle = self.handle_at(point)
        if handle is not None:
            shape = HANDLE_CURSORS[handle[1]]
        elif self.face_at(point) is not None:
            shape = Qt.CursorShape.SizeAllCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.view.viewport().setCursor(shape)

    # --- gestures -------------------------------------------------------------
    def _press(self, point: QPointF, modifiers, screen: QPointF) -> None:
        self.view.layers.set_active(self.layer.name)  # the boxes being edited are drawn on top
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        base = {"start": point, "screen": screen, "moved": False}
        handle = self.handle_at(point)
        if handle is not None:
            self._gesture = {**base, "kind": "resize", "index": handle[0], "handle": handle[1]}
            return
        hit = self.face_at(point)
        if hit is not None:
            if ctrl:
                self.select(self.selection ^ {hit})
                return
            if hit not in self.selection:
                self.select((self.selection | {hit}) if shift else {hit}, set())
            self._gesture = {**base, "kind": "move", "hit": hit, "narrow": not shift}
            return
        suggestion = self.suggestion_at(point)
        if suggestion is not None:
            picked = self.suggestion_selection ^ {suggestion} if ctrl else {suggestion}
            self.select(set() if not ctrl else self.selection, picked)
            return
        kind = "band" if shift or ctrl else "draw"
        if kind == "draw":
            self.select(set(), set())
        draft = DraftItem(band=kind == "band")
        draft.setRect(QRectF(point, point))
        self.layer.add(draft)
        self._gesture = {**base, "kind": kind, "draft": draft, "additive": ctrl or shift}

    def _move(self, point: QPointF, screen: QPointF) -> None:
        g = self._gesture
        assert g is not None
        if not g["moved"]:
            if (screen - g["screen"]).manhattanLength() < DRAG_PX:
                return
            g["moved"] = True
        if g["kind"] == "move":
            dx, dy = snap_delta(g["start"], point)
            for i in self.selection:
                self.items[i].setPos(dx, dy)
        elif g["kind"] == "resize":
            face = resized(self.faces[g["index"]], g["handle"], point)
            self.items[g["index"]].set_box(QRectF(face.x, face.y, face.w, face.h))
        else:
            g["draft"].setRect(QRectF(g["start"], point).normalized())

    def _release(self, point: QPointF) -> None:
        g = self._gesture
        self._gesture = None
        assert g is not None
        if g["kind"] in ("draw", "band"):
            self.view.scene().removeItem(g["draft"])
        if not g["moved"]:
            for item in self.items:
                item.setPos(0, 0)
            if g["kind"] == "move" and g["narrow"] and self.selection != {g["hit"]}:
                self.select({g["hit"]}, set())  # a plain click inside a group selects that box only
            return
        if g["kind"] == "move":
            dx, dy = snap_delta(g["start"], point)
            for item in self.items:
                item.setPos(0, 0)
            if dx or dy:
                faces = [moved(f, dx, dy) if i in self.selection else f for i, f in enumerate(self.faces)]
                n = len(self.selection)
                self.edit_requested.emit(faces, f"Move {n} box{'es' if n > 1 else ''}", set(self.selection))
        elif g["kind"] == "resize":
            index = g["index"]
            face = resized(self.faces[index], g["handle"], point)
            if face != self.faces[index]:
                faces = [face if i == index else f for i, f in enumerate(self.faces)]
                self.edit_requested.emit(faces, "Resize box", {index})
        elif g["kind"] == "draw":
            face = drawn(QRectF(g["start"], point).normalized(), self.view.image_size)
            if face is not None:
                self.edit_requested.emit([*self.faces, face], "Draw box", {len(self.faces)})
        else:
            band = QRectF(g["start"], point).normalized()
            hits = {i for i, item in enumerate(self.items) if band.intersects(item.rect())}
            picked = {i for i, item in enumerate(self.suggestion_items) if band.intersects(item.rect())}
            if g["additive"]:
                hits |= self.selection
            self.select(hits, picked)

    def _cancel_gesture(self) -> None:
        g, self._gesture = self._gesture, None
        if g is not None and "draft" in g:
            self.view.scene().removeItem(g["draft"])
        for item, face in zip(self.items, self.faces, strict=False):
            item.setPos(0, 0)
            item.set_box(QRectF(face.x, face.y, face.w, face.h))

    def cancel(self) -> bool:
        """Esc: abort a gesture, else clear the selection. True when something happened."""
        if self._gesture is not None:
            self._cancel_gesture()
            return True
        if self.selection or self.suggestion_selection:
            self.select(set(), set())
            return True
        return False
