"""One unlock frame: detect → largest face → gates → 68 landmarks + yaw → descriptor (+ DREAM), timed per stage.

:class:`UnlockPipeline` is the per-frame engine of enrolment and verification.
It reuses the verification stem (:mod:`core.recognize`): CenterFace at a
*working resolution suited to a near face* (longer side :data:`WORKING_SIDE`:
a 640×480 frame is detected at 256×192, where a face of ≥ 80 px is still
≥ 32 px, well inside CenterFace's range; with ``near`` = the previous face,
only a region around it is detected, see :meth:`UnlockPipeline.analyze`), face-api's 68-point landmarks on the
largest box, the fused PnP yaw, the stem's embedding (face-api's 128-d descriptor on its dlib
crop by default, or faceres's 1024-d one on a 5-point aligned chip),
and the DREAM block driven by the yaw. Frames whose main face fails the cheap
gates (count, size) stop before the landmarks; frames failing the other gates
stop before the descriptor unless ``embed_always``.

Stage times (ms, ``time.perf_counter``): ``detect`` (resize + CenterFace +
decoding), ``landmarks`` (68 points + yaw + quality gates), ``embed``
(descriptor + DREAM); the session adds ``match`` and ``total``.

Coordinates: original frame pixels, boxes ``(x1, y1, x2, y2)``. Descriptors are
``(d,)`` float32 unit vectors, d the stem's width (compared by dot product = cosine).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from core.detect.protocol import Detector
from core.detect.registry import DEFAULT_DETECTOR, as_detector, detector_spec
from core.recognize.align import landmarks68_to_5
from core.recognize.dream import DreamMapper, l2_normalize
from core.recognize.faceres_embedder import FaceResEmbedder, alignment_points
from core.recognize.faces import FaceRecord
from core.recognize.pose import estimate_yaw
from core.recognize.stem_calibration import NoDreamError, mapper_for_stem
from core.recognize.stems import UNLOCK_STEM, stem_spec
from core.recognize.yaw import NO_ESTIMATE, YawEstimate
from core.scale_ranges import scale_range_of
from core.types import Detection
from core.unlock.calibrate import calibration_mode
from core.unlock.follow import LandmarkTrack, track_from_detection
from core.unlock.quality import FrameQuality, QualityGates, assess, count_and_size
from core.unlock.templates import ModelInfo, current_model_info

log = logging.getLogger(__name__)

#: Longer side of CenterFace's input for a whole unlock frame: 640×480 is detected at 256×192, where
#: the smallest face verification scores (80 px) is 32 px, well inside CenterFace's range (measured in
#: bench/unlock.py: 15 ms against 20 ms at 320, same boxes, same identities_dev results).
WORKING_SIDE = 256
#: Tracking: the next frame is detected only in a square around the last face (ROI_SCALE × the box's
#: longer side), brought to ROI_SIDE px, where the face is ~64 px: ~4 ms instead of ~15 ms.
ROI_SCALE = 2.0
ROI_SIDE = 128
#: Torch threads per frame. One frame is a batch of one with small feature maps: on the project's
#: 2-core machine 1 thread gave 26 ms p50 against 36-46 ms with 2 (bench/unlock.py, ADR 0013),
#: because waking the second (passive-waiting) OpenMP thread for each small op costs more than it saves.
THREADS = 1
#: Per-stage ms keys of every frame outcome (``liveness`` is added when a checker runs).
STAGES = ("detect", "landmarks", "embed", "match", "total")
#: Detector threshold: a near face scores > 0.9; 0.5 keeps background clutter out of the face count.
MIN_SCORE = 0.5


@dataclass
class FrameAnalysis:
    """What the pipeline found in one frame.

    faces: every detection ≥ the detector threshold (original pixels; only those inside the
        tracking region when ``tracked``).
    quality: the gates' verdict on the main (largest) face.
    record: landmarks (``(68, 2)``), detector points, raw descriptor of the main face, or ``None``
        when the frame stopped before the landmarks / descriptor.
    yaw: fused yaw estimate of the main face (``NO_ESTIMATE`` when not computed).
    embedding: ``(d,)`` float32 unit descriptor (after DREAM when on), ``None`` when not computed.
    timings_ms: ``detect``, ``landmarks``, ``embed`` (0 for a stage not run).
    """

    image_size: tuple[int, int]
    faces: list[Detection]
    quality: FrameQuality
    record: FaceRecord | None = None
    yaw: YawEstimate = NO_ESTIMATE
    embedding: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    tracked: bool = False  # the face was found in the region around the previous one (not the whole frame)
    followed: bool = False  # found from the previous frame's landmarks, without the detector
    track: LandmarkTrack | None = None  # what the next frame needs to follow this face

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return self.quality.box


class UnlockPipeline:
    """Detector + landmarks + descriptor + DREAM for unlock frames (models load on first use; thread-safe).

    detector: a :class:`~core.detect.protocol.Detector` or a registry name.
    max_side: the detector's longer input side (a named detector that takes one; not an instance).
    min_score: detector threshold.
    use_dream: map descriptors with the DREAM block by yaw (templates record it); a stem
        without a DREAM block refuses it (:class:`~core.recognize.stem_calibration.NoDreamError`).
    mapper: a DREAM block to use instead of the shipped one.
    stem: the embedding network (:data:`core.recognize.stems.STEMS`); unlock keeps face-api's by
        default (:data:`UNLOCK_STEM`), whose thresholds the shipped calibration holds for both modes.
    threads: torch intra-op threads while a frame is analysed (set for the calling thread during the
        call and restored after); ``None`` leaves torch's setting alone.
    """

    def __init__(
        self,
        detector: Detector | str = DEFAULT_DETECTOR,
        max_side: int = WORKING_SIDE,
        min_score: float = MIN_SCORE,
        use_dream: bool = True,
        mapper: DreamMapper | None = None,
        threads: int | None = THREADS,
        stem: str = UNLOCK_STEM,
    ) -> None:
        self.stem = stem_spec(stem).name
        if use_dream and not stem_spec(stem).has_dream:
            raise NoDreamError(f"the {self.stem} stem has no DREAM block: unlock without DREAM")
        self._detector_arg = detector
        self.max_side = int(max_side)
        self.min_score = float(min_score)
        self.use_dream = bool(use_dream)
        self._mapper = mapper
        self._lock = threading.Lock()
        self._detector: Detector | None = None
        self._roi_detector: Detector | None = None
        self._landmarker = None
        self._embedder = None
        self._model_info: ModelInfo | None = None
        self.threads = threads

    @contextmanager
    def _threads(self) -> Iterator[None]:
        if self.threads is None:
            yield
            return
        previous = torch.get_num_threads()
        if previous != self.threads:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            if previous != self.threads:
                torch.set_num_threads(previous)

    # --- models ------------------------------------------------------------------
    def load(self) -> UnlockPipeline:
        """Load every model now (raises :class:`~core.zoo.weights.WeightsError` for a missing file)."""
        self._models()
        if self.use_dream:
            _ = self.mapper
        return self

    def _models(self):
        with self._lock:
            if self._detector is None:
                # lazy: the networks (torch) load with the first frame, not when the pipeline is built
                from core.recognize.embedder import Embedder
                from core.recognize.landmarker import Landmarker

                # the networks come from the network cache: shared with every other pipeline
                self._landmarker = Landmarker()
                self._embedder = FaceResEmbedder() if self.stem == "faceres" else Embedder()
                arg = self._detector_arg
                if isinstance(arg, str) and detector_spec(arg).user_max_side:  # same network, smaller input
                    self._roi_detector = as_detector(arg, ROI_SIDE)
                self._detector = as_detector(arg, self.max_side)
            return self._detector, self._landmarker, self._embedder

    @property
    def mapper(self) -> DreamMapper:
        if self._mapper is None:
            self._mapper = mapper_for_stem(self.stem)  # a block made on the stem's own views
        return self._mapper

    @property
    def model_info(self) -> ModelInfo:
        """Identity of the descriptor (+ DREAM) this pipeline produces (stored in templates)."""
        if self._model_info is None:
            self._model_info = current_model_info(self.use_dream, self.stem)
        return self._model_info

    @property
    def mode(self) -> str:
        """Which calibration applies (:func:`core.unlock.calibrate.calibration_mode`)."""
        return calibration_mode(self.stem, self.use_dream)

    def warmup(self, size: tuple[int, int] = (640, 480), runs: int = 2) -> None:
        """Run every stage on a synthetic frame (first calls allocate and pick kernels)."""
        with self._threads():
            self._warmup(size, runs)

    def _warmup(self, size: tuple[int, int], runs: int) -> None:
        _, landmarker, embedder = self._models()
        w, h = size
        rng = np.random.default_rng(0)
        frame = rng.integers(60, 200, (h, w, 3), dtype=np.uint8)
        box = np.array([[w * 0.35, h * 0.25, w * 0.65, h * 0.75]])
        for _ in range(runs):
            self._detector.detect(frame, min_score=self.min_score)  # type: ignore[union-attr]
            self.detect_near(frame, tuple(float(v) for v in box[0]))
            pts = landmarker.landmarks(frame, box)
            self._embed(embedder, frame, np.full((5, 2), np.nan), pts[0])
            if self.use_dream:
                self.mapper.map(np.full((1, stem_spec(self.stem).dim), 0.1, np.float32), np.array([10.0]))

    # --- per frame -------------------------------------------------------------------
    def detect_near(self, image: np.ndarray, box: tuple[float, float, float, float]) -> list[Detection]:
        """Faces in the square of ``ROI_SCALE`` × the box's longer side around ``box`` (original pixels).

        Faces cut by an edge of the region (inside the frame) are dropped: the head has moved and
        the caller detects the whole frame. Only for the CenterFace default; otherwise the whole frame
        is detected.
        """
        detector, _, _ = self._models()
        if self._roi_detector is None:
            return list(detector.detect(image, min_score=self.min_score).faces)
        h, w = image.shape[:2]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = max(box[2] - box[0], box[3] - box[1]) * ROI_SCALE / 2
        x1, y1 = max(0, int(cx - half)), max(0, int(cy - half))
        x2, y2 = min(w, int(math.ceil(cx + half))), min(h, int(math.ceil(cy + half)))
        if x2 - x1 < 16 or y2 - y1 < 16:
            return []
        crop = np.ascontiguousarray(image[y1:y2, x1:x2])
        faces = self._roi_detector.detect(crop, min_score=self.min_score).faces
        # a face cut by a region edge that is not the frame's edge has moved: its box is a fragment
        margin = 2.0
        cw, ch = x2 - x1, y2 - y1
        faces = [
            f
            for f in faces
            if not (
                (x1 > 0 and f.box[0] <= margin)
                or (y1 > 0 and f.box[1] <= margin)
                or (x2 < w and f.box[2] >= cw - margin)
                or (y2 < h and f.box[3] >= ch - margin)
            )
        ]
        return [
            Detection(
                (f.box[0] + x1, f.box[1] + y1, f.box[2] + x1, f.box[3] + y1),
                f.score,
                f.branch,
                None if f.landmarks is None else tuple((px + x1, py + y1) for px, py in f.landmarks),
            )
            for f in faces
        ]

    def analyze(
        self,
        image: np.ndarray,
        gates: QualityGates,
        embed_always: bool = False,
        near: tuple[float, float, float, float] | None = None,
        follow: LandmarkTrack | None = None,
    ) -> FrameAnalysis:
        """Run the stages on an RGB uint8 ``(H, W, 3)`` frame, stopping at the first failed gate group.

        near: the previous frame's face box: detect only around it (tracking); when no face is
        found there, the whole frame is detected in the same call.
        follow: the previous frame's :attr:`FrameAnalysis.track`: take the box from its landmarks
        and run no detector (:mod:`core.unlock.follow`); when the new landmarks do not follow,
        the whole frame is detected (``near`` is then ignored).
        """
        with self._threads():
            return self._analyze(image, gates, embed_always, near, follow)

    def _follow(
        self, image: np.ndarray, landmarker, track: LandmarkTrack
    ) -> tuple[Detection, np.ndarray] | None:
        """``(face, points68)`` found from ``track`` without the detector, or ``None``."""
        h, w = image.shape[:2]
        predicted = track.box()
        if predicted[0] < 0 or predicted[1] < 0 or predicted[2] > w or predicted[3] > h:
            return None  # at the frame's edge the detector judges what is left of the face
        points68 = landmarker.landmarks(image, np.array([predicted], dtype=np.float64))[0]
        if not track.follows(predicted, points68):
            return None
        box = tuple(float(v) for v in track.box(points68))
        return Detection(box, track.score, scale_range_of(box[3] - box[1]), None), points68

    def _analyze(self, image, gates, embed_always, near, follow) -> FrameAnalysis:
        detector, landmarker, embedder = self._models()
        size = (int(image.shape[1]), int(image.shape[0]))
        times = {"detect": 0.0, "landmarks": 0.0, "embed": 0.0}
        t0 = time.perf_counter()
        tracked = followed = False
        faces: list[Detection] = []
        points68 = None
        if follow is not None:
            found = self._follow(image, landmarker, follow)
            if found is not None:
                faces, points68 = [found[0]], found[1]
                tracked = followed = True
            else:
                near = None  # the face moved beyond what the landmarks follow: a region may cut it too
        if not faces and near is not None:
            faces = self.detect_near(image, near)
            tracked = bool(faces)
        if not faces:
            faces = list(detector.detect(image, min_score=self.min_score).faces)
        t1 = time.perf_counter()
        # a followed frame ran the landmark net instead of the detector: that time is the landmarks'
        times["detect"] = 0.0 if followed else (t1 - t0) * 1e3
        pre = count_and_size(faces, gates)
        if pre.box is None or (not pre.ok and not embed_always):
            return FrameAnalysis(size, faces, pre, timings_ms=times, tracked=tracked)
        main = next(f for f in faces if tuple(float(v) for v in f.box) == pre.box)
        if points68 is None:
            points68 = landmarker.landmarks(image, np.array([main.box], dtype=np.float64))[0]
            track = track_from_detection(pre.box, points68, main.score)
        else:
            track = follow.moved_to(points68)
        p5 = _points5(main, points68, followed)
        yaw = estimate_yaw(points68, p5)
        quality = assess(image, faces, yaw.yaw, gates, pre=pre)
        t2 = time.perf_counter()
        times["landmarks"] = (t2 - (t0 if followed else t1)) * 1e3
        if not quality.ok and not embed_always:
            return FrameAnalysis(size, faces, quality, None, yaw, None, times, tracked, followed, track)
        raw = self._embed(embedder, image, p5, points68)
        embedding = self.describe(raw, yaw.yaw)
        times["embed"] = (time.perf_counter() - t2) * 1e3
        record = FaceRecord(tuple(float(v) for v in main.box), float(main.score), p5, points68, raw)
        return FrameAnalysis(size, faces, quality, record, yaw, embedding, times, tracked, followed, track)

    def _embed(self, embedder, image: np.ndarray, points5: np.ndarray, points68: np.ndarray) -> np.ndarray:
        """The stem's raw ``(dim,)`` embedding of one face."""
        if self.stem == "faceapi":
            return embedder.embed(image, points68[None])[0].astype(np.float32)
        return embedder.embed(image, alignment_points(points5, points68)[None])[0].astype(np.float32)

    def describe(self, raw: np.ndarray, yaw_deg: float) -> np.ndarray | None:
        """Raw ``(dim,)`` descriptor → unit ``(dim,)`` (DREAM by yaw when on); ``None`` if not finite."""
        raw = np.asarray(raw, dtype=np.float32).reshape(1, -1)
        if not np.isfinite(raw).all():
            return None
        if self.use_dream:
            yaw = np.array([yaw_deg if math.isfinite(yaw_deg) else math.nan])
            return self.mapper.map(raw, yaw)[0]
        return l2_normalize(raw)[0]


def _points5(face: Detection, points68: np.ndarray, followed: bool) -> np.ndarray:
    """``(5, 2)`` points of the main face: the detector's when it gave them; on a followed frame (no
    detector ran) the same five read off the landmarks; otherwise NaN (the yaw then uses the 68 alone)."""
    if face.landmarks is not None and len(face.landmarks) == 5:
        return np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
    if followed:
        return landmarks68_to_5(points68)
    return np.full((5, 2), np.nan)
