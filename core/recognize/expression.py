"""Facial expression probabilities with face-api's FaceExpressionNet.

``ExpressionClassifier().predict(image, landmarks68)`` uses the same aligned
crop as age/gender (landmark bbox + 10 % per side, clipped, floored), runs
the net at 112 and returns a softmax over the 7 labels of
:data:`core.models.expression.EXPRESSION_LABELS` per face.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.models.expression import EXPRESSION_LABELS, FaceExpressionNet
from core.recognize.crops import CropRect, aligned_crop
from core.recognize.runner import FaceModelRunner, as_image, as_landmarks


@dataclass(frozen=True)
class Expressions:
    """Softmax probabilities of one face, ``{label: p}`` in :data:`EXPRESSION_LABELS` order (NaN for an empty crop)."""

    probabilities: dict[str, float]

    @property
    def dominant(self) -> str:
        """The most probable label (``"unknown"`` when the probabilities are NaN)."""
        label, p = max(self.probabilities.items(), key=lambda kv: -math.inf if math.isnan(kv[1]) else kv[1])
        return "unknown" if math.isnan(p) else label

    def to_json(self) -> dict:
        return {k: round(v, 5) for k, v in self.probabilities.items()}


_UNKNOWN = Expressions({label: math.nan for label in EXPRESSION_LABELS})


def from_logits(logits: torch.Tensor) -> list[Expressions]:
    probs = torch.softmax(logits.to(torch.float32), dim=1).tolist()
    return [Expressions(dict(zip(EXPRESSION_LABELS, row, strict=True))) for row in probs]


class ExpressionClassifier(FaceModelRunner):
    """face-api's expression net behind a batch API (see module docstring)."""

    weights_name = "faceapi_face_expression"
    input_size = FaceExpressionNet.INPUT_SIZE

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FaceExpressionNet.from_tfjs(tensors)

    def crops(self, image: np.ndarray, landmarks68: np.ndarray) -> list[CropRect]:
        img_h, img_w = as_image(image).shape[:2]
        return [aligned_crop(pts, img_w, img_h) for pts in as_landmarks(landmarks68)]

    def predict(self, image: np.ndarray, landmarks68: np.ndarray | Sequence) -> list[Expressions]:
        image = as_image(image)
        rects = self.crops(image, landmarks68)
        logits, valid = self.forward_rects(image, rects)
        if logits is None:
            return [_UNKNOWN] * len(rects)
        it = iter(from_logits(logits))
        return [next(it) if ok else _UNKNOWN for ok in valid]

    def predict_crops(self, crops: Sequence[np.ndarray]) -> list[Expressions]:
        if len(crops) == 0:
            return []
        return from_logits(self.forward_crops(crops))
