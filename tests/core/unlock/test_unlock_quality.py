"""Quality gates on synthetic images and detections (no models): counts, size, yaw, blur, light."""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.types import Detection
from core.unlock.quality import ENROL_GATES, VERIFY_GATES, assess, count_and_size, sharpness_and_brightness


def det(x1, y1, x2, y2, score=0.9) -> Detection:
    return Detection((float(x1), float(y1), float(x2), float(y2)), score, "large", None)


def textured(h=480, w=640, level=128.0, seed=0) -> np.ndarray:
    """Fine random texture (a sharp 'face') around a grey level."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 30, (h // 4, w // 4, 3))
    img = cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST) + level
    return np.clip(img, 0, 255).astype(np.uint8)


FACE = det(220, 120, 380, 320)  # 200 px high


def test_counts_and_size():
    assert count_and_size([], ENROL_GATES).failed == ("no_face",)
    q = count_and_size([FACE], ENROL_GATES)
    assert q.ok and q.face_count == 1 and q.face_px == 200 and q.box == FACE.box
    # a small face in the background is ignored, a second similar face is not
    assert count_and_size([FACE, det(10, 10, 60, 70)], ENROL_GATES).ok
    q = count_and_size([det(0, 0, 150, 190), FACE], ENROL_GATES)
    assert not q.ok and q.failed == ("faces",) and q.box == FACE.box  # the largest face is the main one
    assert "2 faces" in q.reasons[0]
    assert count_and_size([det(0, 0, 150, 190), FACE], VERIFY_GATES).ok  # verification scores the largest
    q = count_and_size([det(0, 0, 70, 90)], ENROL_GATES)
    assert q.failed == ("size",) and "90 px, need 100 px" in q.reasons[0]


def test_yaw_blur_and_light():
    img = textured()
    q = assess(img, [FACE], 5.0, ENROL_GATES)
    assert q.ok and q.reasons == () and q.sharpness > ENROL_GATES.min_sharpness
    assert 100 < q.brightness < 160
    q = assess(img, [FACE], -31.0, ENROL_GATES)
    assert q.failed == ("yaw",) and "31° to the left" in q.reasons[0]
    assert assess(img, [FACE], math.nan, ENROL_GATES).failed == ("yaw",)
    blurred = cv2.GaussianBlur(img, (0, 0), 6.0)
    q = assess(blurred, [FACE], 0.0, ENROL_GATES)
    assert q.failed == ("blur",) and "blurred" in q.reasons[0]
    dark = (img * 0.25).astype(np.uint8)
    q = assess(dark, [FACE], 0.0, ENROL_GATES)
    assert "dark" in q.failed and "too dark" in q.reasons[q.failed.index("dark")]
    bright = np.full_like(img, 250)
    assert "bright" in assess(bright, [FACE], 0.0, ENROL_GATES).failed
    # several failures give several reasons
    q = assess(cv2.GaussianBlur(dark, (0, 0), 6.0), [det(220, 120, 300, 200)], 40.0, ENROL_GATES)
    assert set(q.failed) == {"size", "yaw", "blur", "dark"} and len(q.reasons) == 4


def test_sharpness_does_not_depend_on_face_size():
    img = textured(seed=3)
    big = sharpness_and_brightness(img, (100, 50, 500, 450))[0]
    small_img = cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA)
    small = sharpness_and_brightness(small_img, (50, 25, 250, 225))[0]
    assert 0.5 < small / big < 2.0
    assert math.isnan(sharpness_and_brightness(img, (700, 500, 800, 600))[0])  # outside the image


def test_to_json():
    q = assess(textured(), [FACE], 3.0, ENROL_GATES)
    data = q.to_json()
    assert data["ok"] is True and data["box"] == [220.0, 120.0, 380.0, 320.0] and data["yaw"] == 3.0
