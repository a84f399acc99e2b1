"""Suggestion and review-queue operations of the annotation editor (a mixin of
:class:`~app.annotation.editor.AnnotationEditor`: it uses the editor's split,
canvas, current image and :meth:`push`)."""

from __future__ import annotations

from core.annotate.faces import iou_xywh
from core.annotate.suggest import Suggestion


class SuggestionOps:
    """Accept / reject pre-label suggestions; focus a face sent by another panel."""

    def set_suggestions(self, index: int, suggestions: list[Suggestion]) -> None:
        self.suggestions[index] = list(suggestions)
        if index == self.current:
            self.canvas.set_suggestions(self.suggestions[index])

    def _target_suggestions(self, picked: set[int] | None) -> set[int]:
        pending = self.suggestions.get(self.current, [])
        if picked:
            return {i for i in picked if 0 <= i < len(pending)}
        if self.canvas.suggestion_selection:
            return set(self.canvas.suggestion_selection)
        return {max(range(len(pending)), key=lambda i: pending[i].score)} if pending else set()

    def accept_suggestions(self, picked: set[int] | None = None) -> int:
        """Accept the given / selected / best suggestion(s) as faces; returns how many."""
        targets = self._target_suggestions(picked)
        if not targets:
            return 0
        pending = self.suggestions.get(self.current, [])
        faces = list(self.canvas.faces)
        new = [pending[i].to_face() for i in sorted(targets)]
        rest = [s for i, s in enumerate(pending) if i not in targets]
        selection = set(range(len(faces), len(faces) + len(new)))
        text = f"Accept {len(new)} suggestion(s)"
        return len(new) if self.push(faces + new, text, selection, suggestions=rest) else 0

    def reject_suggestions(self, picked: set[int] | None = None) -> int:
        targets = self._target_suggestions(picked)
        if not targets:
            return 0
        pending = self.suggestions.get(self.current, [])
        rest = [s for i, s in enumerate(pending) if i not in targets]
        text = f"Reject {len(targets)} suggestion(s)"
        return len(targets) if self.push(list(self.canvas.faces), text, set(), suggestions=rest) else 0

    def accept_above(self, min_score: float) -> int:
        pending = self.suggestions.get(self.current, [])
        targets = {i for i, s in enumerate(pending) if s.score >= min_score}
        return self.accept_suggestions(targets) if targets else 0

    def focus_face(
        self, name: str, box: tuple[float, float, float, float], kind: str, score: float = 1.0
    ) -> bool:
        """Show image ``name`` with one face ready for a one-key action.

        ``missed``: the labelled face overlapping ``box`` best is selected (fix it, or V: invalid).
        ``false_positive``: ``box`` becomes a selected suggestion (Return accepts it as a label).
        """
        split = self.split
        index = split.index_of(name) if split is not None else -1
        if index < 0:
            return False
        x1, y1, x2, y2 = box
        if kind == "false_positive":
            pending = [s for s in self.suggestions.get(index, []) if s.box != tuple(box)]
            self.set_suggestions(index, [Suggestion((x1, y1, x2, y2), score, "review"), *pending])
            selection, suggestion_selection = set(), {0}
        else:
            faces = split.faces(index)
            overlaps = [iou_xywh((f.x, f.y, f.w, f.h), (x1, y1, x2 - x1, y2 - y1)) for f in faces]
            best = max(range(len(faces)), key=overlaps.__getitem__, default=None)
            selection = {best} if best is not None and overlaps[best] > 0 else set()
            suggestion_selection = set()
        if index == self.current:
            self.canvas.select(selection, suggestion_selection)
        else:
            self._pending_selection[index] = selection
            self._pending_suggestion_selection = (index, suggestion_selection)
            self.show_index(index)
        return True
