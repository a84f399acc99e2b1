"""The Evaluation panel's worker job: ground truth + predictions (read or detected) -> the official result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.detect.on_split import detect_split
from core.progress import Progress, relabelled
from core.wider.dataset import WiderDataset
from core.wider.evaluation import WiderEvalResult, evaluate
from core.wider.groundtruth import WiderGroundTruth, load_ground_truth
from core.wider.predictions import Submission, read_submission

SOURCE_FOLDER = "Prediction folder"
SOURCE_DETECTOR = "Run a detector on the split's images"


@dataclass
class EvaluationRun:
    """What one evaluation job produced (plain data for the GUI thread)."""

    gt: WiderGroundTruth
    result: WiderEvalResult
    predictions: dict[str, np.ndarray]
    images_dir: Path | None
    source: str


def labels_file(gt_path: Path) -> Path:
    if gt_path.is_file() and gt_path.suffix == ".txt":
        return gt_path
    found = sorted(gt_path.glob("*_bbx_gt.txt")) if gt_path.is_dir() else []
    if not found:
        raise FileNotFoundError(f"{gt_path}: running a detector needs a WIDER label file (*_bbx_gt.txt)")
    return found[0]


def evaluation_job(
    gt_path: Path,
    source: str,
    pred_dir: Path | None,
    images_dir: Path | None,
    detectors,
    model: str,
    mode: str,
    token=None,
):
    """Generator job: load GT, get predictions (read or detect), evaluate. Returns :class:`EvaluationRun`."""
    yield Progress(message="loading ground truth")
    gt = load_ground_truth(gt_path)
    if source == SOURCE_FOLDER:
        if pred_dir is None:
            raise ValueError("choose a prediction folder")
        yield Progress(message="reading predictions")
        submission: Submission = read_submission(pred_dir, expected=gt.keys, on_error="official")
        predictions: dict[str, np.ndarray] = dict(submission.predictions)
        label = f"predictions in {pred_dir}"
        evaluated = submission
    else:
        labels = labels_file(gt_path)
        dataset = WiderDataset.open(labels, images_dir)
        images_dir = dataset.images_dir
        yield Progress(0, len(dataset), f"loading {model}")
        detector = detectors.get(model)
        detections = yield from relabelled(
            detect_split(detector, dataset, token=token), lambda p: f"detecting {p.done}/{p.total}"
        )
        if token is not None and token.cancelled:
            return None
        predictions = detections.predictions
        label = f"{model} on {dataset.images_dir}" + (
            f" ({len(detections.errors)} unreadable)" if detections.errors else ""
        )
        evaluated = predictions
    yield Progress(message="evaluating")
    result = evaluate(gt, evaluated, mode=mode)
    return EvaluationRun(gt, result, predictions, images_dir, label)
