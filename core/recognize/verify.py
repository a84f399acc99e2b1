"""1:1 verification: two faces → yaw, gate, cosine with and without DREAM, decision per pose bucket.

:class:`Verifier` describes each face (:class:`FaceSide`: the stem record,
fused yaw, DREAM gate, unit descriptors with and without DREAM) and compares
two of them (:class:`PairResult`). The decision uses the threshold shipped
with the DREAM block for the pair's pose bucket (FF: both faces below the
35° profile cut; FP otherwise) and the chosen mode, at a target FAR
(default 1e-2) or, with ``far=None``, at the CFP best-accuracy cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.recognize.dream import DEFAULT_FAR, DreamMapper, bucket_of, gate_value, l2_normalize
from core.recognize.evidence import DecisionEvidence, decision_evidence
from core.recognize.faces import FacePipeline, FaceRecord
from core.recognize.pose import estimate_yaw
from core.recognize.stem_calibration import NoDreamError, StemOnlyMapper, mapper_for_stem
from core.recognize.stems import DEFAULT_STEM
from core.recognize.yaw import YawEstimate
from core.types import VerificationResult


@dataclass(frozen=True)
class FaceSide:
    """One face ready for comparison: ``stem``/``dream`` are ``(dim,)`` unit float32 vectors.

    A stem without a DREAM block gives ``dream`` equal to ``stem``.
    """

    record: FaceRecord
    yaw: YawEstimate
    gate: float
    stem: np.ndarray
    dream: np.ndarray


@dataclass(frozen=True)
class PairResult:
    """The comparison of two faces.

    result: the decision for ``mode`` (``"dream"`` or ``"stem"``) at ``operating_point``.
    score_stem / score_dream: cosine without / with DREAM (NaN if a descriptor failed).
    evidence: how strong the decision is: the bucket's measured error rates at the threshold and
        whether a neighbouring operating point decides otherwise.
    """

    a: FaceSide
    b: FaceSide
    bucket: str
    mode: str
    score_stem: float
    score_dream: float
    result: VerificationResult
    operating_point: str
    evidence: DecisionEvidence

    def to_json(self) -> dict:
        """The ``verify`` schema: score, threshold, accepted, yaw, gate (+ context fields)."""

        def r(v: float, n: int = 6) -> float | None:
            return None if not math.isfinite(v) else round(float(v), n)

        return {
            "score": r(self.result.score),
            "threshold": r(self.result.threshold),
            "accepted": bool(self.result.accepted),
            "yaw": [r(self.a.yaw.yaw, 2), r(self.b.yaw.yaw, 2)],
            "gate": [r(self.a.gate, 4), r(self.b.gate, 4)],
            "dream": self.mode == "dream",
            "bucket": self.bucket,
            "far": r(self.result.far, 8),
            "operating_point": self.operating_point,
            "score_stem": r(self.score_stem),
            "score_dream": r(self.score_dream),
            "yaw_confidence": [round(self.a.yaw.confidence, 3), round(self.b.yaw.confidence, 3)],
        }


def cosine(u: np.ndarray, v: np.ndarray) -> float:
    """Dot product of unit vectors (NaN propagates)."""
    return float(np.dot(np.asarray(u, np.float64), np.asarray(v, np.float64)))


class Verifier:
    """Face pipeline + DREAM block + shipped thresholds.

    pipeline: the stem (detector, landmarks, descriptor); built lazily by default.
    mapper: the DREAM block or the stem's calibration (default: the shipped one of ``stem``,
        loaded on first use).
    far: target FAR of the decision, or ``None`` for the CFP best-accuracy threshold.
    stem: the embedding network (:data:`core.recognize.stems.STEMS`); ignored when ``pipeline`` is given.
    """

    def __init__(
        self,
        pipeline: FacePipeline | None = None,
        mapper: DreamMapper | StemOnlyMapper | None = None,
        far: float | None = DEFAULT_FAR,
        stem: str = DEFAULT_STEM,
    ) -> None:
        self.pipeline = pipeline or FacePipeline(stem=stem)
        self._mapper = mapper
        self.far = far

    @property
    def stem(self) -> str:
        return self.pipeline.stem

    @property
    def mapper(self) -> DreamMapper | StemOnlyMapper:
        if self._mapper is None:
            self._mapper = mapper_for_stem(self.stem)
        return self._mapper

    @property
    def has_dream(self) -> bool:
        return self.mapper.has_dream

    def describe(self, record: FaceRecord) -> FaceSide:
        yaw = estimate_yaw(record.landmarks68, record.points5)
        stem = l2_normalize(record.embedding[None])[0]
        mapped = self.mapper.map(record.embedding[None], np.array([yaw.yaw]))[0]
        return FaceSide(record, yaw, float(gate_value(yaw.yaw)), stem, mapped)

    def describe_image(self, image: np.ndarray) -> FaceSide | None:
        """The main face of a portrait-like image (whole image when no face is detected)."""
        record = self.pipeline.main_face(image)
        return None if record is None else self.describe(record)

    def describe_faces(self, image: np.ndarray, max_faces: int | None = None) -> list[FaceSide]:
        return [self.describe(r) for r in self.pipeline.records(image, max_faces=max_faces)]

    def threshold(self, mode: str, bucket: str) -> tuple[float, float, str]:
        """``(threshold, far, label)`` for a mode and bucket at this verifier's operating point."""
        cal = self.mapper.thresholds(mode, bucket)
        if self.far is None:
            return cal.accuracy_threshold, cal.accuracy_far, "best accuracy (CFP folds 1-8)"
        op = cal.at_far(self.far)
        return op.threshold, op.target_far, f"FAR {op.target_far:g} ({op.impostors} impostor pairs)"

    def compare(self, a: FaceSide, b: FaceSide, use_dream: bool = True) -> PairResult:
        """Decide one pair; ``use_dream`` with a stem that has no DREAM block raises :class:`NoDreamError`."""
        if use_dream and not self.has_dream:
            raise NoDreamError(f"the {self.stem} stem has no DREAM block: verify without DREAM")
        bucket = bucket_of(a.yaw.yaw, b.yaw.yaw)
        s_stem, s_dream = cosine(a.stem, b.stem), cosine(a.dream, b.dream)
        mode = "dream" if use_dream else "stem"
        score = s_dream if use_dream else s_stem
        threshold, far, label = self.threshold(mode, bucket)
        evidence = decision_evidence(self.mapper.thresholds(mode, bucket), self.far, bucket, score, threshold)
        result = VerificationResult(score, threshold, far, evidence.accepted)
        return PairResult(a, b, bucket, mode, s_stem, s_dream, result, label, evidence)
