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
