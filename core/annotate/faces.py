"""Small helpers over :class:`~core.wider.labels.FaceBox`: copies, plain rows, IoU.

A *row* is the 10 numbers of a WIDER face line as a list
``[x, y, w, h, blur, expression, illumination, invalid, occlusion, pose]``
(box in pixels, top-left corner + size; codes as ints). Rows are what the
journal and the audit trail store: JSON-friendly and exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.wider.attributes import ATTRIBUTE_NAMES, ATTRIBUTES
from core.wider.labels import FaceBox

# code -> enum member per attribute column, in file order
_MEMBERS: tuple[tuple, ...] = tuple(tuple(enum) for enum in ATTRIBUTES.values())


def copy_face(face: FaceBox) -> FaceBox:
    """An independent copy (FaceBox is mutable; the split never shares instances)."""
    return FaceBox(
        face.x,
        face.y,
        face.w,
        face.h,
        face.blur,
        face.expression,
        face.illumination,
        face.invalid,
        face.occlusion,
        face.pose,
    )


def copy_faces(faces: Iterable[FaceBox]) -> list[FaceBox]:
    return [copy_face(f) for f in faces]


def face_to_row(face: FaceBox) -> list:
    """``[x, y, w, h, *codes]``; integral box values become ints so JSON stays compact."""
    box = [int(v) if float(v).is_integer() else float(v) for v in (face.x, face.y, face.w, face.h)]
    return box + list(face.attribute_codes)


def face_from_row(row: Sequence) -> FaceBox:
    """Inverse of :func:`face_to_row`; raises ``ValueError`` on a bad row or code."""
    if len(row) != 4 + len(ATTRIBUTE_NAMES):
        raise ValueError(f"a face row needs {4 + len(ATTRIBUTE_NAMES)} values, got {len(row)}")
    x, y, w, h = (float(v) for v in row[:4])
    members = []
    for column, code in enumerate(row[4:]):
        code = int(code)
        if not 0 <= code < len(_MEMBERS[column]):
            raise ValueError(f"bad {ATTRIBUTE_NAMES[column]} code {code}")
        members.append(_MEMBERS[column][code])
    return FaceBox(x, y, w, h, *members)


def with_attribute(face: FaceBox, name: str, code: int) -> FaceBox:
    """A copy of ``face`` with attribute ``name`` set to ``code`` (validated by its enum)."""
    copy = copy_face(face)
    setattr(copy, name, ATTRIBUTES[name](int(code)))
    return copy


def moved(face: FaceBox, dx: float, dy: float) -> FaceBox:
    copy = copy_face(face)
    copy.x += dx
    copy.y += dy
    return copy


def with_box(face: FaceBox, x: float, y: float, w: float, h: float) -> FaceBox:
    copy = copy_face(face)
    copy.x, copy.y, copy.w, copy.h = x, y, w, h
    return copy


def faces_equal(a: Sequence[FaceBox], b: Sequence[FaceBox]) -> bool:
    return len(a) == len(b) and all(face_to_row(x) == face_to_row(y) for x, y in zip(a, b, strict=True))


def iou_xywh(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``x y w h`` boxes (0 when either is empty)."""
    ax2, ay2 = a[0] + a[2], a[1] + a[3]
    bx2, by2 = b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(a[0], b[0])
    ih = min(ay2, by2) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
