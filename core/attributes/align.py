"""The CelebA frame: every face the attribute models see is first put into CelebA's aligned layout.

CelebA's ``img_align_celeba`` images are 178x218 with the eyes at fixed
positions; the dev copy is at half size. The attribute models work in the
half-size **frame** (89 wide, 109 high), so that training images, native
CelebA images (halved) and faces found in any photo (warped by a similarity
transform from their 68 landmarks) look alike: same position, scale and
sharpness.

Template points in the frame (x right, y down, pixels, origin top-left): the
mean eye centres and mouth centre that face-api's SSD + 68-point landmarks
find on CelebA 000001-000032 (31 detected; std about 1 px).

:data:`FACE_SQUARE` is face-api's dlib descriptor square on those mean
landmarks: the region the frozen descriptor trunk sees
(:mod:`core.attributes.features`).
"""

from __future__ import annotations

import cv2
import numpy as np

from core.recognize.crops import CropRect

FRAME_WIDTH, FRAME_HEIGHT = 89, 109
#: (x, y) of the left-eye centre, right-eye centre and mouth centre in the frame.
TEMPLATE = np.array([[34.4, 55.6], [53.7, 55.6], [44.1, 76.8]], dtype=np.float64)
#: the descriptor's dlib square on the template (mean over the same 31 faces: x 17.9, y 40.2, side 51.2).
FACE_SQUARE = CropRect(18, 40, 51, 51)

_LEFT_EYE, _RIGHT_EYE, _MOUTH = slice(36, 42), slice(42, 48), slice(48, 68)


def to_frame(image: np.ndarray) -> np.ndarray:
    """An already aligned CelebA image (any size, e.g. 178x218) -> the ``(109, 89, 3)`` uint8 frame."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB (H, W, 3) image, got shape {arr.shape}")
    if arr.shape[:2] == (FRAME_HEIGHT, FRAME_WIDTH):
        return arr
    # INTER_AREA averages the pixels a frame pixel covers (no aliasing when halving 178x218)
    return cv2.resize(arr, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_AREA)


def key_points(landmarks68: np.ndarray) -> np.ndarray:
    """``(68, 2)`` iBUG landmarks -> ``(3, 2)`` left-eye, right-eye and mouth centres."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    return np.stack([pts[_LEFT_EYE].mean(0), pts[_RIGHT_EYE].mean(0), pts[_MOUTH].mean(0)])


def similarity_to_template(points: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping ``(3, 2)`` points onto
    :data:`TEMPLATE`; returns the ``(2, 3)`` affine matrix (Umeyama, no reflection)."""
    src = np.asarray(points, dtype=np.float64)
    dst = TEMPLATE
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s**2).sum() / len(s)
    if var_s <= 1e-12:
        raise ValueError("degenerate key points (all at one place)")
    u, sig, vt = np.linalg.svd(d.T @ s / len(s))
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / var_s
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def align_face(image: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """Warp the face with these 68 landmarks into the ``(109, 89, 3)`` uint8 CelebA frame.

    Large faces are halved with ``pyrDown`` first, so the final bilinear warp
    never shrinks by more than 2x (which would alias where CelebA's frames
    are smooth). ``ValueError`` for non-finite landmarks (an empty crop).
    """
    pts = np.asarray(landmarks68, dtype=np.float64)
    if not np.isfinite(pts).all():
        raise ValueError("landmarks are not finite (the face crop was empty)")
    img = np.ascontiguousarray(np.asarray(image))
    points = key_points(pts)
    matrix = similarity_to_template(points)
    while np.sqrt(abs(np.linalg.det(matrix[:, :2]))) < 0.5 and min(img.shape[:2]) >= 4:
        img = cv2.pyrDown(img)
        points = points / 2.0
        matrix = similarity_to_template(points)
    return cv2.warpAffine(
        img,
        matrix,
        (FRAME_WIDTH, FRAME_HEIGHT),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def face_square(frame: np.ndarray) -> np.ndarray:
    """The :data:`FACE_SQUARE` region ``(51, 51, 3)`` of a frame (a view)."""
    r = FACE_SQUARE
    return frame[r.y : r.y + r.height, r.x : r.x + r.width]
