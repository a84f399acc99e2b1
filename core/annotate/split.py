"""The editable split: images and their faces, dirty tracking, review state, journal, saves.

An :class:`AnnotationSplit` is what the annotation editor edits. Every change
goes through :meth:`AnnotationSplit.set_faces` or
:meth:`AnnotationSplit.set_review`, which first append the change to the
recovery journal (fsync'ed) and only then apply it in memory, so an edit the
caller saw succeed is never lost.

Saving is split in three steps so the GUI can write on a worker thread while
the user keeps editing: :meth:`prepare_save` (caller's thread, fast: builds
the full label text from per-image text *chunks*, re-formatting only the
images changed since they were last formatted), :func:`write_plan` (any
thread: atomic writes of the label file and review sidecar, audit rows
appended; in :mod:`core.annotate.saving`) and :meth:`finish_save` (caller's thread: clears the dirty marks the
save covered and compacts the journal). :meth:`save` does all three.

Where saves go: never into the label file that was opened (the *source*),
but into its working copy (:mod:`core.annotate.workcopy`), which a later
open continues; the journal, review sidecar and audit trail live beside the
working copy. Only :meth:`AnnotationSplit.save_to_source` writes the source.

Chunks: when a file is opened, its text is cut into one verbatim chunk per
image, so untouched images are written back byte for byte (an unchanged split
is never rewritten at all) and a save costs a string join plus the formatting
of the edited images, whatever the split size.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from core.annotate.audit import diff_faces, review_row, timestamp
from core.annotate.faces import copy_faces, face_from_row, face_to_row
from core.annotate.journal import Journal, JournalContents, JournalUnreadable, file_sha256, read_journal
from core.annotate.loading import (
    LoadedLabels,
    duplicate_names_error,
    image_paths_for,
    load_folder,
    load_labels,
    load_unreadable,
)
from core.annotate.review import ReviewState, format_review, read_review_file
from core.annotate.saving import SavePlan, write_plan
from core.annotate.workcopy import (
    WorkingCopy,
    base_record,
    locate,
    remove_stale_temporaries_of,
    save_to_source,
    source_changed,
)
from core.atomic import write_text_atomic
from core.errors import UserError
from core.wider.labels import FaceBox, ImageLabels, format_labels

log = logging.getLogger(__name__)


class ReadOnlyError(UserError, RuntimeError):
    """The split cannot be edited or saved (unparsable labels, or a recovery decision pending)."""


class AnnotationSplit:
    """An ordered list of :class:`ImageLabels` being edited, with their image files.

    images[i].faces is replaced, never mutated, on every edit: callers treat
    the :class:`FaceBox` objects they read as immutable and pass new lists to
    :meth:`set_faces`.
    """

    def __init__(
        self, loaded: LoadedLabels, images_root: Path, image_paths: list[Path], working: WorkingCopy
    ) -> None:
        self.label_path = working.source  # what the user opened; saves go to working.path
        self.working = working
        self.resumed = loaded.label_path == working.path  # an earlier session's working copy was continued
        self.source_sha256 = file_sha256(working.source)
        self.source_changed = self.resumed and source_changed(working, self.source_sha256)
        self.images_root = images_root
        self.images: list[ImageLabels] = loaded.images
        self.image_paths = image_paths
        self.decimals = loaded.decimals
        self.error: str | None = loaded.error or duplicate_names_error(loaded.images)
        self._chunks: list[str | None] = loaded.chunks or [None] * len(self.images)
        self._index = {image.name: i for i, image in enumerate(self.images)}
        self._seq = 0
        self._face_marks: dict[int, int] = {}  # image -> seq of its last unsaved face change
        self._review_marks: dict[int, int] = {}
        self._baseline: dict[int, list[FaceBox]] = {}  # last saved faces of changed images (audit)
        self._review_baseline: dict[int, ReviewState] = {}
        self._unsaved: list[dict] = []  # journal records since the last save
        self.recovery: JournalContents | None = None
        self.journal_problem: str | None = None  # the journal cannot be trusted: set it aside first
        self.review: list[ReviewState] = [ReviewState.UNREVIEWED] * len(self.images)
        self._review_counts: Counter = Counter()
        self._journal: Journal | None = None
        if self.error is None:
            self._load_review()
        self._review_counts = Counter(self.review)
        if self.error is None:
            remove_stale_temporaries_of(working)
            self._journal = Journal(working.sidecar("journal.jsonl"), working.path)
            self._check_journal()

    # --- opening --------------------------------------------------------------
    @classmethod
    def open_wider(cls, label_path: str | os.PathLike, images_root: str | os.PathLike) -> AnnotationSplit:
        """Open ``images_root`` + a WIDER label txt (or its working copy). A file that does not parse opens read-only."""
        label_path, images_root = Path(label_path), Path(images_root)
        working = locate(label_path)
        loaded = load_labels(working.read_path)
        if loaded.error is not None:
            loaded = load_unreadable(working.read_path, images_root, loaded.error)
        return cls(loaded, images_root, image_paths_for(images_root, loaded.images), working)

    @classmethod
    def open_folder(cls, folder: str | os.PathLike, label_path: str | os.PathLike) -> AnnotationSplit:
        """Open a folder of images with a label file, creating the file when it is missing and may be.

        Images in the folder (recursively) that the file does not list are added with no faces.
        """
        folder, label_path = Path(folder), Path(label_path)
        working = locate(label_path)
        loaded = load_folder(folder, working.read_path)
        split = cls(loaded, folder, [folder / image.name for image in loaded.images], working)
        if loaded.error is None and not label_path.exists() and working.source_writable:
            write_text_atomic(label_path, format_labels(split.images), fsync=True)
            split._chunks = [None] * len(split.images)
        return split

    def _load_review(self) -> None:
        path = self.working.sidecar("review.json")
        if not path.exists():  # a private working folder starts from the state kept beside the source
            path = self.label_path.with_name(path.name)
        try:
            states = read_review_file(path)
        except ValueError as exc:
            self.error = f"{exc} (fix or remove it; the editor will not overwrite it)"
            return
        for name, state in states.items():
            index = self._index.get(name)
            if index is not None:
                self.review[index] = state

    def _check_journal(self) -> None:
        assert self._journal is not None
        try:
            contents = read_journal(self._journal.path)
        except JournalUnreadable as exc:
            log.warning("%s", exc)
            self.journal_problem = str(exc)
            return
        if contents is None:
            return
        pending = [r for r in contents.records if not self._already_applied(r)]
        if pending:
            self.recovery = contents
        else:  # everything in it was saved before the journal could be cleared
            self._journal.compact([])

    def _record_index(self, record: dict) -> int | None:
        """The image a record is for: its index while that image still has its name, else found by name."""
        index = record.get("index")
        if (
            isinstance(index, int)
            and 0 <= index < len(self.images)
            and self.images[index].name == record["name"]
        ):
            return index
        return self._index.get(record["name"])

    def _already_applied(self, record: dict) -> bool:
        index = self._record_index(record)
        if index is None:
            return False
        if "faces" in record:
            return [face_to_row(f) for f in self.images[index].faces] == record["faces"]
        return self.review[index].value == record.get("review")

    # --- state ----------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        return self.error is not None

    @property
    def editable(self) -> bool:
        return self.error is None and self.recovery is None and self.journal_problem is None

    @property
    def dirty(self) -> bool:
        return bool(self._face_marks or self._review_marks)

    def __len__(self) -> int:
        return len(self.images)

    def index_of(self, name: str) -> int:
        return self._index.get(name, -1)

    def faces(self, index: int) -> list[FaceBox]:
        """The faces of image ``index`` (a new list; do not mutate the boxes)."""
        return list(self.images[index].faces)

    def face_count(self) -> int:
        return sum(len(image.faces) for image in self.images)

    def review_counts(self) -> dict[ReviewState, int]:
        return {state: self._review_counts.get(state, 0) for state in ReviewState}

    def is_dirty(self, index: int) -> bool:
        return index in self._face_marks or index in self._review_marks

    def next_with_state(self, start: int, state: ReviewState = ReviewState.UNREVIEWED) -> int:
        """First image after ``start`` (wrapping) in ``state``; -1 when none."""
        n = len(self.images)
        for step in range(1, n + 1):
            index = (start + step) % n
            if self.review[index] == state:
                return index
        return -1

    # --- editing --------------------------------------------------------------
    def _check_editable(self) -> None:
        if self.error is not None:
            raise ReadOnlyError(f"{self.label_path} is read-only: {self.error}")
        if self.recovery is not None:
            raise ReadOnlyError("restore or discard the unsaved edits from the last session first")
        if self.journal_problem is not None:
            raise ReadOnlyError(f"{self.journal_problem} Set it aside first")

    def _log(self, record: dict) -> None:
        """Journal first (durable), then the caller applies the change in memory."""
        self._seq += 1
        record = {"seq": self._seq, "t": round(time.time(), 3), **record}
        if self._journal is not None:
            self._journal.append(record)
        self._unsaved.append(record)

    def set_faces(self, index: int, faces: Sequence[FaceBox]) -> None:
        """Replace the faces of image ``index`` (copied); journaled before it is applied."""
        self._check_editable()
        faces = copy_faces(faces)
        image = self.images[index]
        self._log({"index": index, "name": image.name, "faces": [face_to_row(f) for f in faces]})
        self._apply_faces(index, faces)

    def _apply_faces(self, index: int, faces: list[FaceBox]) -> None:
        self._baseline.setdefault(index, self.images[index].faces)
        self.images[index].faces = faces
        self._chunks[index] = None
        self._face_marks[index] = self._seq

    def set_review(self, index: int, state: ReviewState) -> None:
        self._check_editable()
        state = ReviewState(state)
        if self.review[index] == state:
            return
        self._log({"index": index, "name": self.images[index].name, "review": state.value})
        self._apply_review(index, state)

    def _apply_review(self, index: int, state: ReviewState) -> None:
        self._review_baseline.setdefault(index, self.review[index])
        self._review_counts[self.review[index]] -= 1
        self._review_counts[state] += 1
        self.review[index] = state
        self._review_marks[index] = self._seq

    # --- recovery -------------------------------------------------------------
    def restore(self) -> list[int]:
        """Apply the pending journal records; returns the images they changed (skipped names are logged)."""
        if self.recovery is None:
            return []
        changed: list[int] = []
        for record in self.recovery.records:
            index = self._record_index(record)
            if index is None:
                log.warning("journal record for unknown image %r skipped", record["name"])
                continue
            self._seq = max(self._seq, int(record["seq"]))
            if "faces" in record:
                self._apply_faces(index, [face_from_row(row) for row in record["faces"]])
            elif "review" in record:
                self._apply_review(index, ReviewState(record["review"]))
            changed.append(index)
        self._unsaved = list(self.recovery.records)
        self.recovery = None
        return sorted(set(changed))

    def discard_recovery(self) -> Path | None:
        """Set the journal aside (renamed, never deleted) and edit from the saved file."""
        self.recovery = None
        return self._journal.set_aside() if self._journal is not None else None

    def set_journal_aside(self) -> Path | None:
        """Rename an untrusted journal to ``<journal>.corrupt-<time>`` (kept) and edit from the saved file."""
        kept = self._journal.set_aside("corrupt") if self._journal is not None else None
        self.journal_problem = None
        return kept

    # --- saving ---------------------------------------------------------------
    def prepare_save(self) -> SavePlan | None:
        """Capture a save of the current state; ``None`` when nothing changed."""
        self._check_editable()
        if not self.dirty:
            return None
        stamp = timestamp()
        labels_text = None
        rows: list[tuple] = []
        if self._face_marks:
            for i, chunk in enumerate(self._chunks):
                if chunk is None:
                    self._chunks[i] = format_labels([self.images[i]], self.decimals)
            labels_text = "".join(self._chunks)  # type: ignore[arg-type]
            for i in sorted(self._face_marks):
                rows += diff_faces(
                    self.images[i].name, self._baseline.get(i, []), self.images[i].faces, stamp
                )
        review_text = None
        if self._review_marks:
            states = {img.name: self.review[i] for i, img in enumerate(self.images)}
            review_text = format_review(self.label_path, states)
            for i in sorted(self._review_marks):
                before = self._review_baseline.get(i, self.review[i])
                if before != self.review[i]:
                    rows.append(review_row(self.images[i].name, before.value, self.review[i].value, stamp))
        return SavePlan(
            label_path=self.working.path,
            labels_text=labels_text,
            review_text=review_text,
            audit_rows=rows,
            audit_path=self.working.sidecar("audit.csv"),
            review_path=self.working.sidecar("review.json"),
            base_path=None if self.working.exists else self.working.sidecar("edit.json"),
            base_text=base_record(self.label_path.name, self.source_sha256),
            seq=self._seq,
            face_marks=dict(self._face_marks),
            review_marks=dict(self._review_marks),
            saved_faces={i: self.images[i].faces for i in self._face_marks},
            saved_review={i: self.review[i] for i in self._review_marks},
        )

    def finish_save(self, plan: SavePlan) -> None:
        """After :func:`write_plan` succeeded: clear what it covered, compact the journal."""
        for i, mark in plan.face_marks.items():
            if self._face_marks.get(i) == mark:
                del self._face_marks[i]
                self._baseline.pop(i, None)
            elif i in self._face_marks:  # edited again while saving: diff the next save against this one
                self._baseline[i] = plan.saved_faces[i]
        for i, mark in plan.review_marks.items():
            if self._review_marks.get(i) == mark:
                del self._review_marks[i]
                self._review_baseline.pop(i, None)
            elif i in self._review_marks:
                self._review_baseline[i] = plan.saved_review[i]
        self._unsaved = [r for r in self._unsaved if r["seq"] > plan.seq]
        if self._journal is None:
            return
        try:
            self._journal.compact(self._unsaved)
        except OSError as exc:  # the labels are saved; replaying the saved records again changes nothing
            log.warning("journal %s not compacted: %s", self._journal.path, exc)

    def save(self) -> bool:
        """Save synchronously; ``False`` when there was nothing to save."""
        plan = self.prepare_save()
        if plan is None:
            return False
        write_plan(plan)
        self.finish_save(plan)
        return True

    def save_to_source(self) -> bool:
        """Save the edits, then make the source equal to the working copy (atomic); ``False`` when equal already.

        The explicit "Save to source": raises :class:`ReadOnlyError` for a
        read-only source or a pending recovery, ``OSError`` when a write fails.
        """
        self._check_editable()
        if not self.working.source_writable:
            raise ReadOnlyError(
                f"{self.label_path} cannot be written ({self.working.read_only_reason}); export the labels instead"
            )
        self.save()
        if not save_to_source(self.working):
            return False
        self.resumed = self.source_changed = False
        self.source_sha256 = file_sha256(self.label_path)
        return True

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
