"""The annotation editor's controller: one open split, its undo stack, canvas and autosave.

Widgets live in app/annotation/panel.py; this object holds the state and
every edit operation, so tests drive it directly or through the panel. All
edits become :class:`SetFacesCommand` on one :class:`QUndoStack`; a command's
redo/undo calls :meth:`AnnotationEditor.apply_faces`, the only place that
writes faces into the split (which journals them before applying).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QUndoStack

from app.annotation.autosave import Autosaver
from app.annotation.canvas import AnnotationCanvas
from app.annotation.commands import SetFacesCommand
from app.annotation.suggestion_ops import SuggestionOps
from app.context import Workbench
from core.annotate.faces import faces_equal, moved, with_attribute
from core.annotate.review import ReviewState
from core.annotate.split import AnnotationSplit, ReadOnlyError
from core.annotate.suggest import Suggestion
from core.annotate.workcopy import set_aside
from core.wider.attributes import ATTRIBUTES
from core.wider.labels import FaceBox, ImageLabels

log = logging.getLogger(__name__)

REVIEW_MARKS = {
    ReviewState.UNREVIEWED: ("○", None),
    ReviewState.REVIEWED: ("✓", QColor(90, 200, 110)),
    ReviewState.NEEDS_ATTENTION: ("!", QColor(255, 160, 40)),
}


class AnnotationEditor(QObject, SuggestionOps):
    """split_changed(): a split was opened or closed.  current_changed(): the shown image changed.
    review_changed(): review state or counts changed.  message(str, bool): banner text, is_error."""

    split_changed = Signal()
    current_changed = Signal()
    review_changed = Signal()
    message = Signal(str, bool)

    def __init__(self, workbench: Workbench, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.split: AnnotationSplit | None = None
        self.current = -1  # index of the image shown (-1: none of the split's)
        self.undo_stack = QUndoStack(self)
        self.canvas = AnnotationCanvas(workbench.view)
        self.canvas.edit_requested.connect(self._on_canvas_edit)
        self.canvas.suggestion_activated.connect(lambda i: self.accept_suggestions({i}))
        self.autosaver = Autosaver(workbench.runner, parent=self)
        self.suggestions: dict[int, list[Suggestion]] = {}
        self._pending_selection: dict[int, set[int]] = {}
        self._pending_suggestion_selection: tuple[int, set[int]] = (-1, set())
        self._row = -1
        self._navigate = False  # undo/redo switch to the image they change; pushes never do
        self._owns_list = False  # the file list shows this split's images
        self._requesting = False
        workbench.list_changed.connect(self._on_list_changed)
        workbench.image_changed.connect(self._on_image_changed)
        workbench.row_changed.connect(self._on_row_changed)

    # --- opening --------------------------------------------------------------
    def install(self, split: AnnotationSplit) -> None:
        """Make ``split`` the edited split and show its images in the file list."""
        self.close_split()
        self.split = split
        self.autosaver.set_split(split)
        self.workbench.row_decorator = self._decorate_row
        self.split_changed.emit()
        self.show_split_list()
        self.review_changed.emit()
        if split.read_only:
            self.message.emit(f"Read-only: {split.error}", True)
        elif split.journal_problem is not None:
            self.message.emit(
                f"{split.journal_problem} Set it aside to edit: it is renamed, not deleted, "
                "and the labels as last saved are kept.",
                True,
            )
        elif split.recovery is not None:
            n = len(split.recovery.records)
            self.message.emit(f"{n} unsaved edit(s) from a previous session can be restored.", True)

    def show_split_list(self) -> None:
        """Put the split's images (back) into the file list."""
        if self.split is None:
            return
        self._requesting = True
        try:
            self.workbench.list_requested.emit(self.split.image_paths, self.split.images_root)
        finally:
            self._requesting = False
        self.workbench.rows_changed.emit(None)

    @property
    def owns_list(self) -> bool:
        return self.split is not None and self._owns_list

    def _on_list_changed(self) -> None:
        self._owns_list = self._requesting
        self.split_changed.emit()

    def close_split(self) -> None:
        """Save what is pending (synchronously) and forget the split."""
        if self.split is None:
            return
        self.autosaver.flush()
        self.autosaver.set_split(None)
        self.split.close()
        self.split = None
        self.current = -1
        self.undo_stack.clear()
        self.suggestions.clear()
        self._pending_selection.clear()
        self.canvas.clear()
        if self.workbench.row_decorator == self._decorate_row:
            self.workbench.row_decorator = None
            self.workbench.rows_changed.emit(None)
        self.split_changed.emit()

    def restore_recovery(self) -> None:
        if self.split is None or self.split.recovery is None:
            return
        changed = self.split.restore()
        self.message.emit(f"Restored unsaved edits on {len(changed)} image(s).", False)
        self.workbench.rows_changed.emit(changed)
        self.review_changed.emit()
        if self.current in changed:
            self.canvas.set_faces(self.split.faces(self.current), set())
        self.autosaver.changed()

    def discard_recovery(self) -> None:
        if self.split is None or self.split.recovery is None:
            return
        kept = self.split.discard_recovery()
        self.message.emit(f"Unsaved edits set aside in {kept.name if kept else 'nothing'}.", False)

    def set_journal_aside(self) -> None:
        """Rename an untrusted journal out of the way (kept) so editing can go on."""
        if self.split is None or self.split.journal_problem is None:
            return
        try:
            kept = self.split.set_journal_aside()
        except OSError as exc:
            self.message.emit(f"The journal could not be set aside: {exc.strerror or exc}.", True)
            return
        self.message.emit(
            f"The unreadable journal was set aside as {kept.name if kept else 'nothing'}.", False
        )
        self.split_changed.emit()

    # --- the working copy and its source ---------------------------------------
    def save_to_source(self) -> bool:
        """The explicit write into the opened label file: pending edits into the working copy, then copy it over.

        Synchronous, like saving on close: a label file is written in milliseconds, and no autosave
        may replace the working copy between the two steps.
        """
        split = self.split
        if split is None or not split.editable or not self.autosaver.flush():
            return False
        try:
            written = split.save_to_source()
        except ReadOnlyError as exc:
            self.message.emit(str(exc), True)
            return False
        except (
            OSError
        ) as exc:  # the source is unchanged (atomic replace); the working copy still holds the edits
            self.workbench.runner.error.emit("Save to source", exc, f"{split.label_path}\n{exc}")
            return False
        name = split.label_path.name
        self.message.emit(f"Saved to {name}." if written else f"{name} already holds these labels.", False)
        return written

    def discard_working_copy(self) -> Path | None:
        """Close the split (its pending edits saved first), then set the working copy aside (kept, renamed)."""
        split = self.split
        if split is None:
            return None
        self.close_split()
        kept = set_aside(split.working)
        if kept is not None:
            self.message.emit(f"Working copy set aside as {kept.name}.", False)
        return kept

    # --- which image is shown -------------------------------------------------
    def _on_row_changed(self, row: int, path: Path) -> None:
        split = self.split
        in_split = self.owns_list and 0 <= row < len(split) and split.image_paths[row] == path
        self._row = row if in_split else -1
        if not in_split:
            self.current = -1
            self.canvas.clear()

    def _on_image_changed(self, loaded) -> None:
        split = self.split
        index = self._row
        if split is None or loaded is None or index < 0 or split.image_paths[index] != loaded.path:
            self.current = -1
            self.canvas.clear()
            self.current_changed.emit()
            return
        self.current = index
        self.canvas.set_faces(split.faces(index), self._pending_selection.pop(index, set()))
        pending_index, picked = self._pending_suggestion_selection
        self._pending_suggestion_selection = (-1, set())
        self.canvas.set_suggestions(
            self.suggestions.get(index, []), picked if pending_index == index else None
        )
        self.canvas.selection_changed.emit()
        self.current_changed.emit()

    def show_index(self, index: int) -> None:
        if self.split is not None and 0 <= index < len(self.split):
            if not self.owns_list:  # rows only mean split images in the split's own list
                self.show_split_list()
                if self._row == index:
                    return  # already shown by putting the list back
            self.workbench.row_requested.emit(index)

    # --- the one write path ---------------------------------------------------
    def apply_faces(
        self, index: int, faces: list[FaceBox], selection: set[int], suggestions: list[Suggestion] | None
    ) -> bool:
        """Write faces into the split (journaled) and show them; called by undo commands."""
        split = self.split
        if split is None or not split.editable:
            return False
        if not faces_equal(split.faces(index), faces):
            try:
                split.set_faces(index, faces)
            except OSError as exc:  # the journal could not be written: the edit did not happen
                self.workbench.runner.error.emit("Edit not recorded", exc, str(split.label_path))
                return False
            self.autosaver.changed()
            self.workbench.rows_changed.emit([index])
        if suggestions is not None:
            self.suggestions[index] = list(suggestions)
        if index == self.current:
            self.canvas.set_faces(split.faces(index), selection)
            if suggestions is not None:
                self.canvas.set_suggestions(self.suggestions[index])
            self.canvas.selection_changed.emit()
        elif self._navigate:  # the user undid/redid an edit made on another image: show it
            self._pending_selection[index] = set(selection)
            self.show_index(index)
        return True

    def undo(self) -> None:
        self._step(self.undo_stack.undo)

    def redo(self) -> None:
        self._step(self.undo_stack.redo)

    def _step(self, action) -> None:
        self._navigate = True
        try:
            action()
        finally:
            self._navigate = False

    def push(
        self,
        faces: list[FaceBox],
        text: str,
        selection: set[int],
        suggestions: list[Suggestion] | None = None,
        merge_key: tuple | None = None,
        index: int | None = None,
    ) -> bool:
        """One user gesture → one undo step on the current image (or image ``index``)."""
        split = self.split
        index = self.current if index is None else index
        if split is None or index < 0 or not split.editable:
            if split is not None and not split.editable:
                self.message.emit("This split is read-only; nothing was changed.", True)
            return False
        before_suggestions = list(self.suggestions.get(index, [])) if suggestions is not None else None
        self.undo_stack.push(
            SetFacesCommand(
                self,
                index,
                split.faces(index),
                faces,
                text,
                set(self.canvas.selection) if index == self.current else set(),
                selection,
                before_suggestions,
                suggestions,
                merge_key,
            )
        )
        return True

    def import_images(self, images: list[ImageLabels]) -> int:
        """Replace the faces of the split's images found in ``images`` (e.g. a COCO import): one undo step."""
        split = self.split
        if split is None or not split.editable:
            return 0
        changes = [(split.index_of(im.name), im.faces) for im in images]
        changes = [(i, faces) for i, faces in changes if i >= 0 and not faces_equal(split.faces(i), faces)]
        self.undo_stack.beginMacro(f"Import labels of {len(changes)} image(s)")
        for i, faces in changes:
            self.push(list(faces), "Import", set(), index=i)
        self.undo_stack.endMacro()
        return len(changes)

    def _on_canvas_edit(self, faces: list[FaceBox], text: str, selection: set[int]) -> None:
        self.push(faces, text, selection)

    # --- box operations -------------------------------------------------------
    @property
    def selected_faces(self) -> list[FaceBox]:
        return [self.canvas.faces[i] for i in sorted(self.canvas.selection)]

    def delete_selection(self) -> None:
        selection = self.canvas.selection
        if selection:
            faces = [f for i, f in enumerate(self.canvas.faces) if i not in selection]
            self.push(faces, f"Delete {len(selection)} box(es)", set())
        elif self.canvas.suggestion_selection:
            self.reject_suggestions(set(self.canvas.suggestion_selection))

    def nudge(self, dx: float, dy: float) -> None:
        selection = self.canvas.selection
        if not selection:
            return
        faces = [moved(f, dx, dy) if i in selection else f for i, f in enumerate(self.canvas.faces)]
        key = ("nudge", self.current, tuple(sorted(selection)))
        self.push(faces, f"Nudge {len(selection)} box(es)", set(selection), merge_key=key)

    def set_attribute(self, name: str, code: int) -> None:
        """Bulk edit: set one attribute on every selected box (one undo step)."""
        selection = self.canvas.selection
        if not selection:
            return
        faces = [
            with_attribute(f, name, code) if i in selection else f for i, f in enumerate(self.canvas.faces)
        ]
        label = ATTRIBUTES[name](code).name.lower()
        self.push(faces, f"Set {name}={label} on {len(selection)} box(es)", set(selection))

    def cycle_attribute(self, name: str) -> None:
        """Next value of ``name`` for the selection (toggle for two-valued attributes)."""
        faces = self.selected_faces
        if faces:
            self.set_attribute(name, (int(getattr(faces[0], name)) + 1) % len(ATTRIBUTES[name]))

    def select_all(self) -> None:
        self.canvas.select(set(range(len(self.canvas.faces))), set())

    def select_next(self) -> None:
        n = len(self.canvas.faces)
        if n:
            start = max(self.canvas.selection, default=-1)
            self.canvas.select({(start + 1) % n}, set())

    # --- review ---------------------------------------------------------------
    def set_review(self, state: ReviewState, toggle: bool = True) -> None:
        split, index = self.split, self.current
        if split is None or index < 0 or not split.editable:
            return
        if toggle and split.review[index] == state:
            state = ReviewState.UNREVIEWED
        split.set_review(index, state)
        self.autosaver.changed()
        self.workbench.rows_changed.emit([index])
        self.review_changed.emit()

    def next_unreviewed(self) -> bool:
        split = self.split
        if split is None or not len(split):
            return False
        index = split.next_with_state(max(self.current, self._row, -1))
        if index < 0:
            self.message.emit("Every image has been reviewed.", False)
            return False
        self.show_index(index)
        return True

    def _decorate_row(self, row: int, path: Path) -> tuple[str, QColor | None] | None:
        split = self.split
        if not self.owns_list or row >= len(split) or split.image_paths[row] != path:
            return None
        mark, color = REVIEW_MARKS[split.review[row]]
        dirty = " •" if split.is_dirty(row) else ""
        return f"{mark} {split.images[row].name}  [{len(split.images[row].faces)}]{dirty}", color

    def shutdown(self) -> None:
        self.canvas.deactivate()
        self.close_split()
