"""Paired bootstrap confidence interval of a metric's difference between two systems on the same pairs.

Two stems (or a stem and its DREAM block) score the *same* pairs, so their
errors are correlated: resampling the pairs once for both systems (a paired
bootstrap) gives a much tighter and honest interval than two independent
ones. Genuine and impostor pairs are resampled separately (stratified), so
every replicate keeps the protocol's balance. Percentile interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.bootstrap import BootstrapInterval, percentile_interval
from core.recognize.roc import eer

__all__ = ["BootstrapInterval", "paired_bootstrap"]

Metric = Callable[[np.ndarray, np.ndarray], float]


def paired_bootstrap(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    labels: np.ndarray,
    metric: Metric = eer,
    replicates: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapInterval:
    """Interval of ``metric(scores_b) - metric(scores_a)`` over stratified resamples of the pairs."""
    a = np.asarray(scores_a, dtype=np.float64).ravel()
    b = np.asarray(scores_b, dtype=np.float64).ravel()
    lab = np.asarray(labels).ravel().astype(np.int8)
    if not (len(a) == len(b) == len(lab)):
        raise ValueError(f"scores and labels differ in length: {len(a)}, {len(b)}, {len(lab)}")
    genuine, impostor = np.flatnonzero(lab == 1), np.flatnonzero(lab == 0)
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError("the bootstrap needs genuine and impostor pairs")
    rng = np.random.default_rng(seed)
    diffs = np.empty(replicates)
    for r in range(replicates):
        idx = np.concatenate([rng.choice(genuine, len(genuine)), rng.choice(impostor, len(impostor))])
        diffs[r] = metric(b[idx], lab[idx]) - metric(a[idx], lab[idx])
    return percentile_interval(metric(b, lab) - metric(a, lab), diffs, level)
