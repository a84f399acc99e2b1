"""Per-face analysis after detection: 68 landmarks, then age and gender.

The Detection panel and the CLI call :class:`FaceAnalyzer` on a detector's
boxes; the networks load lazily on first use and are reused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.types import Detection

if TYPE_CHECKING:  # the networks import torch: loaded on first use, so the GUI can import this module cheaply
    from core.recognize.age_gender import AgeGender, AgeGenderEstimator
    from core.recognize.landmarker import Landmarker


@dataclass(frozen=True)
class FaceAnalysis:
    """What the per-face models say about one detected face.

    landmarks68: ``(68, 2)`` float64 image pixels (NaN when the crop was empty).
    age_gender: face-api's age (years) and gender with its probability.
    """

    landmarks68: np.ndarray
    age_gender: AgeGender

    def to_json(self) -> dict:
        return {"landmarks68": np.round(self.landmarks68, 2).tolist(), **self.age_gender.to_json()}


class FaceAnalyzer:
    """Landmarks (face-api crop from the box) → age/gender (crop from the landmarks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._landmarker: Landmarker | None = None
        self._age_gender: AgeGenderEstimator | None = None

    def _models(self) -> tuple[Landmarker, AgeGenderEstimator]:
        with self._lock:  # first use may come from two worker threads at once
            if self._landmarker is None:
                # lazy: the networks (torch) load with the first face, not when the pipeline is built
                from core.recognize.age_gender import AgeGenderEstimator
                from core.recognize.landmarker import Landmarker

                self._landmarker = Landmarker()
                self._age_gender = AgeGenderEstimator()
            assert self._age_gender is not None
            return self._landmarker, self._age_gender

    def analyze(self, image: np.ndarray, faces: list[Detection]) -> list[FaceAnalysis]:
        """One :class:`FaceAnalysis` per face, in the same order (all faces in one batch)."""
        if not faces:
            return []
        landmarker, estimator = self._models()
        boxes = np.array([face.box for face in faces], dtype=np.float64)
        points = landmarker.landmarks(image, boxes)
        ages = estimator.predict(image, points)
        return [FaceAnalysis(p, a) for p, a in zip(points, ages, strict=True)]
