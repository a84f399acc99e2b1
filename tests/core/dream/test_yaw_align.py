"""Yaw from landmarks (synthetic projections of the mean face) and alignment geometry."""

from __future__ import annotations

import numpy as np
import pytest

from core.recognize.align import (
    ARCFACE_112,
    align_5pt,
    faceapi_chip,
    landmarks68_to_5,
    similarity_transform,
    transform_points,
)
from core.recognize.face_model3d import MEAN_FACE_5, MEAN_FACE_68
from core.recognize.pose import estimate_yaw, fuse, yaw_from_inner68
from core.recognize.yaw import (
    YawEstimate,
    angles_from_rotation,
    project,
    rotation_from_angles,
    yaw_from_landmarks68,
    yaw_from_points5,
)


def _face(yaw, pitch=0.0, roll=0.0, model=MEAN_FACE_68, scale=1.0, shift=(300.0, 200.0)):
    pts = project(model, rotation_from_angles(yaw, pitch, roll), distance=1500.0, focal=1500.0 * 0.8)
    return pts * scale + np.asarray(shift)


@pytest.mark.parametrize("angles", [(0, 0, 0), (25, 5, -3), (-40, -10, 8), (70, 0, 0), (-85, 5, 10)])
def test_rotation_angles_round_trip(angles):
    assert np.allclose(angles_from_rotation(rotation_from_angles(*angles)), angles, atol=1e-9)


@pytest.mark.parametrize("yaw", [0.0, 15.0, -30.0, 55.0, -75.0, 88.0])
def test_yaw_of_a_projected_mean_face(yaw):
    est = yaw_from_landmarks68(_face(yaw, pitch=4.0, roll=-6.0))
    assert est.yaw == pytest.approx(yaw, abs=2.0)
    assert est.roll == pytest.approx(-6.0, abs=2.0) and est.confidence > 0.8
    assert yaw_from_inner68(_face(yaw)).yaw == pytest.approx(yaw, abs=2.0)
    assert yaw_from_points5(_face(yaw, model=MEAN_FACE_5)).yaw == pytest.approx(yaw, abs=4.0)


def test_positive_yaw_points_the_nose_to_the_image_right():
    pts = _face(40.0)
    assert pts[30, 0] > pts[27:36].mean(0)[0] - 1 and pts[30, 0] > pts[36:48, 0].mean()


def test_yaw_is_scale_and_position_invariant():
    a = yaw_from_landmarks68(_face(35.0, scale=0.3, shift=(40, 50))).yaw
    b = yaw_from_landmarks68(_face(35.0, scale=3.0, shift=(900, 700))).yaw
    assert a == pytest.approx(b, abs=0.5)


def test_bad_landmarks_give_no_estimate_or_low_confidence():
    assert np.isnan(yaw_from_landmarks68(np.full((68, 2), np.nan)).yaw)
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 100, size=(68, 2))
    assert yaw_from_landmarks68(noise).confidence < 0.3


def test_fusion_keeps_the_larger_yaw_and_falls_back():
    a, b = (
        YawEstimate(30.0, confidence=0.6, source="landmarks68"),
        YawEstimate(60.0, confidence=0.4, source="points5"),
    )
    fused = fuse(a, b)
    assert fused.yaw == 60.0 and fused.confidence == 0.4 and fused.source == "points5>landmarks68"
    assert fuse(a, YawEstimate(-60.0, confidence=0.4)).confidence == 0.2  # disagreement on the side
    nan = YawEstimate(float("nan"), confidence=0.0, source="none")
    assert fuse(a, nan) is a
    assert np.isnan(fuse(nan, nan).yaw)
    est = estimate_yaw(_face(50.0), np.full((5, 2), np.nan))  # no detector points: 68 only
    assert est.yaw == pytest.approx(50.0, abs=2.5)


def test_similarity_transform_recovers_a_known_similarity():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, size=(5, 2))
    angle, scale, t = np.radians(20.0), 1.7, np.array([12.0, -4.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rot.T + t
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)
    np.testing.assert_allclose(transform_points(m, src), dst, atol=1e-9)
    mirrored = src * np.array([-1.0, 1.0])  # a reflection cannot be fitted exactly by a proper similarity
    assert np.linalg.det(similarity_transform(src, mirrored)[:, :2]) > 0


def test_align_5pt_puts_the_points_on_the_template():
    image = np.zeros((300, 400, 3), np.uint8)
    image[100:200, 150:250] = 200
    m_true = np.array([[0.5, -0.1, 40.0], [0.1, 0.5, 20.0]])
    inv = np.linalg.inv(np.vstack([m_true, [0, 0, 1]]))[:2]
    points5 = transform_points(inv, ARCFACE_112)  # where the template points are in the image
    aligned = align_5pt(image, points5, size=112)
    assert aligned.chip.shape == (112, 112, 3) and aligned.chip.dtype == np.uint8
    np.testing.assert_allclose(aligned.points, ARCFACE_112, atol=1e-6)
    big = align_5pt(image, points5, size=224)
    np.testing.assert_allclose(big.points, ARCFACE_112 * 2, atol=1e-6)


def test_landmarks68_to_5():
    pts = MEAN_FACE_68[:, :2]
    five = landmarks68_to_5(pts)
    np.testing.assert_allclose(five, MEAN_FACE_5[:, :2])


def test_faceapi_chip_maps_the_descriptor_crop():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 255, size=(240, 200, 3), dtype=np.uint8)
    landmarks = _face(0.0, scale=0.8, shift=(100, 120))
    aligned = faceapi_chip(image, landmarks)
    assert aligned.chip.shape == (150, 150, 3)
    r = aligned.rect
    side = max(r.width, r.height)
    corner = transform_points(aligned.matrix, [[r.x, r.y]])[0]
    np.testing.assert_allclose(
        corner, [(side - r.width) // 2 * 150 / side, (side - r.height) // 2 * 150 / side]
    )
    # the chip's pixels are the crop's: its top-left pixel is the crop's top-left pixel
    assert np.abs(aligned.chip[0, 0].astype(int) - image[r.y, r.x].astype(int)).max() <= 1
    inside = (aligned.points >= 0) & (aligned.points <= 150)
    assert inside.all()
    empty = faceapi_chip(image, np.full((68, 2), np.nan))
    assert empty.chip.shape == (150, 150, 3) and not empty.chip.any()
