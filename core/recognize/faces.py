"""Detect → 68 landmarks → the stem's embedding for every face of an image.

:class:`FacePipeline` chains the bundled models the way verification needs
them: a detector (CenterFace by default, whose 5 points are kept for the
5-point alignment and fallbacks), face-api's 68-point landmark net on each
box, and the chosen stem (:mod:`core.recognize.stems`): face-api's 128-d dlib
descriptor on its own eye/mouth crop (:mod:`core.recognize.crops`), or HSE
FaceRec's 1024-d embedding on a 5-point aligned chip
(:mod:`core.recognize.faceres_embedder`).
Yaw and DREAM are applied later from what a :class:`FaceRecord` holds, so that
cached records (:mod:`core.cfp.features`) and live images share that code.

Coordinates: image pixels of the original image, origin top-left; boxes
``(x1, y1, x2, y2)``; ``points5`` ``(5, 2)`` (left eye, right eye, nose, left
and right mouth corner, viewer's side); ``landmarks68`` ``(68, 2)`` iBUG order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from core.detect.protocol import Detector
from core.detect.registry import DEFAULT_DETECTOR, FACE_PIPELINE_MIN_SCORE, as_detector
from core.recognize.stems import DEFAULT_STEM, stem_spec
from core.types import Detection


@dataclass(frozen=True)
class FaceRecord:
    """What the stem knows about one face.

    box: detector box (or the whole image when ``detected`` is False).
    score: detector confidence (0 for the whole-image fallback).
    points5: ``(5, 2)`` float64 detector landmarks, NaN when the detector gives none.
    landmarks68: ``(68, 2)`` float64 face-api landmarks.
    embedding: ``(dim,)`` float32 stem embedding (not normalised; NaN if the crop was empty).
    detected: False when no face was found and the whole image was used as the box.
    """

    box: tuple[float, float, float, float]
    score: float
    points5: np.ndarray
    landmarks68: np.ndarray
    embedding: np.ndarray
    detected: bool = True


#: Working side for portrait-like images, where the face fills much of the frame.
PORTRAIT_MAX_SIDE = 640


def _largest(faces: list[Detection]) -> list[Detection]:
    """Faces by decreasing ``score × area`` (the main face of a portrait first)."""
    return sorted(faces, key=lambda f: -f.score * max(f.width, 0.0) * max(f.height, 0.0))


def _detector_points(face: Detection) -> np.ndarray:
    """The detector's ``(5, 2)`` points of a face, NaN when it gives none."""
    if face.landmarks is not None and len(face.landmarks) == 5:
        return np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
    return np.full((5, 2), np.nan)


class FacePipeline:
    """Detector + landmarks + descriptor, models loaded on first use (thread-safe).

    detector: a :class:`~core.detect.protocol.Detector` or a registry name.
    max_side: working resolution bound of a named detector that takes one (portrait-like
        images need little; 320 keeps CFP's loose crops fast on a CPU).
    min_score: detector threshold.
    stem: which embedding the records hold (:data:`core.recognize.stems.STEMS`).
    """

    def __init__(
        self,
        detector: Detector | str = DEFAULT_DETECTOR,
        max_side: int = PORTRAIT_MAX_SIDE,
        min_score: float = FACE_PIPELINE_MIN_SCORE,
        stem: str = DEFAULT_STEM,
    ) -> None:
        self.stem = stem_spec(stem).name
        self._detector_arg = detector
        self.max_side = max_side
        self.min_score = min_score
        self._lock = threading.Lock()
        self._detector: Detector | None = None
        self._landmarker = None
        self._embedder = None

    def _models(self):
        with self._lock:
            if self._detector is None:
                # lazy: the networks (torch) load with the first face, not when the pipeline is built
                from core.recognize.embedder import Embedder
                from core.recognize.faceres_embedder import FaceResEmbedder
                from core.recognize.landmarker import Landmarker

                # the networks come from the network cache: shared with every other pipeline
                self._landmarker = Landmarker()
                self._embedder = FaceResEmbedder() if self.stem == "faceres" else Embedder()
                self._detector = as_detector(self._detector_arg, self.max_side)
            return self._detector, self._landmarker, self._embedder

    def detect(self, image: np.ndarray, max_faces: int | None = None) -> list[Detection]:
        """Detections sorted by ``score × area`` (at most ``max_faces``)."""
        detector, _, _ = self._models()
        faces = _largest(detector.detect(image, min_score=self.min_score).faces)
        return faces if max_faces is None else faces[:max_faces]

    def records(
        self,
        image: np.ndarray,
        faces: list[Detection] | None = None,
        max_faces: int | None = None,
        whole_image_fallback: bool = False,
    ) -> list[FaceRecord]:
        """One :class:`FaceRecord` per face (detected here unless ``faces`` is given).

        whole_image_fallback: when nothing is detected, treat the whole image
        as the face box (right for loose face crops such as CFP's).
        """
        _, landmarker, embedder = self._models()
        if faces is None:
            faces = self.detect(image, max_faces)
        h, w = image.shape[:2]
        detected = True
        if not faces and whole_image_fallback:
            faces = [Detection((0.0, 0.0, float(w), float(h)), 0.0, "large", None)]
            detected = False
        if not faces:
            return []
        boxes = np.array([f.box for f in faces], dtype=np.float64)
        points68 = landmarker.landmarks(image, boxes)
        points5 = [_detector_points(face) for face in faces]
        embeddings = self._embed(embedder, image, points5, points68)
        out = []
        for face, p5, pts, emb in zip(faces, points5, points68, embeddings, strict=True):
            out.append(
                FaceRecord(
                    tuple(float(v) for v in face.box),
                    float(face.score),
                    p5,
                    pts,
                    emb.astype(np.float32),
                    detected,
                )
            )
        return out

    def _embed(
        self, embedder, image: np.ndarray, points5: list[np.ndarray], points68: np.ndarray
    ) -> np.ndarray:
        if self.stem == "faceapi":
            return embedder.embed(image, points68)
        # lazy: torch loads with the first face (see _models)
        from core.recognize.faceres_embedder import alignment_points

        align = np.stack([alignment_points(p5, p68) for p5, p68 in zip(points5, points68, strict=True)])
        return embedder.embed(image, align)

    def main_face(self, image: np.ndarray) -> FaceRecord | None:
        """The largest confident face of a portrait-like image, or the whole image when none is found."""
        recs = self.records(image, max_faces=1, whole_image_fallback=True)
        return recs[0] if recs else None
