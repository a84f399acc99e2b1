"""The ``Detector`` protocol every face detector in FaceScope implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from core.types import DetectionResult


@runtime_checkable
class Detector(Protocol):
    """A face detector.

    name: registry name (``"centerface"``, ``"ssd"`` ...).
    branch_kind: ``"branch"`` (real scale-variant heads) or ``"scale_range"``
        (single head; detections split by box height only).
    """

    name: str
    branch_kind: str

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        """Detect faces in one RGB uint8 image of shape ``(H, W, 3)``.

        Boxes come back in original-image pixels even when the detector works
        at a bounded internal resolution.
        """
        ...
