"""Face alignment: face-api's descriptor chip, and a 5-point similarity warp for other stems.

Two conventions live here:

* :func:`faceapi_chip` — what face-api's descriptor net sees: the dlib
  eye/mouth square (:func:`core.recognize.crops.descriptor_crop`, *no*
  rotation), zero-padded to a square with the odd pixel bottom/right and
  resized to 150 with the legacy TF bilinear kernel. The landmarks are mapped
  into the chip so a viewer can draw them on it.
* :func:`align_5pt` — the similarity transform (rotation, uniform scale,
  translation; Umeyama's least squares) taking 5 points (eyes, nose tip,
  mouth corners, viewer's order) onto a template, then ``cv2.warpAffine``.
  :data:`ARCFACE_112` is the 112×112 template of InsightFace-style stems.

Coordinates: image pixels, origin top-left, ``(x, y)``; a 2×3 matrix ``M``
maps image points to chip points as ``M @ [x, y, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from core.models.tf_ops import pad_to_square, resize_bilinear_legacy
from core.recognize.crops import CropRect, crop_image, descriptor_crop

#: InsightFace/ArcFace 5-point template for a 112×112 chip (left eye, right eye, nose, mouth corners).
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

FACEAPI_CHIP_SIZE = 150


@dataclass(frozen=True)
class AlignedFace:
    """An aligned chip and how it was made.

    chip: ``(S, S, 3)`` uint8 RGB.
    matrix: ``(2, 3)`` float64 image → chip affine map.
    points: ``(K, 2)`` the given landmarks mapped into the chip.
    rect: the image region cropped (face-api chip) or ``None`` (warped chip).
    """

    chip: np.ndarray
    matrix: np.ndarray
    points: np.ndarray
    rect: CropRect | None = None


def landmarks68_to_5(landmarks68: np.ndarray) -> np.ndarray:
    """``(68, 2)`` → ``(5, 2)``: eye centres (36–41, 42–47), nose tip (30), mouth corners (48, 54)."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    return np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]])


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``(2, 3)`` mapping ``src`` points onto ``dst`` (Umeyama 1991).

    src, dst: ``(K, 2)``, K ≥ 2. Reflections are excluded (a proper rotation).
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need matching (K>=2, 2) point sets, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    var_s = (s**2).sum() / len(src)
    scale = float((sigma * np.diag(sign)).sum() / var_s) if var_s > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine map to ``(K, 2)`` points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def align_5pt(
    image: np.ndarray,
    points5: np.ndarray,
    size: int = 112,
    template: np.ndarray = ARCFACE_112,
    landmarks: np.ndarray | None = None,
) -> AlignedFace:
    """Warp ``image`` so ``points5`` land on ``template`` (scaled from 112 to ``size``).

    landmarks: extra points to map into the chip (default: ``points5``).
    Borders are filled with black.
    """
    dst = np.asarray(template, dtype=np.float64) * (size / 112.0)
    matrix = similarity_transform(points5, dst)
    chip = cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
    )
    shown = points5 if landmarks is None else landmarks
    return AlignedFace(chip, matrix, transform_points(matrix, shown))


def faceapi_chip(image: np.ndarray, landmarks68: np.ndarray, size: int = FACEAPI_CHIP_SIZE) -> AlignedFace:
    """face-api's descriptor input as an image (see module docstring), with the landmarks mapped into it.

    An empty crop (landmarks outside the image or NaN) gives a black chip.
    """
    h, w = image.shape[:2]
    rect = descriptor_crop(landmarks68, w, h)
    if rect.is_empty:
        return AlignedFace(
            np.zeros((size, size, 3), np.uint8), np.zeros((2, 3)), np.full((68, 2), np.nan), rect
        )
    crop = np.asarray(crop_image(image, rect), dtype=np.float32)
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).unsqueeze(0)
    chip = resize_bilinear_legacy(pad_to_square(t, centered=True), (size, size))[0]
    chip_u8 = chip.permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy()
    # The padded square has side max(w, h), with the crop at its top-left (odd pixel bottom/right
    # and centered=True put (side - w) // 2 on the left): image → chip is a scale and a shift.
    side = max(rect.width, rect.height)
    off_x, off_y = (side - rect.width) // 2, (side - rect.height) // 2
    scale = size / side
    matrix = np.array([[scale, 0.0, (off_x - rect.x) * scale], [0.0, scale, (off_y - rect.y) * scale]])
    return AlignedFace(chip_u8, matrix, transform_points(matrix, landmarks68), rect)
