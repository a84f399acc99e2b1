"""Exports of a :class:`WiderEvalResult`: JSON and the per-image review queue.

JSON layout (``result_to_json``)::

    {"mode": "official", "easy": 0.91, "medium": 0.88, "hard": 0.71,
     "curves": {"easy": {"thresholds": [...1000], "precision": [...], "recall": [...]}, ...},
     "breakdown": {"hard": {"blur": {"clear": {"num_faces": .., "ap": .., "recall": ..}, ...},
                            "size": {"<10": {...}, ...}, "scaleface": {...}}, ...},
     "num_images": .., "num_predictions": .., "missing_files": [...], "dropped_files": [...],
     "score_range": [min, max], "seconds": ..}

NaN (precision where nothing passes a threshold, AP of an empty bucket) is
written as ``null``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.atomic import write_text_atomic
from core.wider.evaluation import THRESHOLDS, SettingResult, WiderEvalResult
from core.wider.groundtruth import ALL_FACES, WiderGroundTruth


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _array(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else v for v in np.asarray(values, dtype=np.float64).tolist()]


def result_to_json(result: WiderEvalResult, curves: bool = True) -> dict:
    """A JSON-ready dict (see module doc)."""
    out: dict = {"mode": result.mode}
    for name, setting in result.settings.items():
        out[name] = _num(setting.ap)
    if curves:
        out["curves"] = {
            name: {
                "thresholds": THRESHOLDS.tolist(),
                "precision": _array(s.precision),
                "recall": _array(s.recall),
                "num_faces": s.num_faces,
            }
            for name, s in result.settings.items()
        }
    breakdown: dict = {}
    for entry in result.breakdown:
        breakdown.setdefault(entry.setting, {}).setdefault(entry.group, {})[entry.value] = {
            "num_faces": entry.num_faces,
            "ap": _num(entry.ap),
            "recall": _num(entry.recall),
        }
    out["breakdown"] = breakdown
    out.update(
        num_images=result.num_images,
        num_predictions=result.num_predictions,
        num_evaluated_predictions=result.num_evaluated_predictions,
        missing_files=list(result.missing),
        dropped_files=list(result.dropped),
        score_range=[result.score_min, result.score_max],
        seconds=round(result.seconds, 4),
    )
    return out


def write_result_json(path: str | os.PathLike, result: WiderEvalResult, curves: bool = True) -> Path:
    return write_text_atomic(path, json.dumps(result_to_json(result, curves), indent=1) + "\n", fsync=False)


def best_f1_threshold(setting: SettingResult) -> float:
    """The normalised-score threshold with the highest F1 on a setting's curve."""
    p = np.nan_to_num(setting.precision)
    r = np.nan_to_num(setting.recall)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return float(setting.thresholds[int(np.argmax(f1))])


@dataclass
class ImageReview:
    """One image of the review queue, at a score threshold, for one setting.

    Prediction indices are rows of the image's prediction file (file order);
    face indices are 0-based positions in the image's ground truth.
    true_positives: first prediction on a kept face.
    false_positives: counted predictions that hit no kept face (background or duplicates).
    ignored: predictions bound to faces outside the setting (neither hit nor false positive).
    missed: kept faces with no prediction above the threshold.
    """

    key: str
    name: str
    true_positives: list[int] = field(default_factory=list)
    false_positives: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return len(self.false_positives) + len(self.missed)


def review_queue(
    result: WiderEvalResult,
    gt: WiderGroundTruth,
    setting: str = "hard",
    threshold: float | None = None,
    errors_only: bool = True,
) -> list[ImageReview]:
    """Per-image TP / FP / FN lists, worst images first (most errors).

    threshold: normalised score threshold (the curve's x axis); ``None`` picks
        the best-F1 threshold of ``setting``. Duplicates are also listed in
        ``false_positives`` (the official protocol counts them as such).
    """
    table = result.matches
    if table is None:
        raise ValueError("the result carries no match table")
    if setting not in result.settings:
        raise ValueError(f"setting {setting!r} was not evaluated")
    keep = gt.all_faces_mask() if setting == ALL_FACES else gt.keep[setting]
    thr = best_f1_threshold(result.settings[setting]) if threshold is None else float(threshold)
    passed = table.score >= thr
    bound = table.face >= 0
    kept = np.zeros(len(table), dtype=bool)
    kept[bound] = keep[table.face[bound]]
    tp = passed & kept & table.first
    dup = passed & kept & ~table.first
    ign = passed & bound & ~kept
    fp = passed & ~(tp | ign)
    hit_faces = np.zeros(len(gt.boxes), dtype=bool)
    hit_faces[table.face[tp]] = True
    missed_rows = np.flatnonzero(keep & ~hit_faces)
    reviews: dict[int, ImageReview] = {}

    def entry(i: int) -> ImageReview:
        if i not in reviews:
            reviews[i] = ImageReview(gt.keys[i], gt.names[i])
        return reviews[i]

    for mask, attr in (
        (tp, "true_positives"),
        (fp, "false_positives"),
        (dup, "duplicates"),
        (ign, "ignored"),
    ):
        for i, row in zip(table.image[mask].tolist(), table.row[mask].tolist(), strict=True):
            getattr(entry(i), attr).append(row)
    for face_row in missed_rows.tolist():
        i = int(gt.image_of_row[face_row])
        entry(i).missed.append(face_row - int(gt.offsets[i]))
    queue = [r for r in reviews.values() if r.errors or not errors_only]
    queue.sort(key=lambda r: (-r.errors, r.key))
    return queue
