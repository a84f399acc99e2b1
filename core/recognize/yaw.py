"""Head yaw (degrees) from facial landmarks with ``cv2.solvePnP`` against a generic 3-D face.

Conventions: ``yaw`` is the rotation about the image's vertical axis, 0 for a
face looking at the camera, positive when the nose points to the image's
right; ``pitch`` positive when the face looks down, ``roll`` positive for a
clockwise tilt in the image. Angles are in degrees, ``|yaw| <= 180``.

The camera is virtual: principal point at the landmarks' centroid and a focal
length of :data:`FOCAL_FACES` face sizes, i.e. close to orthographic, so the
result does not depend on where the face sits in the picture or on the
(unknown) lens.

``confidence`` (0..1) falls with the RMS reprojection error relative to the
face size: a landmark set that no rotation of the mean face explains (a
failed fit, a shape the net "frontalised") gets a low value. Which estimate
the verification pipeline trusts, and the fallbacks where face-api's 68-point
net fails on full profiles, live in :mod:`core.recognize.pose`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.recognize.face_model3d import MEAN_FACE_5, MEAN_FACE_68

#: Virtual focal length in face sizes (≈ a face 5 face-widths from the camera).
FOCAL_FACES = 5.0
#: Relative RMS reprojection error at which confidence is exp(-1).
ERROR_SCALE = 0.05


@dataclass(frozen=True)
class YawEstimate:
    """A head-pose estimate.

    yaw, pitch, roll: degrees (see module docstring); NaN when no estimate.
    confidence: 0..1 (0 when no estimate).
    source: what produced it (``"landmarks68"``, ``"points5"``, ``"profile-classifier"`` ...).
    error: RMS reprojection error divided by the face size (NaN when not a PnP fit).
    """

    yaw: float
    pitch: float = math.nan
    roll: float = math.nan
    confidence: float = 0.0
    source: str = "landmarks68"
    error: float = math.nan

    @property
    def abs_yaw(self) -> float:
        return abs(self.yaw)

    def to_json(self) -> dict:
        def r(v: float) -> float | None:
            return None if not math.isfinite(v) else round(float(v), 2)

        return {
            "yaw": r(self.yaw),
            "pitch": r(self.pitch),
            "roll": r(self.roll),
            "confidence": round(float(self.confidence), 3),
            "source": self.source,
        }


NO_ESTIMATE = YawEstimate(math.nan, confidence=0.0, source="none")


def _ry(yaw: float) -> np.ndarray:
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _rx(pitch: float) -> np.ndarray:
    c, s = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rz(roll: float) -> np.ndarray:
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_from_angles(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Model→camera rotation ``R = Ry(yaw) · Rx(pitch) · Rz(roll)`` (roll in the face plane first)."""
    return _ry(yaw) @ _rx(pitch) @ _rz(roll)


def angles_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` degrees of a model→camera rotation; inverse of :func:`rotation_from_angles`.

    The face's forward direction is the model's ``-z`` (towards the camera)
    mapped into the camera frame, ``f = -R[:, 2]``: yaw is its left/right
    angle, pitch its up/down angle, and roll what remains about that axis.
    """
    rot = np.asarray(rotation, dtype=np.float64)
    fx, fy, fz = -rot[:, 2]
    yaw = math.degrees(math.atan2(fx, -fz))
    pitch = math.degrees(math.atan2(fy, math.hypot(fx, fz)))
    rest = _rx(pitch).T @ _ry(yaw).T @ rot
    roll = math.degrees(math.atan2(rest[1, 0], rest[0, 0]))
    return yaw, pitch, roll


def project(model: np.ndarray, rotation: np.ndarray, distance: float, focal: float) -> np.ndarray:
    """Pinhole projection of ``(N, 3)`` model points rotated by ``rotation`` at ``distance`` on the axis."""
    cam = np.asarray(model, dtype=np.float64) @ np.asarray(rotation).T + np.array([0.0, 0.0, distance])
    return focal * cam[:, :2] / cam[:, 2:3]


def _face_size(points: np.ndarray) -> float:
    extent = points.max(axis=0) - points.min(axis=0)
    return float(max(extent.max(), 1e-6))


def solve_pose(points: np.ndarray, model: np.ndarray, source: str) -> YawEstimate:
    """PnP of ``(N, 2)`` image points against ``(N, 3)`` model points (N ≥ 4; N ≥ 6 for no guess)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) != len(model) or not np.isfinite(pts).all():
        return NO_ESTIMATE
    size = _face_size(pts)
    if size < 2.0:
        return NO_ESTIMATE
    centre = pts.mean(axis=0)
    model_size = _face_size(model[:, :2])
    focal = FOCAL_FACES * size
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]], dtype=np.float64)
    distance = FOCAL_FACES * model_size
    best: tuple[float, np.ndarray] | None = None
    # Start from a frontal and from both half-profile guesses: the iterative solver is local,
    # and a profile fitted from a frontal start can settle in the mirrored minimum.
    for guess_yaw in (0.0, 50.0, -50.0):
        rvec0, _ = cv2.Rodrigues(rotation_from_angles(guess_yaw))
        tvec0 = np.array([[0.0], [0.0], [distance]])
        ok, rvec, tvec = cv2.solvePnP(
            model.astype(np.float64),
            pts,
            camera,
            None,
            rvec=rvec0.copy(),
            tvec=tvec0.copy(),
            useExtrinsicGuess=True,
            flags=cv2.SOLVEPNP_ITERATIVE,
        )
        if not ok or tvec[2, 0] <= 0:
            continue
        projected, _ = cv2.projectPoints(model.astype(np.float64), rvec, tvec, camera, None)
        err = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - pts) ** 2, axis=1)))) / size
        if best is None or err < best[0] - 1e-9:
            best = (err, rvec)
    if best is None:
        return NO_ESTIMATE
    err, rvec = best
    rotation, _ = cv2.Rodrigues(rvec)
    yaw, pitch, roll = angles_from_rotation(rotation)
    confidence = math.exp(-err / ERROR_SCALE)
    return YawEstimate(yaw, pitch, roll, confidence, source, err)


def yaw_from_landmarks68(landmarks68: np.ndarray) -> YawEstimate:
    """Pose from face-api's ``(68, 2)`` landmarks (image pixels)."""
    return solve_pose(np.asarray(landmarks68, dtype=np.float64).reshape(68, 2), MEAN_FACE_68, "landmarks68")


def yaw_from_points5(points5: np.ndarray) -> YawEstimate:
    """Pose from 5 detector points (eyes, nose, mouth corners); coarser than 68 points."""
    return solve_pose(np.asarray(points5, dtype=np.float64).reshape(5, 2), MEAN_FACE_5, "points5")
