"""Verification metrics from genuine/impostor scores: ROC, EER, AUC, TAR at FAR, best-accuracy threshold.

Scores are similarities (higher = more alike); a pair is accepted when
``score >= threshold``. ``labels`` are 1 for genuine (same person) and 0 for
impostor pairs. All functions take 1-D arrays and are exact (no binning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roc:
    """ROC over every distinct threshold, from the strictest to the most lenient.

    thresholds ``(K,)`` decreasing; far, tar ``(K,)`` non-decreasing, with a
    leading ``(0, 0)`` point at ``threshold = +inf``.
    """

    thresholds: np.ndarray
    far: np.ndarray
    tar: np.ndarray


def _split(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"{scores.shape[0]} scores but {labels.shape[0]} labels")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite (drop pairs whose embedding failed first)")
    genuine, impostor = scores[labels], scores[~labels]
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError("need at least one genuine and one impostor pair")
    return genuine, impostor


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> Roc:
    genuine, impostor = _split(scores, labels)
    thresholds = np.unique(np.concatenate([genuine, impostor]))[::-1]
    g = np.sort(genuine)
    i = np.sort(impostor)
    tar = (len(g) - np.searchsorted(g, thresholds, side="left")) / len(g)
    far = (len(i) - np.searchsorted(i, thresholds, side="left")) / len(i)
    return Roc(
        np.concatenate([[np.inf], thresholds]), np.concatenate([[0.0], far]), np.concatenate([[0.0], tar])
    )


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC = P(genuine score > impostor score) + ½ P(tie) (Mann–Whitney)."""
    genuine, impostor = _split(scores, labels)
    both = np.concatenate([genuine, impostor])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    sorted_scores = both[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    rank_sum = ranks[: len(genuine)].sum()
    u = rank_sum - len(genuine) * (len(genuine) + 1) / 2.0
    return float(u / (len(genuine) * len(impostor)))


def eer(scores: np.ndarray, labels: np.ndarray) -> float:
    """Equal error rate: where FAR equals FRR = 1 − TAR, linearly interpolated on the ROC."""
    roc = roc_curve(scores, labels)
    frr = 1.0 - roc.tar
    diff = roc.far - frr  # increases from -1 to >= 0 along the curve
    k = int(np.argmax(diff >= 0))
    if k == 0:
        return float(roc.far[0])
    d0, d1 = diff[k - 1], diff[k]
    w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    return float(roc.far[k - 1] + w * (roc.far[k] - roc.far[k - 1]))


def tar_at_far(scores: np.ndarray, labels: np.ndarray, far: float) -> float:
    """Highest TAR among thresholds whose FAR is ≤ ``far``."""
    roc = roc_curve(scores, labels)
    ok = roc.far <= far + 1e-15
    return float(roc.tar[ok].max())


def best_accuracy_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(threshold, accuracy)`` maximising accuracy; the threshold is a midpoint between scores.

    Ties between equally good thresholds go to the middle one of the best run
    (a stable choice for the CFP "threshold from the other folds" protocol).
    """
    genuine, impostor = _split(scores, labels)
    values = np.unique(np.concatenate([genuine, impostor]))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    g, i = np.sort(genuine), np.sort(impostor)
    correct = (len(g) - np.searchsorted(g, cuts, side="left")) + np.searchsorted(i, cuts, side="left")
    acc = correct / (len(g) + len(i))
    best = np.flatnonzero(acc == acc.max())
    pick = best[len(best) // 2]
    return float(cuts[pick]), float(acc[pick])


def accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    return float(((scores >= threshold) == labels).mean())
