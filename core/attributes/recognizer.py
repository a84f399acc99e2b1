"""Attributes of the faces in any photo: detect -> 68 landmarks -> CelebA frame -> features -> model.

:class:`AttributeRecognizer` loads its networks lazily (first use, thread-safe)
and reuses them: a detector from :mod:`core.detect.registry`, face-api's
68-point :class:`~core.recognize.landmarker.Landmarker`, the frozen feature
trunk and an :class:`~core.attributes.model.AttributeModel`. Faces whose
landmarks are unusable (an empty crop) get ``prediction=None``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core.attributes.align import align_face
from core.attributes.features import FeatureExtractor
from core.attributes.model import DEFAULT_MODEL, AttributeModel, AttributePrediction
from core.detect.protocol import Detector
from core.detect.registry import DEFAULT_DETECTOR, as_detector
from core.recognize.landmarker import Landmarker
from core.types import Detection


@dataclass(frozen=True)
class FaceAttributes:
    """One face: its box ``(x1, y1, x2, y2)`` in image pixels, detector score, the aligned
    ``(109, 89, 3)`` uint8 CelebA frame (``None`` when alignment failed) and the prediction."""

    box: tuple[float, float, float, float]
    score: float
    frame: np.ndarray | None
    prediction: AttributePrediction | None

    def to_json(self) -> dict:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "attributes": self.prediction.to_json() if self.prediction is not None else None,
        }


class AttributeRecognizer:
    """See module docstring. ``model``: an :class:`AttributeModel` or a weights name/path."""

    def __init__(
        self,
        model: AttributeModel | str = DEFAULT_MODEL,
        detector: str | Detector = DEFAULT_DETECTOR,
        device: str | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._model_spec, self._detector_arg, self._device = model, detector, device
        self._model: AttributeModel | None = model if isinstance(model, AttributeModel) else None
        self._detector: Detector | None = None if isinstance(detector, str) else detector
        self._landmarker: Landmarker | None = None
        self._extractor: FeatureExtractor | None = None

    @property
    def model(self) -> AttributeModel:
        with self._lock:
            if self._model is None:
                self._model = AttributeModel.load(str(self._model_spec))
            return self._model

    def _nets(self) -> tuple[Landmarker, FeatureExtractor]:
        with self._lock:  # two worker threads may ask at once
            if self._landmarker is None:  # networks from the network cache: shared, loaded once
                self._landmarker = Landmarker(device=self._device)
                self._extractor = FeatureExtractor(device=self._device)
            assert self._extractor is not None
            return self._landmarker, self._extractor

    def detector(self) -> Detector:
        with self._lock:
            if self._detector is None:
                self._detector = as_detector(self._detector_arg)
            return self._detector

    def frames(self, image: np.ndarray, boxes: np.ndarray | Sequence) -> list[np.ndarray | None]:
        """Aligned CelebA frames of the faces in ``(N, 4)`` boxes (``None`` where landmarks failed)."""
        box_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(box_arr) == 0:
            return []
        landmarker, _ = self._nets()
        points = landmarker.landmarks(image, box_arr)
        out: list[np.ndarray | None] = []
        for p in points:
            try:
                out.append(align_face(image, p))
            except ValueError:
                out.append(None)
        return out

    def predict_frames(self, frames: Sequence[np.ndarray | None]) -> list[AttributePrediction | None]:
        """Predictions of aligned frames (``None`` passes through); with a test-time-flip model
        the mirrored frames are classified together with them."""
        ok = [f for f in frames if f is not None]
        model, extractor = self.model, self._nets()[1]
        preds: Iterator[AttributePrediction] = iter([])
        if ok:
            features, maps = _inputs(extractor, ok, model.needs_maps)
            flipped = flipped_maps = None
            if model.tta:
                mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in ok]
                flipped, flipped_maps = _inputs(extractor, mirrored, model.needs_maps)
            preds = iter(model.predict(features, flipped, maps=maps, flipped_maps=flipped_maps))
        return [next(preds) if f is not None else None for f in frames]

    def analyze_faces(self, image: np.ndarray, faces: Sequence[Detection]) -> list[FaceAttributes]:
        """:class:`FaceAttributes` of already detected faces, in order."""
        frames = self.frames(image, [f.box for f in faces])
        preds = self.predict_frames(frames)
        return [
            FaceAttributes(tuple(float(v) for v in f.box), float(f.score), fr, p)  # type: ignore[arg-type]
            for f, fr, p in zip(faces, frames, preds, strict=True)
        ]

    def analyze(self, image: np.ndarray, min_score: float | None = None) -> list[FaceAttributes]:
        """Detect faces in an RGB ``(H, W, 3)`` uint8 image, then :meth:`analyze_faces`."""
        result = self.detector().detect(image, min_score=min_score)
        return self.analyze_faces(image, list(result.faces))


def _inputs(
    extractor: FeatureExtractor, frames: list[np.ndarray], with_maps: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Feature rows of ``frames`` and, for a learned model, the conv128 maps of the same pass."""
    if with_maps:
        return extractor.from_frames_with_maps(frames)
    return extractor.from_frames(frames), None
