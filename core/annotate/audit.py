"""The audit trail: a CSV of what each save changed, one row per changed face or review state.

``<labels>.facescope-audit.csv`` grows by the rows of every save::

    time,image,change,face,before,after
    2024-05-01T10:00:00,0--Parade/x.jpg,modified,3,345 211 4 4 2 0 0 0 2 0,347 211 4 4 2 0 0 0 2 0
    2024-05-01T10:00:00,0--Parade/x.jpg,added,22,,29 401 29 36 0 0 0 0 0 0
    2024-05-01T10:00:00,0--Parade/x.jpg,review,,unreviewed,reviewed

Rows describe the *net* change between two saved states of an image (an edit
that was undone before the save leaves no row). ``face`` is the index in the
new list (``added``/``modified``) or the old one (``removed``). Faces are
matched first by equality, then, among the rest, greedily by IoU ≥ 0.3
(``modified``); what is left is ``added`` or ``removed``.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from pathlib import Path

from core.annotate.faces import face_to_row, iou_xywh
from core.wider.labels import FaceBox

AUDIT_COLUMNS = ("time", "image", "change", "face", "before", "after")
MATCH_IOU = 0.3


def _row_text(face: FaceBox) -> str:
    return " ".join(str(v) for v in face_to_row(face))


def diff_faces(name: str, before: Sequence[FaceBox], after: Sequence[FaceBox], stamp: str) -> list[tuple]:
    """Audit rows turning ``before`` into ``after`` (empty when equal)."""
    old_rows = [face_to_row(f) for f in before]
    new_rows = [face_to_row(f) for f in after]
    unmatched_old = list(range(len(old_rows)))
    unmatched_new: list[int] = []
    by_value: dict[tuple, list[int]] = {}
    for i, row in enumerate(old_rows):
        by_value.setdefault(tuple(row), []).append(i)
    for j, row in enumerate(new_rows):
        same = by_value.get(tuple(row))
        if same:
            unmatched_old.remove(same.pop(0))
        else:
            unmatched_new.append(j)
    pairs: list[tuple[int, int]] = []
    candidates: list[tuple[float, int, int]] = []
    if len(unmatched_old) * len(unmatched_new) <= 250_000:  # bounded work on a huge rewrite
        candidates = sorted(
            (
                (iou_xywh(old_rows[i][:4], new_rows[j][:4]), i, j)
                for i in unmatched_old
                for j in unmatched_new
            ),
            reverse=True,
        )
    used_old: set[int] = set()
    used_new: set[int] = set()
    for overlap, i, j in candidates:
        if overlap < MATCH_IOU:
            break
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j))
    rows: list[tuple] = []
    for i, j in sorted(pairs, key=lambda p: p[1]):
        rows.append((stamp, name, "modified", j, _row_text(before[i]), _row_text(after[j])))
    for i in unmatched_old:
        if i not in used_old:
            rows.append((stamp, name, "removed", i, _row_text(before[i]), ""))
    for j in unmatched_new:
        if j not in used_new:
            rows.append((stamp, name, "added", j, "", _row_text(after[j])))
    return rows


def review_row(name: str, before: str, after: str, stamp: str) -> tuple:
    return (stamp, name, "review", "", before, after)


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def append_audit(path: str | os.PathLike, rows: Sequence[tuple]) -> None:
    """Append rows (with a header when the file is new), flushed and fsync'ed."""
    if not rows:
        return
    path = Path(path)
    new = not path.exists() or path.stat().st_size == 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if new:
        writer.writerow(AUDIT_COLUMNS)
    writer.writerows(rows)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())


def read_audit(path: str | os.PathLike) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        return []
