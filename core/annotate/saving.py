"""One save of the annotation editor as plain data, and its writes (any thread).

:meth:`core.annotate.split.AnnotationSplit.prepare_save` captures a
:class:`SavePlan` on the editing thread; :func:`write_plan` performs it (the
GUI runs it in a job); ``finish_save`` then clears what it covered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.annotate.audit import append_audit
from core.annotate.review import ReviewState
from core.atomic import write_text_atomic
from core.wider.labels import FaceBox

log = logging.getLogger(__name__)


@dataclass
class SavePlan:
    """Everything one save writes, captured on the editing thread (plain data, thread-safe).

    label_path is the working copy, never the source.
    """

    label_path: Path
    labels_text: str | None  # None: no face changed, the label file is left alone
    review_text: str | None  # None: review state unchanged
    audit_rows: list[tuple]
    audit_path: Path
    review_path: Path
    seq: int  # the journal records up to this sequence number are covered
    face_marks: dict[int, int] = field(default_factory=dict)
    review_marks: dict[int, int] = field(default_factory=dict)
    saved_faces: dict[int, list[FaceBox]] = field(default_factory=dict)
    saved_review: dict[int, ReviewState] = field(default_factory=dict)
    base_path: Path | None = None  # set when this save creates the working copy: where to record its base
    base_text: str | None = None


def write_plan(plan: SavePlan) -> None:
    """Perform a save's writes (any thread). Raises ``OSError`` and leaves the old files on failure."""
    if plan.labels_text is not None and plan.base_path is not None and plan.base_text is not None:
        write_text_atomic(plan.base_path, plan.base_text, fsync=True)
    if plan.labels_text is not None:
        write_text_atomic(plan.label_path, plan.labels_text, fsync=True)
    if plan.review_text is not None:
        write_text_atomic(plan.review_path, plan.review_text, fsync=True)
    try:
        append_audit(plan.audit_path, plan.audit_rows)
    except OSError as exc:  # the labels are safe; a missing audit row must not fail the save
        log.warning("audit trail %s not written: %s", plan.audit_path, exc)
