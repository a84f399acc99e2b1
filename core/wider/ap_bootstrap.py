"""A paired bootstrap over images for the difference in WIDER AP between two detectors.

Matching a prediction to a face never looks outside its image
(:mod:`core.wider.matching`), so each detector is matched once, and a
replicate only re-weights predictions and faces by how often the resample drew
their image: the curve of :func:`core.wider.evaluation.setting_curve` with
weights instead of ones. Scores keep the normalisation of the whole set, so the
replicate of the set as given reproduces :func:`~core.wider.evaluation.evaluate`'s
AP exactly. Both detectors see the same resamples.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.bootstrap import BootstrapInterval, percentile_interval
from core.wider.evaluation import pr_curve, setting_weights, threshold_bins, voc_ap
from core.wider.groundtruth import WiderGroundTruth
from core.wider.matching import match_predictions


class _Matched:
    """One detector's matches, ready to be re-weighted per image."""

    def __init__(self, gt: WiderGroundTruth, predictions: Mapping[str, np.ndarray], keep: np.ndarray) -> None:
        table = match_predictions(gt, predictions, "official")
        self.bins = threshold_bins(table.score)
        self.image = table.image
        self.counted, self.hit = setting_weights(table, keep)

    def ap(self, image_weights: np.ndarray, faces: float) -> float:
        w = image_weights[self.image]
        _, _, precision, recall = pr_curve(self.bins, self.counted * w, self.hit * w, faces)
        return voc_ap(recall, precision)


def paired_ap_bootstrap(
    gt: WiderGroundTruth,
    predictions_a: Mapping[str, np.ndarray],
    predictions_b: Mapping[str, np.ndarray],
    setting: str,
    replicates: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Interval of AP(b) − AP(a) on ``setting`` over resamples of ``gt``'s images.

    predictions: ``"<event>/<stem>" -> (N, 5) x y w h score`` rows, as for ``evaluate``."""
    if setting not in gt.keep:
        raise ValueError(f"unknown setting {setting!r}; the ground truth has {list(gt.keep)}")
    keep = gt.keep[setting]
    a, b = _Matched(gt, predictions_a, keep), _Matched(gt, predictions_b, keep)
    faces_per_image = _faces_per_image(gt, keep)
    n = gt.num_images
    ones = np.ones(n)
    full = b.ap(ones, float(keep.sum())) - a.ap(ones, float(keep.sum()))
    rng = np.random.default_rng(seed)
    diffs = np.empty(replicates)
    for r in range(replicates):
        weights = np.bincount(rng.integers(n, size=n), minlength=n).astype(np.float64)
        faces = float(weights @ faces_per_image)
        diffs[r] = b.ap(weights, faces) - a.ap(weights, faces) if faces else np.nan
    return percentile_interval(full, diffs, level)


def _faces_per_image(gt: WiderGroundTruth, keep: np.ndarray) -> np.ndarray:
    return np.bincount(gt.image_of_row, weights=keep.astype(np.float64), minlength=gt.num_images)
