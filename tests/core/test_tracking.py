"""IoU / centre tracker: stable ids, new faces, drop after misses, reset on seek, steadier boxes."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.tracking import IouTracker, iou_matrix
from core.types import Detection


def _det(x, y, size=40.0, score=0.9):
    return Detection((x, y, x + size, y + size), score, "medium", ((x + 10, y + 10), (x + 30, y + 10)))


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    assert iou_matrix(a, b) == pytest.approx(np.array([[50 / 150, 0], [0, 0]]))


def test_two_faces_keep_their_ids_while_moving_and_a_newcomer_gets_a_new_one():
    tracker = IouTracker()
    ids = []
    for step in range(10):
        faces = [_det(10 + 6 * step, 50), _det(300 - 6 * step, 60)]
        if step >= 5:
            faces.append(_det(150, 200))
        # detector order changes from frame to frame: ids must follow the faces, not the order
        if step % 2:
            faces.reverse()
        tracks = tracker.update(faces, time_s=step * 0.2)
        by_x = {round(t.detection.box[1]): t.id for t in tracks}
        ids.append(by_x)
    assert all(i[50] == 1 and i[60] == 2 for i in ids)
    assert all(i[200] == 3 for i in ids[5:])


def test_fast_motion_between_slow_detections_matches_by_prediction_or_centre():
    tracker = IouTracker(smoothing=0.0)
    seen = [tracker.update([_det(10 + 35 * k, 50)], time_s=k * 0.5)[0].id for k in range(8)]
    assert seen == [1] * 8  # 35 px jumps on a 40 px face: IoU alone would fail after the first


def test_track_dropped_after_max_misses_then_new_id():
    tracker = IouTracker(max_misses=2)
    assert tracker.update([_det(10, 10)], 0.0)[0].id == 1
    for k in range(1, 3):
        assert tracker.update([], k * 0.1) == []
    assert tracker.live_tracks == 1
    assert tracker.update([_det(10, 10)], 0.3)[0].id == 1  # back within max_misses
    for k in range(4, 8):
        tracker.update([], k * 0.1)
    assert tracker.live_tracks == 0
    assert tracker.update([_det(10, 10)], 0.8)[0].id == 2


def test_time_going_backwards_resets_tracks():
    tracker = IouTracker()
    tracker.update([_det(10, 10)], 5.0)
    assert tracker.update([_det(10, 10)], 1.0)[0].id == 2  # a seek: ids are never reused


def test_smoothing_reduces_jitter_and_moves_landmarks_with_the_box():
    rng = np.random.default_rng(0)
    raw, smooth = [], []
    tracker = IouTracker(smoothing=0.6)
    for k in range(40):
        x = 100 + rng.normal(0, 3)
        track = tracker.update([_det(x, 100)], time_s=k * 0.04)[0]
        raw.append(x)
        smooth.append(track.detection.box[0])
        lx, ly = track.detection.landmarks[0]
        assert lx == pytest.approx(track.detection.box[0] + 10) and ly == pytest.approx(
            track.detection.box[1] + 10
        )
    assert np.std(np.diff(smooth[5:])) < 0.7 * np.std(np.diff(raw[5:]))
    with pytest.raises(ValueError):
        IouTracker(smoothing=1.0)
