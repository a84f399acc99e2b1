"""68-point facial landmarks with face-api's FaceLandmark68Net (or the tiny variant).

``Landmarker().landmarks(image, boxes)`` takes an RGB ``(H, W, 3)`` image and
detection boxes ``(N, 4)`` ``(x1, y1, x2, y2)`` in image pixels and returns
``(N, 68, 2)`` float64 ``(x, y)`` points in image pixels (iBUG 300-W order),
exactly as face-api's ``withFaceLandmarks()``:

1. crop the box clipped to the image and floored (:func:`landmark_crop`);
2. centered zero pad, legacy resize to 112, normalise, run the net;
3. ``postProcess``: undo the padding assuming ``diff / 2`` on each side (for
   an odd difference the tensor really has the extra pixel bottom/right, so
   face-api is half a pixel off there: copied on purpose), divide by the
   *unrounded* scaled crop size;
4. multiply by the crop size and add the **unfloored** detection origin
   ``(x1, y1)`` (face-api's shift), although the crop starts at the floored,
   clipped origin.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.models.landmarks68 import FaceLandmark68Net
from core.recognize.crops import CropRect, landmark_crop
from core.recognize.runner import FaceModelRunner, as_image


@dataclass(frozen=True)
class LandmarkResult:
    """Landmarks of N faces plus what produced them.

    points: ``(N, 68, 2)`` float64 image pixels (NaN for an empty crop).
    relative: ``(N, 68, 2)`` float32 coordinates relative to the crop (0..1 inside it).
    crops: the landmark crop of each face (clipped, floored detection box).
    """

    points: np.ndarray
    relative: np.ndarray
    crops: list[CropRect]


def postprocess(
    raw: torch.Tensor, crop_sizes: Sequence[tuple[int, int]], input_size: int = 112
) -> torch.Tensor:
    """face-api ``FaceLandmark68NetBase.postProcess``: net output -> crop-relative coordinates.

    raw: ``(N, 136)`` interleaved x, y in units of the padded square.
    crop_sizes: ``(width, height)`` of each crop. Returns ``(N, 68, 2)``
    float32 (computed in float32 like the tfjs tensors).
    """
    n = raw.shape[0]
    pads = torch.zeros((n, 2), dtype=torch.float32)
    dims = torch.zeros((n, 2), dtype=torch.float32)
    for i, (w, h) in enumerate(crop_sizes):
        scale = input_size / max(w, h)
        sw, sh = w * scale, h * scale  # unrounded, float64 as in JS, then stored as float32
        pads[i, 0] = abs(sw - sh) / 2 if sw < sh else 0.0
        pads[i, 1] = abs(sw - sh) / 2 if sh < sw else 0.0
        dims[i, 0], dims[i, 1] = sw, sh
    pts = raw.to(torch.float32).view(n, 68, 2)
    return (pts * torch.tensor(float(input_size))).sub(pads[:, None, :]).div(dims[:, None, :])


class Landmarker(FaceModelRunner):
    """face-api's 68-point landmark net; ``tiny=True`` uses FaceLandmark68TinyNet."""

    input_size = FaceLandmark68Net.INPUT_SIZE

    def __init__(
        self,
        tiny: bool = False,
        model: nn.Module | None = None,
        device: torch.device | str | None = None,
        weights: str | os.PathLike | None = None,
        fused: bool = True,
    ):
        self.tiny = tiny
        self.weights_name = "faceapi_face_landmark_68_tiny" if tiny else "faceapi_face_landmark_68"
        super().__init__(model, device, weights, fused)

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FaceLandmark68Net.from_tfjs(tensors, tiny=self.tiny)

    def network_variant(self) -> bool:
        return self.tiny  # a renamed weights file may hold either net

    def landmarks(self, image: np.ndarray, boxes: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """``(N, 68, 2)`` float64 landmarks in image pixels for ``(N, 4)`` ``(x1, y1, x2, y2)`` boxes."""
        return self.predict(image, boxes).points

    def predict(self, image: np.ndarray, boxes: np.ndarray | Sequence[Sequence[float]]) -> LandmarkResult:
        """Landmarks plus the crop-relative points and the crops (see :class:`LandmarkResult`)."""
        image = as_image(image)
        box_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        img_h, img_w = image.shape[:2]
        crops = [landmark_crop(b, img_w, img_h) for b in box_arr]
        n = len(crops)
        points = np.full((n, 68, 2), np.nan, dtype=np.float64)
        relative = np.full((n, 68, 2), np.nan, dtype=np.float32)
        raw, valid = self.forward_rects(image, crops)
        if raw is not None:
            sizes = [(c.width, c.height) for c, ok in zip(crops, valid, strict=True) if ok]
            rel = postprocess(raw, sizes, self.input_size).numpy()
            relative[valid] = rel
            wh = np.array(sizes, dtype=np.float64)[:, None, :]
            # float32 relative positions times the integer crop size, plus the unfloored box origin (float64 in JS)
            points[valid] = rel.astype(np.float64) * wh + box_arr[valid][:, None, :2]
        return LandmarkResult(points=points, relative=relative, crops=crops)
