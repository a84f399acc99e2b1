"""Paired bootstrap over faces: how sure is a difference in mean balanced accuracy?

Two methods scored on the same N faces differ by ``mean BA(A) - mean BA(B)``
over the attributes. Resampling the *faces* with replacement (the same draw
for both methods: paired) and recomputing both means gives the spread of that
difference; the 2.5 and 97.5 percentiles are its 95 % interval. A face is the
unit because its 40 labels are correlated.
"""

from __future__ import annotations

import numpy as np

from core.bootstrap import BootstrapInterval, percentile_interval


def _mean_balanced_accuracy(weights: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``(R, N)`` face counts, ``(N, A)`` truth / predictions -> ``(R,)`` mean BA over attributes.

    A class absent from a resample leaves that attribute the other class's
    recall, as :func:`core.attributes.metrics.attribute_metrics` does.
    """
    t, p = truth.astype(np.float64), pred.astype(np.float64)
    pos = weights @ t
    neg = weights @ (1 - t)
    tp = weights @ (t * p)
    tn = weights @ ((1 - t) * (1 - p))
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr, tnr = tp / pos, tn / neg
    ba = np.nanmean(np.stack([tpr, tnr]), axis=0)
    return np.nanmean(ba, axis=1)


def paired_bootstrap(
    truth: np.ndarray,
    pred_first: np.ndarray,
    pred_second: np.ndarray,
    *,
    attributes: np.ndarray | None = None,
    resamples: int = 2000,
    seed: int = 0,
    chunk: int = 250,
) -> BootstrapInterval:
    """95 % interval of mean BA(first) − mean BA(second) over ``(N, A)`` boolean arrays;
    ``attributes``: column indices to average over (e.g. the 10 rarest), default all."""
    t, a, b = (np.asarray(x, dtype=bool) for x in (truth, pred_first, pred_second))
    if not (t.shape == a.shape == b.shape) or t.ndim != 2 or len(t) == 0:
        raise ValueError(f"shapes {t.shape} / {a.shape} / {b.shape} are not one (N, A)")
    if attributes is not None:
        t, a, b = t[:, attributes], a[:, attributes], b[:, attributes]
    n = len(t)
    ones = np.ones((1, n))
    observed = float(_mean_balanced_accuracy(ones, t, a)[0] - _mean_balanced_accuracy(ones, t, b)[0])
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, resamples, chunk):
        r = min(chunk, resamples - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=r).astype(np.float64)
        diffs.append(_mean_balanced_accuracy(weights, t, a) - _mean_balanced_accuracy(weights, t, b))
    return percentile_interval(observed, np.concatenate(diffs), 0.95)


def rarest(positive_rate: np.ndarray, count: int = 10) -> np.ndarray:
    """Indices of the ``count`` attributes with the lowest positive rate, rarest first (the
    grouping every attribute table of this package uses)."""
    return np.argsort(np.asarray(positive_rate, dtype=np.float64), kind="stable")[:count]
