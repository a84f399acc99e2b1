"""128-d face descriptors with face-api's FaceRecognitionNet (dlib ResNet).

``Embedder().embed(image, landmarks68)`` crops face-api's dlib square from
the 68 landmarks (:func:`core.recognize.crops.descriptor_crop`: eye and mouth
centres, no rotation), centered-pads it, resizes it to 150 with the legacy TF
kernel and returns ``(N, 128)`` float32 descriptors, *not* L2-normalised
(norm ~1.4-1.5 on real faces). face-api compares them by Euclidean distance
(same person below 0.6); L2-normalise them yourself for cosine scores.

``embed_crops`` takes already-cropped ``(h, w, 3)`` images (any size; they
get the same pad + resize), ``embed_batch`` a ready ``(N, 3, 150, 150)``
0..255 tensor (e.g. an aligned batch in training code).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from core.models.face_descriptor import FaceRecognitionNet
from core.recognize.crops import CropRect, descriptor_crop
from core.recognize.runner import FaceModelRunner, as_image, as_landmarks

#: face-api's ``FaceMatcher`` default: Euclidean distance below this = same person.
FACEAPI_MATCH_DISTANCE = 0.6


class Embedder(FaceModelRunner):
    """face-api's descriptor net behind a batch API (see module docstring)."""

    weights_name = "faceapi_face_recognition"
    input_size = FaceRecognitionNet.INPUT_SIZE
    dim = FaceRecognitionNet.DIM

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FaceRecognitionNet.from_tfjs(tensors)

    def crops(self, image: np.ndarray, landmarks68: np.ndarray) -> list[CropRect]:
        """The descriptor crop (dlib square, clipped) of each face."""
        img_h, img_w = as_image(image).shape[:2]
        return [descriptor_crop(pts, img_w, img_h) for pts in as_landmarks(landmarks68)]

    def embed(self, image: np.ndarray, landmarks68: np.ndarray | Sequence) -> np.ndarray:
        """``(N, 128)`` float32 descriptors for ``(N, 68, 2)`` landmarks (NaN rows for empty crops)."""
        image = as_image(image)
        rects = self.crops(image, landmarks68)
        out = np.full((len(rects), self.dim), np.nan, dtype=np.float32)
        desc, valid = self.forward_rects(image, rects)
        if desc is not None:
            out[valid] = desc.numpy()
        return out

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, 128)`` float32 descriptors of ``(h, w, 3)`` RGB crops (centered pad, legacy resize to 150)."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.forward_crops(crops).numpy()

    def embed_batch(self, batch: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 150, 150)`` float32 RGB 0..255 -> ``(N, 128)`` float32 (CPU tensor)."""
        if batch.shape[1:] != (3, self.input_size, self.input_size):
            raise ValueError(
                f"expected (N, 3, {self.input_size}, {self.input_size}), got {tuple(batch.shape)}"
            )
        if batch.shape[0] == 0:
            return torch.zeros((0, self.dim))
        return self.forward_batch(batch)
