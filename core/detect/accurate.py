"""The accurate mode of any detector: several scales, a mirrored pass, box voting.

Annotators pre-labelling a split want every small face and can wait; a live
view cannot. :class:`AccurateDetector` wraps any detector of the registry and
runs it on the image resized by each factor of :func:`choose_scales` (small
images are enlarged so their tiny faces reach a workable size; large ones are
also seen shrunk, for faces bigger than the detector's receptive field), each
also mirrored. The passes' boxes, mapped back to original pixels, are merged
by *box voting* (Gidaris & Komodakis 2015): greedy by score, every box
overlapping the kept one by ``vote_iou`` or more joins its cluster, and the
output box is the score-weighted mean of the cluster's boxes with the best
score. Landmarks vote the same way, mirrored back. A face's group is its
best-scoring member's.

The detector's own working-side cap must not undo the enlargement: the
registry builds the wrapped detector with its cap raised to
:data:`MAX_WORKING_SIDE` (``DetectorSpec.create(mode="accurate")``). A
detector with a fixed input size (SSD, tiny) gains nothing from resizing, so
it gets the mirrored pass only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from core.detect.postprocess import build_result
from core.detect.tracking import iou_matrix
from core.models.box_ops import nms
from core.types import DetectionResult

VOTE_IOU = 0.4
# the enlarged image's longer side stays under this (memory and time grow with its square)
MAX_WORKING_SIDE = 2048


@dataclass(frozen=True)
class AccurateOptions:
    """scales: factors to run at (``()``: :func:`choose_scales`); flip: add mirrored passes."""

    scales: tuple[float, ...] = ()
    flip: bool = True
    vote_iou: float = VOTE_IOU
    max_working_side: int = MAX_WORKING_SIDE


def choose_scales(width: int, height: int, max_working_side: int = MAX_WORKING_SIDE) -> tuple[float, ...]:
    """Factors for a ``width × height`` image: 1, an enlargement up to ×2 within
    ``max_working_side``, and ×0.5 for images large enough that big faces need it."""
    longer = max(width, height)
    scales = [1.0]
    up = min(2.0, max_working_side / longer)
    if up >= 1.25:
        scales.append(round(up, 3))
    if longer >= 800:
        scales.append(0.5)
    return tuple(scales)


def box_vote(
    boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray | None, vote_iou: float = VOTE_IOU
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Merge overlapping boxes ``(N, 4)``: returns boxes, scores, landmarks and, per output, the
    index of its best-scoring member. Kept boxes are those NMS keeps; each is replaced by the
    score-weighted mean of every box overlapping it by ``vote_iou`` or more."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4), scores.reshape(0), landmarks, np.zeros(0, dtype=np.int64)
    keep = nms(boxes, scores, vote_iou)
    out_boxes, out_lms = [], []
    for k in keep:
        members = iou_matrix(boxes[k : k + 1], boxes)[0] >= vote_iou
        weights = scores[members][:, None]
        out_boxes.append((boxes[members] * weights).sum(0) / weights.sum())
        if landmarks is not None:
            out_lms.append((landmarks[members] * weights[:, :, None]).sum(0) / weights.sum())
    lms = np.stack(out_lms) if landmarks is not None else None
    return np.stack(out_boxes), scores[keep], lms, np.asarray(keep, dtype=np.int64)


class AccurateDetector:
    """``inner`` run at several scales and mirrored, merged by box voting (module docstring)."""

    def __init__(self, inner, options: AccurateOptions | None = None) -> None:
        self.inner = inner
        self.options = options or AccurateOptions()
        self.name = inner.name
        self.branch_kind = inner.branch_kind
        self.min_score = inner.min_score

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        start = time.perf_counter()
        h, w = image.shape[:2]
        opts = self.options
        scales = opts.scales or choose_scales(w, h, opts.max_working_side)
        boxes, scores, lms, groups = [], [], [], []
        names = None
        for scale in scales:
            scaled = image
            if scale != 1.0:
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                scaled = cv2.resize(
                    image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
                )
            sx, sy = scaled.shape[1] / w, scaled.shape[0] / h
            for mirrored in (False, True) if opts.flip else (False,):
                source = np.ascontiguousarray(scaled[:, ::-1]) if mirrored else scaled
                result = self.inner.detect(source, min_score=min_score)
                names = names or tuple(result.branches)
                for face in result.faces:
                    x1, y1, x2, y2 = face.box
                    if mirrored:
                        x1, x2 = scaled.shape[1] - x2, scaled.shape[1] - x1
                    boxes.append([x1 / sx, y1 / sy, x2 / sx, y2 / sy])
                    scores.append(face.score)
                    groups.append(face.branch)
                    lms.append(self._landmarks(face.landmarks, mirrored, scaled.shape[1], sx, sy))
        with_lms = bool(lms) and all(p is not None for p in lms) and len({len(p) for p in lms}) == 1
        merged, merged_scores, merged_lms, best = box_vote(
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            np.asarray(scores, dtype=np.float64),
            np.stack(lms) if with_lms else None,
            opts.vote_iou,
        )
        merged[:, 0::2] = merged[:, 0::2].clip(0, w)  # a mirrored or enlarged pass may overhang
        merged[:, 1::2] = merged[:, 1::2].clip(0, h)
        result = build_result(
            merged,
            merged_scores,
            model=self.name,
            image_size=(w, h),
            landmarks=merged_lms,
            branches=[groups[i] for i in best] if self.branch_kind == "branch" else None,
            branch_kind=self.branch_kind,
            **({"branch_names": names} if names else {}),
        )
        result.timings_ms = {"accurate": (time.perf_counter() - start) * 1000}
        return result

    @staticmethod
    def _landmarks(points, mirrored: bool, width: int, sx: float, sy: float) -> np.ndarray | None:
        if points is None:
            return None
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2).copy()
        if mirrored:
            pts[:, 0] = width - pts[:, 0]
            if len(pts) == 5:  # left and right swap in a mirror: eyes and mouth corners
                pts = pts[[1, 0, 2, 4, 3]]
        return pts / [sx, sy]
