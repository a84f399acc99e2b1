"""face-api's three face crops and its input-tensor construction, reproduced exactly.

Coordinates: image pixels, origin at the top-left corner of the top-left
pixel. Detection boxes are ``(x1, y1, x2, y2)`` (:mod:`core.types`);
landmarks are ``(68, 2)`` ``(x, y)`` arrays in the iBUG 300-W order.

The standard face-api chain crops three different regions (ARCHITECTURES.md §0.4):

* landmark nets: the detection box (:func:`landmark_crop`);
* age/gender and expression: the min bbox of the 68 landmarks grown by 10 %
  of its size on every side (:func:`aligned_crop`);
* descriptor: dlib's eye/mouth square (:func:`dlib_rect`, :func:`descriptor_crop`).

Every crop ends in face-api's ``clipAtImageBorders``: clip the origin to 0,
clip the size to the image, then floor x, y, width and height *separately*
(not the right/bottom edges), and slice. The crop is then zero-padded to a
square with the odd pixel at the bottom/right (``centered=True``) and resized
with the legacy TF bilinear kernel (:mod:`core.models.tf_ops`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.models.tf_ops import pad_to_square, resize_bilinear_legacy

#: face-api's per-channel RGB mean for the per-face nets; the input is ``(x - mean) / 255``.
FACEAPI_MEAN_RGB: tuple[float, float, float] = (122.782, 117.001, 104.298)

# dlib alignment constants of face-api's FaceLandmarks.alignDlib
_DLIB_REL_X = 0.5
_DLIB_REL_Y = 0.43
_DLIB_REL_SCALE = 0.45
_LEFT_EYE = slice(36, 42)
_RIGHT_EYE = slice(42, 48)
_MOUTH = slice(48, 68)


@dataclass(frozen=True)
class CropRect:
    """An integer image region ``image[y:y+height, x:x+width]`` (already clipped to the image)."""

    x: int
    y: int
    width: int
    height: int

    @property
    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def as_xywh(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.width, self.height


def clip_at_image_borders(
    x: float, y: float, width: float, height: float, img_w: int, img_h: int
) -> CropRect:
    """face-api ``Box.clipAtImageBorders``: clip, then floor each of x, y, w, h.

    A box entirely outside the image, or non-finite input, gives a rect with
    ``width`` or ``height`` <= 0 (:attr:`CropRect.is_empty`).
    """
    if not all(math.isfinite(v) for v in (x, y, width, height)):
        return CropRect(0, 0, 0, 0)  # e.g. NaN landmarks of a face whose landmark crop was empty
    right, bottom = x + width, y + height
    cx, cy = max(x, 0.0), max(y, 0.0)
    cw = min(right - cx, img_w - cx)
    ch = min(bottom - cy, img_h - cy)
    return CropRect(math.floor(cx), math.floor(cy), math.floor(cw), math.floor(ch))


def landmark_crop(box: Sequence[float], img_w: int, img_h: int) -> CropRect:
    """Crop of the landmark nets: the detection box ``(x1, y1, x2, y2)``, clipped and floored."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return clip_at_image_borders(x1, y1, x2 - x1, y2 - y1, img_w, img_h)


def aligned_rect(landmarks: np.ndarray, padding: float = 0.2) -> tuple[float, float, float, float]:
    """face-api ``alignMinBbox``: min/max bbox of the points grown by ``padding`` of its size.

    Returns ``(x, y, width, height)`` floats; 0.2 = 10 % on each side. As in
    face-api, the running maxima start at 0 (not -inf), which only matters for
    points all at negative coordinates.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    min_x, min_y = float(pts[:, 0].min()), float(pts[:, 1].min())
    max_x, max_y = max(0.0, float(pts[:, 0].max())), max(0.0, float(pts[:, 1].max()))
    w, h = max_x - min_x, max_y - min_y
    pad_x, pad_y = w * padding, h * padding
    return min_x - pad_x / 2, min_y - pad_y / 2, w + pad_x, h + pad_y


def aligned_crop(landmarks: np.ndarray, img_w: int, img_h: int) -> CropRect:
    """Crop of the age/gender and expression nets (face-api's ``alignedRect``), clipped and floored."""
    return clip_at_image_borders(*aligned_rect(landmarks), img_w, img_h)


def _centre(points: Sequence[Sequence[float]]) -> tuple[float, float]:
    """face-api ``getCenterPoint``: a sequential float64 sum divided by the count (same rounding as JS)."""
    sx = sy = 0.0
    for px, py in points:
        sx += px
        sy += py
    return sx / len(points), sy / len(points)


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """face-api ``Point.magnitude`` of ``a - b``: ``sqrt(dx*dx + dy*dy)`` (not ``hypot``, to round alike)."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    return math.sqrt(dx * dx + dy * dy)


def dlib_rect(
    landmarks: np.ndarray, landmark_crop_size: tuple[int, int] | None = None
) -> tuple[int, int, int, int]:
    """face-api ``alignDlib``: the descriptor square ``(x, y, width, height)`` (integers).

    Eye centres (points 36-41, 42-47) and the mouth centre (48-67);
    ``size = floor(mean eye-to-mouth distance / 0.45)``; the square's origin is
    ``floor(max(0, ref - (0.5, 0.43) * size))`` with ``ref`` the mean of the
    three centres. face-api caps the sides at ``landmark crop size + x`` (a
    cap that never binds in practice); pass ``landmark_crop_size=(w, h)`` to
    apply it. No rotation or warping.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if not np.isfinite(pts).all():
        return 0, 0, 0, 0  # an empty rect: the face is skipped downstream
    left_eye, right_eye, mouth = (_centre(pts[s].tolist()) for s in (_LEFT_EYE, _RIGHT_EYE, _MOUTH))
    eye_to_mouth = (_distance(mouth, left_eye) + _distance(mouth, right_eye)) / 2
    size = math.floor(eye_to_mouth / _DLIB_REL_SCALE)
    ref = _centre([left_eye, right_eye, mouth])
    x = math.floor(max(0.0, ref[0] - _DLIB_REL_X * size))
    y = math.floor(max(0.0, ref[1] - _DLIB_REL_Y * size))
    w = h = size
    if landmark_crop_size is not None:
        w = min(size, landmark_crop_size[0] + x)
        h = min(size, landmark_crop_size[1] + y)
    return x, y, w, h


def descriptor_crop(
    landmarks: np.ndarray, img_w: int, img_h: int, landmark_crop_size: tuple[int, int] | None = None
) -> CropRect:
    """Crop of the descriptor net: :func:`dlib_rect`, clipped at the image borders."""
    return clip_at_image_borders(*dlib_rect(landmarks, landmark_crop_size), img_w, img_h)


def crop_image(image: np.ndarray, rect: CropRect) -> np.ndarray:
    """``image[y:y+h, x:x+w]`` (a view) of an ``(H, W, 3)`` array."""
    return image[rect.y : rect.y + rect.height, rect.x : rect.x + rect.width]


def to_batch_tensor(
    crops: Sequence[np.ndarray], size: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """face-api ``NetInput.toBatchTensor(size, centered=True)`` for a list of crops.

    crops: ``(h, w, 3)`` RGB arrays of any sizes (uint8 or float). Each is
    zero-padded to a square (odd pixel bottom/right) and resized with the
    legacy TF bilinear kernel (skipped when already ``size``). Returns
    ``(N, 3, size, size)`` float32 in 0..255, not yet normalised.
    """
    out = torch.empty((len(crops), 3, size, size), dtype=torch.float32, device=device)
    for i, crop in enumerate(crops):
        arr = np.array(crop, dtype=np.float32)  # a writable float copy of the (small) crop
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"crop {i} must be a non-empty (h, w, 3) array, got shape {arr.shape}")
        t = torch.from_numpy(arr).to(device).permute(2, 0, 1).unsqueeze(0)
        out[i] = resize_bilinear_legacy(pad_to_square(t, centered=True), (size, size))[0]
    return out


def normalize(batch: torch.Tensor) -> torch.Tensor:
    """``(x - FACEAPI_MEAN_RGB) / 255`` on ``(N, 3, H, W)`` float32, in float32 as tfjs does."""
    mean = torch.tensor(FACEAPI_MEAN_RGB, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    return (batch - mean) / 255.0
