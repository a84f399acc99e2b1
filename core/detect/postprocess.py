"""Post-processing shared by every detector: NMS and building a DetectionResult.

One NMS for the whole project (:func:`core.models.box_ops.nms`, re-exported here), one place that turns
arrays into :class:`~core.types.Detection` objects and splits them by branch.
"""

from __future__ import annotations

import numpy as np

from core.models.box_ops import nms
from core.scale_ranges import BRANCH_NAMES, scale_range_of
from core.types import Detection, DetectionResult

__all__ = ["build_result", "nms"]


def build_result(
    boxes: np.ndarray,
    scores: np.ndarray,
    *,
    model: str,
    image_size: tuple[int, int],
    landmarks: np.ndarray | None = None,
    branches: list[str] | None = None,
    branch_kind: str = "scale_range",
    branch_names: tuple[str, ...] = BRANCH_NAMES,
    timings_ms: dict[str, float] | None = None,
) -> DetectionResult:
    """Turn detector arrays into a :class:`DetectionResult`.

    boxes: ``(N, 4)`` x1 y1 x2 y2 in original-image pixels.
    scores: ``(N,)``.
    landmarks: ``(N, K, 2)`` or ``None``.
    branches: the branch that produced each box; when ``None`` the scale range
        of the box height is used (single-head detectors).
    Faces come back sorted by descending score; every name in
    ``branch_names`` is a key of ``result.branches``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    faces: list[Detection] = []
    per_branch: dict[str, list[Detection]] = {name: [] for name in branch_names}
    for i in order:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        branch = branches[i] if branches is not None else scale_range_of(y2 - y1)
        points = None
        if landmarks is not None:
            points = tuple((float(x), float(y)) for x, y in np.asarray(landmarks[i]).reshape(-1, 2))
        det = Detection((x1, y1, x2, y2), float(scores[i]), branch, points)
        faces.append(det)
        per_branch.setdefault(branch, []).append(det)
    return DetectionResult(faces, per_branch, model, image_size, branch_kind, dict(timings_ms or {}))
