"""Apparent age and gender with face-api's AgeGenderNet.

``AgeGenderEstimator().predict(image, landmarks68)`` crops face-api's
``alignedRect`` (the 68 landmarks' min bbox grown by 10 % per side, clipped
and floored: :func:`core.recognize.crops.aligned_crop`), runs the net at 112
and returns one :class:`AgeGender` per face. The age is the raw regression
output (years, neither rounded nor clamped); the gender is face-api's
2-way softmax in ``[male, female]`` order, reported as the likelier label
and its probability (``male`` iff ``p_male > 0.5``).

What the model predicts is *apparent* age and a binary perceived-gender label
learnt from public datasets (UTK, IMDB-WIKI, ...); it is a research signal,
not a fact about a person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.models.age_gender import AgeGenderNet
from core.recognize.crops import CropRect, aligned_crop
from core.recognize.runner import FaceModelRunner, as_image, as_landmarks


@dataclass(frozen=True)
class AgeGender:
    """One face's prediction. age: years (raw regression); gender: ``"male"``/``"female"``;
    gender_probability: the probability of that label (>= 0.5). NaN / ``"unknown"`` for an empty crop."""

    age: float
    gender: str
    gender_probability: float

    @property
    def p_male(self) -> float:
        return self.gender_probability if self.gender == "male" else 1.0 - self.gender_probability

    def to_json(self) -> dict:
        return {
            "age": round(self.age, 2),
            "gender": self.gender,
            "gender_probability": round(self.gender_probability, 4),
        }


_UNKNOWN = AgeGender(math.nan, "unknown", math.nan)


def from_outputs(age: torch.Tensor, gender_logits: torch.Tensor) -> list[AgeGender]:
    """Net outputs ``(N,)``, ``(N, 2)`` -> face-api's ``{age, gender, genderProbability}`` per face."""
    p_male = torch.softmax(gender_logits.to(torch.float32), dim=1)[:, 0].tolist()
    results = []
    for a, pm in zip(age.tolist(), p_male, strict=True):
        male = pm > 0.5
        results.append(AgeGender(float(a), "male" if male else "female", pm if male else 1.0 - pm))
    return results


class AgeGenderEstimator(FaceModelRunner):
    """face-api's age/gender net behind a batch API (see module docstring)."""

    weights_name = "faceapi_age_gender"
    input_size = AgeGenderNet.INPUT_SIZE

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return AgeGenderNet.from_tfjs(tensors)

    def crops(self, image: np.ndarray, landmarks68: np.ndarray) -> list[CropRect]:
        """The aligned crop (landmark bbox + 10 % per side, clipped, floored) of each face."""
        img_h, img_w = as_image(image).shape[:2]
        return [aligned_crop(pts, img_w, img_h) for pts in as_landmarks(landmarks68)]

    def predict(self, image: np.ndarray, landmarks68: np.ndarray | Sequence) -> list[AgeGender]:
        image = as_image(image)
        rects = self.crops(image, landmarks68)
        out, valid = self.forward_rects(image, rects)
        if out is None:
            return [_UNKNOWN] * len(rects)
        it = iter(from_outputs(*out))
        return [next(it) if ok else _UNKNOWN for ok in valid]

    def predict_crops(self, crops: Sequence[np.ndarray]) -> list[AgeGender]:
        """Predictions for ``(h, w, 3)`` RGB crops (centered pad, legacy resize to 112)."""
        if len(crops) == 0:
            return []
        return from_outputs(*self.forward_crops(crops))
