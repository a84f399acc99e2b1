from __future__ import annotations

import math

import numpy as np

from core.io.imageio import load_image
from core.paths import REPO_ROOT
from core.recognize.analyze import FaceAnalyzer
from core.types import Detection


def test_analysis_on_a_real_face_gives_plausible_landmarks_and_age():
    image = load_image(REPO_ROOT / "tests" / "data" / "faceapi_demo" / "sample1.jpg")
    # the first face of sample1 (face-api's SSD box, rounded)
    face = Detection((414.1, 354.8, 591.4, 594.5), 0.99, "large")
    [result] = FaceAnalyzer().analyze(image, [face])
    assert result.landmarks68.shape == (68, 2)
    x1, y1, x2, y2 = face.box
    inside = (result.landmarks68[:, 0] > x1 - 20) & (result.landmarks68[:, 0] < x2 + 20)
    inside &= (result.landmarks68[:, 1] > y1 - 20) & (result.landmarks68[:, 1] < y2 + 20)
    assert inside.all()
    assert 10 < result.age_gender.age < 70
    assert result.age_gender.gender in ("male", "female") and 0.5 <= result.age_gender.gender_probability <= 1
    assert set(result.to_json()) == {"landmarks68", "age", "gender", "gender_probability"}


def test_no_faces_and_face_outside_the_image():
    analyzer = FaceAnalyzer()
    image = np.zeros((50, 60, 3), np.uint8)
    assert analyzer.analyze(image, []) == []
    [outside] = analyzer.analyze(image, [Detection((200, 200, 240, 240), 0.9, "medium")])
    assert np.isnan(outside.landmarks68).all() and math.isnan(outside.age_gender.age)
