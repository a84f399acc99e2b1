"""Result types shared by the engine, the CLI and the GUI.

Conventions used everywhere in FaceScope:

* Images are RGB ``uint8`` numpy arrays of shape ``(H, W, 3)``.
* Boxes are ``(x1, y1, x2, y2)`` floats in pixels of the *original* image,
  origin at the top-left corner, x to the right, y down; ``x2``/``y2`` are the
  right/bottom edges (so width = ``x2 - x1``).
* Landmarks are ``((x, y), ...)`` in the same pixel frame: 5 points
  (left eye, right eye, nose, left mouth corner, right mouth corner, from the
  viewer's side) or 68 points (iBUG 300-W order).

Result objects are plain data: no tensors, no Qt objects, safe to pickle and to
send between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """One detected face.

    box: ``(x1, y1, x2, y2)`` in original-image pixels.
    score: detector confidence in [0, 1].
    branch: the scale branch (ScaleFace / SSD prediction-layer group) or, for
        single-head detectors, the scale range of the box: ``"small"``,
        ``"medium"`` or ``"large"`` (see :mod:`core.scale_ranges`).
    landmarks: 5 or 68 ``(x, y)`` points, or ``None``.
    """

    box: Box
    score: float
    branch: str
    landmarks: tuple[Point, ...] | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def to_json(self) -> dict:
        return {
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 5),
            "branch": self.branch,
            "landmarks": None
            if self.landmarks is None
            else [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
        }


@dataclass
class DetectionResult:
    """All detections of one detector on one image.

    faces: every kept detection, sorted by descending score.
    branches: the same detections split by the branch that produced them
        (per-level outputs kept as data, like torchvision's per-level split).
        Every branch name of the detector is a key, even when empty.
    branch_kind: ``"branch"`` when the detector really has scale-variant
        heads (SSD, ScaleFace), ``"scale_range"`` when the split is only by
        box size (CenterFace has a single head).
    image_size: ``(width, height)`` of the original image.
    timings_ms: per-stage wall times, e.g. ``{"preprocess": 1.2, "forward": 30.1}``.
    """

    faces: list[Detection]
    branches: dict[str, list[Detection]]
    model: str
    image_size: tuple[int, int]
    branch_kind: str = "branch"
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return sum(self.timings_ms.values())


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a 1:1 comparison at an operating point.

    score: cosine similarity of the two embeddings (higher = more alike).
    threshold: the score threshold of the operating point.
    far: the false-accept rate the threshold was calibrated for.
    accepted: ``score >= threshold``.
    """

    score: float
    threshold: float
    far: float
    accepted: bool
