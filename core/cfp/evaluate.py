"""CFP verification per fold: accuracy, EER, AUC and ROC, stem alone or stem + DREAM.

Per fold (350 same + 350 different pairs):

* ``eer`` and ``auc`` need no threshold;
* ``accuracy`` uses a threshold chosen on the *other evaluated folds* (the
  best-accuracy cut over their pairs, the official 10-fold protocol); when a
  single fold is evaluated there are no others, and the calibrated threshold
  shipped with the DREAM file (best accuracy on folds 1–8, per pose bucket
  and mode) is used instead (``threshold_source = "shipped"``).

Scores are cosine similarities of L2-normalised descriptors, mapped by DREAM
or not (:mod:`core.recognize.dream`). Features come from the cached
:class:`~core.cfp.features.FeatureTable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.cfp.features import FeatureTable
from core.cfp.protocol import CfpProtocol, Fold
from core.recognize.dream import DreamMapper, l2_normalize
from core.recognize.roc import Roc, accuracy, auc, best_accuracy_threshold, eer, roc_curve


@dataclass(frozen=True)
class FoldResult:
    """One fold's figures; rates are fractions in 0..1."""

    fold: int
    accuracy: float
    threshold: float
    threshold_source: str  # "other folds" or "shipped"
    eer: float
    auc: float
    roc: Roc
    pairs: int

    def to_json(self) -> dict:
        return {
            "fold": self.fold,
            "accuracy": round(self.accuracy, 6),
            "eer": round(self.eer, 6),
            "auc": round(self.auc, 6),
            "threshold": round(self.threshold, 6),
            "threshold_source": self.threshold_source,
            "pairs": self.pairs,
        }


@dataclass
class PairScores:
    """Every evaluated pair: fold number, keys, label (1 same) and score, in fold order."""

    fold: np.ndarray
    keys_a: list[str]
    keys_b: list[str]
    labels: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray  # the accuracy threshold of each pair's fold


@dataclass
class CfpEvaluation:
    """The result of :func:`evaluate_protocol`."""

    protocol: str
    dream: bool
    folds: list[FoldResult]
    pairs: PairScores
    roc: Roc  # over all evaluated pairs pooled (for plots)
    notes: list[str] = field(default_factory=list)

    @property
    def accuracy_mean(self) -> float:
        return float(np.mean([f.accuracy for f in self.folds]))

    @property
    def accuracy_std(self) -> float:
        return float(np.std([f.accuracy for f in self.folds]))

    @property
    def eer_mean(self) -> float:
        return float(np.mean([f.eer for f in self.folds]))

    @property
    def eer_std(self) -> float:
        return float(np.std([f.eer for f in self.folds]))

    @property
    def auc_mean(self) -> float:
        return float(np.mean([f.auc for f in self.folds]))

    def to_json(self) -> dict:
        """The ``cfp-eval`` schema (plus per-fold thresholds)."""
        return {
            "protocol": self.protocol,
            "dream": self.dream,
            "folds": [f.to_json() for f in self.folds],
            "accuracy_mean": round(self.accuracy_mean, 6),
            "accuracy_std": round(self.accuracy_std, 6),
            "eer_mean": round(self.eer_mean, 6),
            "auc_mean": round(self.auc_mean, 6),
        }

    def worst(self, kind: str, count: int = 12) -> list[int]:
        """Indices into :attr:`pairs` of the worst false accepts (``"fa"``: highest-scoring different
        pairs at or above their threshold) or false rejects (``"fr"``: lowest-scoring same pairs below it)."""
        p = self.pairs
        if kind == "fa":
            idx = np.flatnonzero((p.labels == 0) & (p.scores >= p.thresholds))
            return idx[np.argsort(-p.scores[idx], kind="stable")][:count].tolist()
        if kind == "fr":
            idx = np.flatnonzero((p.labels == 1) & (p.scores < p.thresholds))
            return idx[np.argsort(p.scores[idx], kind="stable")][:count].tolist()
        raise ValueError(f"kind must be 'fa' or 'fr', got {kind!r}")


def table_features(table: FeatureTable, mapper: DreamMapper | None) -> np.ndarray:
    """``(N, 128)`` unit rows: the stem's descriptors, or DREAM-mapped ones when ``mapper`` is given."""
    if mapper is None:
        return l2_normalize(table.embeddings)
    if table.yaw is None:
        raise ValueError("the feature table has no yaw (use core.cfp.features.attach_yaw)")
    return mapper.map(table.embeddings, table.yaw)


def fold_scores(table: FeatureTable, features: np.ndarray, fold: Fold) -> np.ndarray:
    """Cosine scores of a fold's pairs (NaN where a descriptor failed)."""
    a, b = table.rows(fold.keys_a), table.rows(fold.keys_b)
    return np.einsum("ij,ij->i", features[a], features[b]).astype(np.float64)


def evaluate_protocol(
    cfp: CfpProtocol,
    table: FeatureTable,
    protocol: str,
    folds: list[int],
    mapper: DreamMapper | None = None,
    use_dream: bool = False,
    shipped_threshold: float | None = None,
) -> CfpEvaluation:
    """Evaluate ``folds`` of ``protocol`` ("FF"/"FP") on cached features.

    mapper: the DREAM block (needed when ``use_dream``; its calibration gives
    the single-fold threshold unless ``shipped_threshold`` is passed).
    Pairs whose descriptor is NaN are scored as -1 (always rejected) and counted in ``notes``.
    """
    if not folds:
        raise ValueError("no folds to evaluate")
    if use_dream and mapper is None:
        raise ValueError("DREAM evaluation needs the DREAM block")
    features = table_features(table, mapper if use_dream else None)
    loaded = [cfp.fold(protocol, k) for k in folds]
    scores = [fold_scores(table, features, f) for f in loaded]
    notes = []
    bad = sum(int(np.isnan(s).sum()) for s in scores)
    if bad:
        notes.append(f"{bad} pair(s) without a descriptor scored -1")
        scores = [np.nan_to_num(s, nan=-1.0) for s in scores]
    results: list[FoldResult] = []
    thresholds = []
    for i, (fold, s) in enumerate(zip(loaded, scores, strict=True)):
        if len(loaded) > 1:
            other_s = np.concatenate([x for j, x in enumerate(scores) if j != i])
            other_l = np.concatenate([f.labels for j, f in enumerate(loaded) if j != i])
            threshold, _ = best_accuracy_threshold(other_s, other_l)
            source = "other folds"
        else:
            if shipped_threshold is None:
                if mapper is None:
                    raise ValueError(
                        "a single fold needs the shipped threshold (DREAM file) or shipped_threshold"
                    )
                mode = "dream" if use_dream else "stem"
                shipped_threshold = mapper.thresholds(mode, protocol).accuracy_threshold
            threshold, source = float(shipped_threshold), "shipped"
        thresholds.append(threshold)
        results.append(
            FoldResult(
                fold=fold.number,
                accuracy=accuracy(s, fold.labels, threshold),
                threshold=threshold,
                threshold_source=source,
                eer=eer(s, fold.labels),
                auc=auc(s, fold.labels),
                roc=roc_curve(s, fold.labels),
                pairs=len(fold),
            )
        )
    all_scores = np.concatenate(scores)
    all_labels = np.concatenate([f.labels for f in loaded])
    pairs = PairScores(
        fold=np.concatenate([np.full(len(f), f.number) for f in loaded]),
        keys_a=[k for f in loaded for k in f.keys_a],
        keys_b=[k for f in loaded for k in f.keys_b],
        labels=all_labels,
        scores=all_scores,
        thresholds=np.concatenate([np.full(len(f), t) for f, t in zip(loaded, thresholds, strict=True)]),
    )
    return CfpEvaluation(protocol, use_dream, results, pairs, roc_curve(all_scores, all_labels), notes)


def fold_keys(cfp: CfpProtocol, protocols: tuple[str, ...], folds: list[int]) -> list[str]:
    """Every image key the given folds' pairs use (sorted, unique)."""
    keys: set[str] = set()
    for protocol in protocols:
        for k in folds:
            f = cfp.fold(protocol, k)
            keys.update(f.keys_a)
            keys.update(f.keys_b)
    return sorted(keys)
