"""Tracking faces across video frames: stable ids, steadier boxes.

:class:`IouTracker` matches each frame's detections to the live tracks
greedily, best pair first:

1. IoU between the detection and the track's *predicted* box (last box moved by
   the track's velocity over the time since it was seen, so a face keeps its
   id when detection runs at a few fps on a moving face);
2. where no IoU reaches ``iou_threshold``, centre distance (in units of the
   track's box size) below ``max_centre_distance``, ranked below every IoU match.

A matched box is blended with the prediction (``smoothing``: 0 = raw
detection, 0.7 = heavy smoothing), which removes most of the frame-to-frame
jitter of a detector without lagging behind motion. Unmatched detections open
new tracks (ids count up from 1 and are never reused); a track not matched for
``max_misses`` consecutive updates is dropped.

Boxes are ``x1 y1 x2 y2`` pixels (:mod:`core.types`). Pure NumPy, no state
shared between trackers; not thread-safe (one tracker per stream).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.types import Detection


@dataclass(frozen=True)
class Track:
    """A face followed over frames, as of the latest update.

    id: stable identifier (1, 2, ...), never reused within a tracker.
    detection: this frame's face: the smoothed box, with the matched
        detection's score, branch and landmarks (shifted with the box).
    hits: number of updates in which the track was matched.
    misses: consecutive updates without a match (0 for tracks returned by
        :meth:`IouTracker.update`, which only returns tracks matched this frame).
    """

    id: int
    detection: Detection
    hits: int
    misses: int = 0


@dataclass
class _State:
    id: int
    box: np.ndarray  # (4,) smoothed x1 y1 x2 y2
    velocity: np.ndarray  # (4,) pixels per second
    time_s: float
    hits: int
    misses: int


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` ``(N, 4)`` with every box of ``b`` ``(M, 4)`` → ``(N, M)``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


class IouTracker:
    """Greedy IoU (then centre-distance) tracker; see the module docstring.

    iou_threshold: least IoU for an IoU match.
    max_centre_distance: centre distance / sqrt(track box area) below which a
        pair matches when IoU does not (0 disables centre matching).
    max_misses: updates a track survives without a match.
    smoothing: weight of the prediction in the blended box, in ``[0, 1)``.
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_centre_distance: float = 1.0,
        max_misses: int = 5,
        smoothing: float = 0.4,
    ) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.iou_threshold = float(iou_threshold)
        self.max_centre_distance = float(max_centre_distance)
        self.max_misses = int(max_misses)
        self.smoothing = float(smoothing)
        self._tracks: list[_State] = []
        self._next_id = 1
        self._last_time: float | None = None

    def reset(self) -> None:
        """Forget every track (after a seek: the next faces are new); ids keep counting."""
        self._tracks.clear()
        self._last_time = None

    @property
    def live_tracks(self) -> int:
        return len(self._tracks)

    def _predicted(self, time_s: float) -> np.ndarray:
        if not self._tracks:
            return np.zeros((0, 4))
        return np.stack([t.box + t.velocity * max(0.0, time_s - t.time_s) for t in self._tracks])

    def _match(self, predicted: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
        """Greedy (track, detection) pairs, best score first; IoU pairs rank above centre pairs."""
        if len(predicted) == 0 or len(boxes) == 0:
            return []
        iou = iou_matrix(predicted, boxes)
        score = np.where(iou >= self.iou_threshold, 1.0 + iou, 0.0)
        if self.max_centre_distance > 0:
            centre_t = (predicted[:, :2] + predicted[:, 2:]) / 2
            centre_d = (boxes[:, :2] + boxes[:, 2:]) / 2
            size = np.sqrt(np.clip(np.prod(predicted[:, 2:] - predicted[:, :2], axis=1), 1.0, None))
            distance = np.linalg.norm(centre_t[:, None, :] - centre_d[None, :, :], axis=2) / size[:, None]
            centre_score = np.where(
                distance < self.max_centre_distance, 1.0 - distance / self.max_centre_distance, 0
            )
            score = np.where(score > 0, score, centre_score * 0.999)
        pairs: list[tuple[int, int]] = []
        used_t: set[int] = set()
        used_d: set[int] = set()
        for flat in np.argsort(-score, axis=None, kind="stable"):
            t, d = divmod(int(flat), score.shape[1])
            if score[t, d] <= 0:
                break
            if t in used_t or d in used_d:
                continue
            pairs.append((t, d))
            used_t.add(t)
            used_d.add(d)
        return pairs

    def update(self, detections: Sequence[Detection], time_s: float | None = None) -> list[Track]:
        """Match this frame's detections; returns one :class:`Track` per detection, in input order.

        time_s: the frame's timestamp (seconds); ``None`` counts one second per
        update (velocity then is pixels per update).
        """
        if time_s is None:
            time_s = (self._last_time or 0.0) + 1.0
        if self._last_time is not None and time_s < self._last_time:
            self.reset()  # time went backwards: a seek, the old tracks mean nothing here
        self._last_time = time_s
        boxes = np.array([d.box for d in detections], dtype=np.float64).reshape(-1, 4)
        predicted = self._predicted(time_s)
        pairs = self._match(predicted, boxes)
        assigned: dict[int, _State] = {}
        matched_tracks = set()
        for t, d in pairs:
            state = self._tracks[t]
            dt = time_s - state.time_s
            blended = self.smoothing * predicted[t] + (1.0 - self.smoothing) * boxes[d]
            if dt > 0:
                # velocity from the smoothed motion, itself lightly smoothed
                state.velocity = 0.5 * state.velocity + 0.5 * (blended - state.box) / dt
            state.box, state.time_s = blended, time_s
            state.hits += 1
            state.misses = 0
            assigned[d] = state
            matched_tracks.add(t)
        survivors = []
        for index, state in enumerate(self._tracks):
            if index not in matched_tracks:
                state.misses += 1
                if state.misses > self.max_misses:
                    continue
            survivors.append(state)
        self._tracks = survivors
        for d in range(len(boxes)):
            if d not in assigned:
                state = _State(self._next_id, boxes[d].copy(), np.zeros(4), time_s, 1, 0)
                self._next_id += 1
                self._tracks.append(state)
                assigned[d] = state
        return [_track(assigned[i], det) for i, det in enumerate(detections)]


def _track(state: _State, det: Detection) -> Track:
    x1, y1, x2, y2 = (float(v) for v in state.box)
    landmarks = det.landmarks
    if landmarks is not None:
        # move the points with the box (their layout inside the face is the detector's)
        ox1, oy1, ox2, oy2 = det.box
        sx = (x2 - x1) / (ox2 - ox1) if ox2 > ox1 else 1.0
        sy = (y2 - y1) / (oy2 - oy1) if oy2 > oy1 else 1.0
        landmarks = tuple((x1 + (px - ox1) * sx, y1 + (py - oy1) * sy) for px, py in landmarks)
    return Track(state.id, Detection((x1, y1, x2, y2), det.score, det.branch, landmarks), state.hits, 0)
