"""Per-image review state, kept in a sidecar JSON beside the label file.

The official label txt has no place for editor state, and must stay
byte-identical to what annotators and evaluation tools expect, so review state
lives in ``<labels>.facescope-review.json``::

    {"format": "facescope-review", "version": 1, "label_file": "wider_face_val_bbx_gt.txt",
     "states": {"0--Parade/0_Parade_marchingband_1_20.jpg": "reviewed", ...}}

Only images that are not ``unreviewed`` are listed. Sidecars of all kinds are
named by :func:`sidecar_path`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from core.errors import FormatError

log = logging.getLogger(__name__)

REVIEW_FORMAT = "facescope-review"
REVIEW_VERSION = 1


class ReviewState(str, Enum):
    UNREVIEWED = "unreviewed"
    REVIEWED = "reviewed"
    NEEDS_ATTENTION = "needs_attention"


class ReviewFileError(FormatError, ValueError):
    """The review sidecar exists but cannot be used (it is never overwritten silently)."""


def sidecar_path(label_path: str | os.PathLike, kind: str) -> Path:
    """``<labels>.facescope-<kind>`` beside the label file (``review.json``, ``journal.jsonl``, ``audit.csv``)."""
    label_path = Path(label_path)
    return label_path.with_name(f"{label_path.name}.facescope-{kind}")


def review_path(label_path: str | os.PathLike) -> Path:
    return sidecar_path(label_path, "review.json")


def read_review(label_path: str | os.PathLike) -> dict[str, ReviewState]:
    """``{image name: state}`` for images not unreviewed; ``{}`` when there is no sidecar."""
    return read_review_file(review_path(label_path))


def read_review_file(path: str | os.PathLike) -> dict[str, ReviewState]:
    """The states in review sidecar ``path`` (wherever it lives); ``{}`` when it does not exist."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ReviewFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
        if data.get("format") != REVIEW_FORMAT:
            raise ValueError(f"not a {REVIEW_FORMAT} file")
        return {str(name): ReviewState(state) for name, state in data.get("states", {}).items()}
    except (ValueError, AttributeError, TypeError) as exc:
        raise ReviewFileError(f"{path}: {exc}") from exc


def format_review(label_path: str | os.PathLike, states: dict[str, ReviewState]) -> str:
    data = {
        "format": REVIEW_FORMAT,
        "version": REVIEW_VERSION,
        "label_file": Path(label_path).name,
        "states": {name: state.value for name, state in states.items() if state != ReviewState.UNREVIEWED},
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class FaceReviewRequest:
    """Ask the annotation editor to show one face for review (e.g. from the evaluation's FP/FN queue).

    box: ``x1 y1 x2 y2`` in image pixels. kind: ``"missed"`` (a labelled face no
    detection found: it is selected, ready to fix or to mark invalid with one
    key) or ``"false_positive"`` (a detection on no labelled face: it becomes a
    suggestion, accepted with one key when it is in fact a missing label).
    """

    label_path: Path
    images_root: Path
    image_name: str
    box: tuple[float, float, float, float]
    kind: str = "missed"
    score: float = 1.0
