"""Following a face by its landmarks: the next frame's box from this frame's 68 points, no detector.

On a webcam a verified face moves a few pixels per frame. The detector (even
on a region around the last face) then costs as much as the landmarks
themselves while telling nothing new, so tracked frames take their box from
the previous frame's landmarks instead, as MediaPipe's face mesh does with
its region of interest. The box must be the one the landmark net expects, the
detector's: on a detected frame :func:`track_from_detection` records where
the detector's box sat relative to the landmarks (its edges in units of the
landmarks' extent around their centre) and every followed frame places the
box the same way on the latest landmarks.

A followed frame is kept only when the new landmarks agree with the box they
were predicted in (:meth:`LandmarkTrack.follows`): a face that moved or
turned away fast gives points that the box no longer frames, and the caller
goes back to the detector. Boxes are ``(x1, y1, x2, y2)`` in frame pixels;
landmarks ``(68, 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.detect.tracking import iou_matrix

Box = tuple[float, float, float, float]

#: Least IoU between the box a followed frame was analysed in and the box its landmarks give: below
#: it the face has moved by more than about a sixth of its width, and the detector looks again.
MIN_IOU = 0.7
#: Largest change of the landmarks' extent between two followed frames (ratio either way).
MAX_SCALE_CHANGE = 1.2


def _frame(points68: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``(2,)`` and extent (longer side of the points' bounding box) of ``(68, 2)`` points."""
    pts = np.asarray(points68, dtype=np.float64).reshape(68, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, float(max(hi[0] - lo[0], hi[1] - lo[1]))


@dataclass(frozen=True)
class LandmarkTrack:
    """The last landmarks of a face and where the detector's box sits on them.

    points68: ``(68, 2)`` landmarks of the last analysed frame (frame pixels).
    offsets: the detector box's ``(x1, y1, x2, y2)`` minus the landmarks' centre ``(cx, cy, cx, cy)``,
        over the landmarks' extent (fixed at the last detected frame).
    score: the detector's score at that frame (followed frames report it).
    """

    points68: np.ndarray
    offsets: tuple[float, float, float, float]
    score: float

    def box(self, points68: np.ndarray | None = None) -> Box:
        """The detector-like box on ``points68`` (default: the track's own landmarks)."""
        centre, extent = _frame(self.points68 if points68 is None else points68)
        cx, cy = float(centre[0]), float(centre[1])
        o = self.offsets
        return (cx + o[0] * extent, cy + o[1] * extent, cx + o[2] * extent, cy + o[3] * extent)

    def follows(self, predicted: Box, points68: np.ndarray) -> bool:
        """Whether ``points68``, found in the ``predicted`` box, still frame that face (see module doc)."""
        pts = np.asarray(points68, dtype=np.float64)
        if pts.shape != (68, 2) or not np.isfinite(pts).all():
            return False
        _, before = _frame(self.points68)
        _, now = _frame(pts)
        if before <= 0 or now <= 0 or not 1 / MAX_SCALE_CHANGE <= now / before <= MAX_SCALE_CHANGE:
            return False
        return float(iou_matrix([predicted], [self.box(pts)])[0, 0]) >= MIN_IOU

    def moved_to(self, points68: np.ndarray) -> LandmarkTrack:
        """The same track one frame later."""
        return LandmarkTrack(np.asarray(points68, dtype=np.float64).reshape(68, 2), self.offsets, self.score)


def track_from_detection(box: Box, points68: np.ndarray, score: float) -> LandmarkTrack | None:
    """A track from a detector box and the landmarks found in it (``None`` for unusable points)."""
    pts = np.asarray(points68, dtype=np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        return None
    centre, extent = _frame(pts)
    if extent <= 1.0:
        return None
    cx, cy = float(centre[0]), float(centre[1])
    offsets = ((box[0] - cx) / extent, (box[1] - cy) / extent, (box[2] - cx) / extent, (box[3] - cy) / extent)
    return LandmarkTrack(pts.copy(), offsets, float(score))
