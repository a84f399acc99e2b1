"""The box a followed frame is analysed in: where the detector's box sat on the landmarks, moved with them."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.tracking import iou_matrix
from core.unlock.follow import MAX_SCALE_CHANGE, track_from_detection


def _face(cx: float, cy: float, size: float) -> np.ndarray:
    """68 points spread over a ``size`` square around ``(cx, cy)`` (a fixed pseudo-random layout)."""
    unit = np.random.default_rng(3).uniform(-0.5, 0.5, (68, 2))
    unit[0], unit[1] = (-0.5, -0.5), (0.5, 0.5)  # the extent is exactly ``size``
    return np.array([cx, cy]) + unit * size


def box_iou(a, b) -> float:
    return float(iou_matrix([a], [b])[0, 0])


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert box_iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0


def test_the_detector_box_is_recovered_on_its_own_landmarks_and_moves_with_them():
    points = _face(300, 200, 100)
    box = (240.0, 130.0, 355.0, 262.0)
    track = track_from_detection(box, points, 0.97)
    assert track is not None and track.score == 0.97
    assert track.box() == pytest.approx(box)
    # shifted and scaled landmarks carry the box along: same offsets in landmark units
    moved = _face(320, 190, 110)
    x1, y1, x2, y2 = track.box(moved)
    assert (x1, y1) == pytest.approx((320 + (240 - 300) * 1.1, 190 + (130 - 200) * 1.1))
    assert (x2 - x1, y2 - y1) == pytest.approx((115 * 1.1, 132 * 1.1))
    assert track.moved_to(moved).box() == pytest.approx((x1, y1, x2, y2))


def test_landmarks_follow_only_a_small_move_at_a_similar_scale():
    track = track_from_detection((240.0, 130.0, 355.0, 262.0), _face(300, 200, 100), 0.9)
    predicted = track.box()
    assert track.follows(predicted, _face(303, 198, 102))
    assert not track.follows(predicted, _face(340, 200, 100))  # a fast move: the box no longer frames it
    assert not track.follows(predicted, _face(300, 200, 100 * MAX_SCALE_CHANGE * 1.05))
    assert not track.follows(predicted, _face(300, 200, 100 / (MAX_SCALE_CHANGE * 1.05)))
    broken = _face(300, 200, 100)
    broken[5] = np.nan
    assert not track.follows(predicted, broken)
    assert not track.follows(predicted, np.zeros((5, 2)))


def test_unusable_landmarks_give_no_track():
    assert track_from_detection((0, 0, 10, 10), np.full((68, 2), np.nan), 0.9) is None
    assert track_from_detection((0, 0, 10, 10), np.zeros((68, 2)), 0.9) is None  # no extent
    assert track_from_detection((0, 0, 10, 10), np.zeros((5, 2)), 0.9) is None
