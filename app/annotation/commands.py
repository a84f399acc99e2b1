"""Undo commands of the annotation editor.

Every edit is one :class:`SetFacesCommand`: the whole face list of one image
before and after (plus the selection and pending suggestions), so undo and redo
are exact whichever image is shown when they run. Commands carry the image
*index*, so the stack survives switching images; undoing an edit made on
another image switches back to it. Repeated arrow-key nudges of the same
boxes merge into one step.
"""

from __future__ import annotations

import time
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from core.annotate.suggest import Suggestion
from core.wider.labels import FaceBox

NUDGE_ID = 1001
NUDGE_MERGE_S = 1.5  # nudges closer together than this are one step


class FaceEditor(Protocol):
    def apply_faces(
        self,
        index: int,
        faces: list[FaceBox],
        selection: set[int],
        suggestions: list[Suggestion] | None,
    ) -> bool: ...


class SetFacesCommand(QUndoCommand):
    """Replace the faces (and optionally the pending suggestions) of one image."""

    def __init__(
        self,
        editor: FaceEditor,
        index: int,
        before: list[FaceBox],
        after: list[FaceBox],
        text: str,
        selection_before: set[int],
        selection_after: set[int],
        suggestions_before: list[Suggestion] | None = None,
        suggestions_after: list[Suggestion] | None = None,
        merge_key: tuple | None = None,
    ) -> None:
        super().__init__(text)
        self.editor = editor
        self.index = index
        self.before, self.after = list(before), list(after)
        self.selection_before, self.selection_after = set(selection_before), set(selection_after)
        self.suggestions_before, self.suggestions_after = suggestions_before, suggestions_after
        self.merge_key = merge_key
        self.created = time.monotonic()

    def redo(self) -> None:
        if not self.editor.apply_faces(self.index, self.after, self.selection_after, self.suggestions_after):
            self.setObsolete(True)  # the split refused it (read-only, disk error): drop the step

    def undo(self) -> None:
        self.editor.apply_faces(self.index, self.before, self.selection_before, self.suggestions_before)

    def id(self) -> int:
        return NUDGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt override
        if not isinstance(other, SetFacesCommand) or other.merge_key != self.merge_key:
            return False
        if other.index != self.index or other.created - self.created > NUDGE_MERGE_S:
            return False
        self.after = other.after
        self.selection_after = other.selection_after
        self.created = other.created
        return True
