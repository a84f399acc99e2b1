"""Model-assisted pre-labelling: detector output turned into suggested faces.

A :class:`Suggestion` is a detection the annotator has not accepted or
rejected yet. Detections that already overlap a labelled face (IoU ≥ 0.5 by
default) are not suggested: pre-labelling proposes the faces that are missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.annotate.faces import iou_xywh
from core.detect.protocol import Detector
from core.io.imageio import ImageLoadError, load_image
from core.scale_ranges import scale_range_of
from core.types import DetectionResult
from core.wider.labels import FaceBox

log = logging.getLogger(__name__)

DUPLICATE_IOU = 0.5


@dataclass(frozen=True)
class Suggestion:
    """A proposed face: ``box`` is ``x1 y1 x2 y2`` in image pixels; ``branch`` the detector's
    branch (or the ScaleFace scale range of its height when the detector has none)."""

    box: tuple[float, float, float, float]
    score: float
    branch: str

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.box
        return (x1, y1, x2 - x1, y2 - y1)

    def to_face(self) -> FaceBox:
        """A face with default attributes, snapped to whole pixels as WIDER labels are."""
        x1, y1, x2, y2 = (round(v) for v in self.box)
        return FaceBox(float(x1), float(y1), float(max(1, x2 - x1)), float(max(1, y2 - y1)))


def suggestions_from_result(
    result: DetectionResult,
    existing: Sequence[FaceBox],
    min_score: float = 0.0,
    duplicate_iou: float = DUPLICATE_IOU,
) -> list[Suggestion]:
    """Detections at or above ``min_score`` that overlap no labelled face, best first."""
    labelled = [(f.x, f.y, f.w, f.h) for f in existing]
    out: list[Suggestion] = []
    for face in sorted(result.faces, key=lambda d: -d.score):
        if face.score < min_score:
            continue
        x1, y1, x2, y2 = (float(v) for v in face.box)
        xywh = (x1, y1, x2 - x1, y2 - y1)
        if any(iou_xywh(xywh, other) >= duplicate_iou for other in labelled):
            continue
        branch = face.branch or scale_range_of(y2 - y1)
        out.append(Suggestion((x1, y1, x2, y2), float(face.score), branch))
    return out


def detect_many(
    detector: Detector, items: Iterable[tuple[int, str | os.PathLike]], min_score: float
) -> Iterator[tuple[int, DetectionResult | None, str | None]]:
    """Run ``detector`` over ``(index, image path)`` pairs, yielding ``(index, result, error)``.

    An unreadable image yields ``(index, None, reason)`` and the run goes on.
    Written as a generator so a worker can report progress and cancel between images.
    """
    for index, path in items:
        try:
            image = load_image(Path(path))
        except ImageLoadError as exc:
            log.warning("pre-label: %s", exc)
            yield index, None, exc.reason
            continue
        yield index, detector.detect(image, min_score=min_score), None
