"""Run a detector over every image of a WIDER split, producing evaluation-ready predictions."""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from core.detect.protocol import Detector
from core.detect.registry import EVAL_MIN_SCORE
from core.io.imageio import ImageLoadError
from core.progress import Progress
from core.wider.dataset import WiderDataset
from core.wider.predictions import image_key, rows_from_xyxy

log = logging.getLogger(__name__)


@dataclass
class SplitDetections:
    """Predictions for a split, keyed ``"<event>/<stem>"`` → ``(N, 5)`` ``x y w h score`` rows."""

    model: str
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # image name -> reason
    milliseconds: list[float] = field(default_factory=list)


def detect_split(
    detector: Detector, dataset: WiderDataset, min_score: float = EVAL_MIN_SCORE, token=None
) -> Generator[Progress, None, SplitDetections]:
    """Detect faces on each image; yields :class:`Progress` and returns :class:`SplitDetections`.

    An unreadable image is recorded in ``errors`` and counts as no detections
    (as a missing prediction file would); the run goes on. ``token`` (anything
    with a ``cancelled`` attribute) stops the loop early.
    """
    out = SplitDetections(detector.name)
    total = len(dataset)
    for i, sample in enumerate(dataset):
        if token is not None and token.cancelled:
            break
        key = image_key(sample.event, sample.name)
        try:
            image = sample.load_image()
        except ImageLoadError as exc:
            out.errors[sample.name] = exc.reason
            out.predictions[key] = np.zeros((0, 5))
            log.warning("%s", exc)
        else:
            result = detector.detect(image, min_score=min_score)
            boxes = np.array([f.box for f in result.faces], dtype=np.float64).reshape(-1, 4)
            scores = np.array([f.score for f in result.faces], dtype=np.float64)
            out.predictions[key] = rows_from_xyxy(boxes, scores)
            out.milliseconds.append(result.total_ms)
        yield Progress(i + 1, total)
    return out
