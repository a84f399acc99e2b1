"""The accurate mode: scales from the image size, mirrored passes, box voting."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.accurate import AccurateDetector, AccurateOptions, box_vote, choose_scales
from core.detect.registry import create_detector
from core.io.imageio import load_image
from core.paths import SAMPLES_DIR
from core.types import Detection, DetectionResult

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_scales_enlarge_small_images_and_shrink_large_ones():
    assert choose_scales(416, 416) == (1.0, 2.0)
    assert choose_scales(1024, 768) == (1.0, 2.0, 0.5)
    assert choose_scales(1920, 1080) == (1.0, 0.5)  # 2048 / 1920 is no enlargement worth a pass
    assert choose_scales(1600, 1200, max_working_side=2400)[1] == 1.5


def test_box_vote_averages_a_cluster_by_score_and_keeps_apart_faces():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [50, 50, 60, 60]], dtype=np.float64)
    scores = np.array([0.9, 0.3, 0.8])
    merged, merged_scores, _, best = box_vote(boxes, scores, None, vote_iou=0.4)
    assert len(merged) == 2 and best.tolist() == [0, 2]
    assert merged[0] == pytest.approx([0.5, 0, 10.5, 10])  # (0.9*0 + 0.3*2) / 1.2
    assert merged_scores.tolist() == [0.9, 0.8]


class _Mirror:
    """A fake detector finding one face at a fixed spot of whatever image it gets."""

    name, branch_kind, min_score = "fake", "scale_range", 0.1

    def __init__(self):
        self.sizes = []

    def detect(self, image, min_score=None):
        h, w = image.shape[:2]
        self.sizes.append((w, h))
        box = (0.1 * w, 0.2 * h, 0.3 * w, 0.5 * h)  # left of centre: a mirrored pass sees it right
        lms = (
            (0.15 * w, 0.3 * h),
            (0.25 * w, 0.3 * h),
            (0.2 * w, 0.35 * h),
            (0.16 * w, 0.45 * h),
            (0.24 * w, 0.45 * h),
        )
        face = Detection(box, 0.9, "small", lms)
        return DetectionResult([face], {"small": [face], "medium": [], "large": []}, "fake", (w, h))


def test_passes_map_back_to_one_face_in_original_pixels():
    inner = _Mirror()
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    result = AccurateDetector(inner, AccurateOptions(scales=(1.0, 2.0))).detect(image)
    assert inner.sizes == [(200, 100), (200, 100), (400, 200), (400, 200)]
    # the mirrored pass finds the mirror image of the spot: two faces, each found twice
    assert len(result.faces) == 2
    left = min(result.faces, key=lambda f: f.box[0])
    assert left.box == pytest.approx((20, 20, 60, 50))
    assert left.landmarks[0] == pytest.approx((30, 30))  # the left eye stays the left eye


def test_accurate_centerface_finds_at_least_what_one_pass_finds_inside_the_image():
    image = load_image(SAMPLES_DIR / "faceapi_demo_2.jpg")
    fast = create_detector("centerface", device="cpu").detect(image, min_score=0.5)
    accurate = create_detector("centerface", mode="accurate", device="cpu").detect(image, min_score=0.5)
    h, w = image.shape[:2]
    assert len(accurate.faces) >= len(fast.faces) > 0
    for face in accurate.faces:
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        create_detector("centerface", mode="best")
