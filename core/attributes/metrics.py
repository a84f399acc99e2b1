"""Per-attribute metrics of binary attribute predictions, and their means over attributes.

* accuracy: fraction of correct predictions;
* balanced accuracy: ``(TPR + TNR) / 2``, the mean recall of the two classes,
  which a classifier cannot raise by always answering the majority class
  (that scores 0.5). When the truth holds one class only, it is that class's
  recall (the other is undefined);
* positive rate: fraction of positive *ground-truth* rows, the imbalance level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AttributeMetrics:
    """Scores of one attribute on N images (``tpr``/``tnr`` NaN when the class is absent)."""

    accuracy: float
    balanced_accuracy: float
    positive_rate: float
    tpr: float
    tnr: float
    count: int

    def to_json(self) -> dict[str, float]:
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "positive_rate": self.positive_rate,
        }


@dataclass(frozen=True)
class EvaluationReport:
    """One method's metrics on one split: per attribute (file order) and means over the attributes."""

    method: str
    attributes: dict[str, AttributeMetrics]

    @property
    def mean_accuracy(self) -> float:
        return float(np.mean([m.accuracy for m in self.attributes.values()]))

    @property
    def mean_balanced_accuracy(self) -> float:
        return float(np.mean([m.balanced_accuracy for m in self.attributes.values()]))

    def to_json(self) -> dict:
        """The ``attributes-eval`` JSON schema (method, attributes{name: metrics}, means)."""
        return {
            "method": self.method,
            "attributes": {name: m.to_json() for name, m in self.attributes.items()},
            "mean_accuracy": self.mean_accuracy,
            "mean_balanced_accuracy": self.mean_balanced_accuracy,
        }


def balanced_accuracy(truth: np.ndarray, pred: np.ndarray) -> float:
    """``(TPR + TNR) / 2`` of 1-D boolean arrays (see module docstring for one-class truths)."""
    return attribute_metrics(truth, pred).balanced_accuracy


def attribute_metrics(truth: np.ndarray, pred: np.ndarray) -> AttributeMetrics:
    """Metrics of one attribute from ``(N,)`` boolean truth and predictions."""
    t = np.asarray(truth, dtype=bool).ravel()
    p = np.asarray(pred, dtype=bool).ravel()
    if t.shape != p.shape:
        raise ValueError(f"truth has {t.size} rows, predictions {p.size}")
    n = t.size
    if n == 0:
        raise ValueError("no rows to evaluate")
    pos, neg = int(t.sum()), int(n - t.sum())
    tpr = float((p & t).sum() / pos) if pos else float("nan")
    tnr = float((~p & ~t).sum() / neg) if neg else float("nan")
    recalls = [r for r in (tpr, tnr) if r == r]
    return AttributeMetrics(
        accuracy=float((p == t).mean()),
        balanced_accuracy=float(np.mean(recalls)),
        positive_rate=pos / n,
        tpr=tpr,
        tnr=tnr,
        count=n,
    )


def evaluate_predictions(
    truth: np.ndarray, pred: np.ndarray, names: Sequence[str], method: str
) -> EvaluationReport:
    """``(N, A)`` boolean truth and predictions -> an :class:`EvaluationReport`."""
    t, p = np.asarray(truth, dtype=bool), np.asarray(pred, dtype=bool)
    if t.shape != p.shape or t.ndim != 2 or t.shape[1] != len(names):
        raise ValueError(f"shapes {t.shape} / {p.shape} do not match {len(names)} attributes")
    return EvaluationReport(
        method, {name: attribute_metrics(t[:, a], p[:, a]) for a, name in enumerate(names)}
    )


def roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of a ``(N,)`` score for a ``(N,)`` boolean truth (ties count half).

    Unlike balanced accuracy it ignores the decision threshold: it says how well the score
    *ranks* the faces, so it separates "a worse score" from "a misplaced threshold".
    NaN when the truth holds one class only.
    """
    t = np.asarray(truth, dtype=bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    pos, neg = int(t.sum()), int(t.size - t.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size)
    ranks[order] = np.arange(1, s.size + 1)
    # average ranks over ties
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    return float((ranks[t].sum() - pos * (pos + 1) / 2) / (pos * neg))


#: imbalance groups by the training positive rate: (label, low, high), low <= rate < high
IMBALANCE_GROUPS = (("rare (<10 %)", 0.0, 0.1), ("10-30 %", 0.1, 0.3), (">=30 %", 0.3, 1.01))


def group_means(values: Sequence[float] | np.ndarray, positive_rate: Sequence[float] | np.ndarray) -> dict:
    """Mean of per-attribute ``values`` within each :data:`IMBALANCE_GROUPS` group (by
    ``positive_rate``, the training positive rate of each attribute): ``{label: (mean, count)}``."""
    v, r = np.asarray(values, dtype=np.float64), np.asarray(positive_rate, dtype=np.float64)
    out = {}
    for label, lo, hi in IMBALANCE_GROUPS:
        sel = (r >= lo) & (r < hi)
        out[label] = (float(v[sel].mean()) if sel.any() else float("nan"), int(sel.sum()))
    return out
