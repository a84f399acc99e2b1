"""Per-pose-bucket thresholds from CFP training identities (stem alone and stem + DREAM).

Two kinds of threshold per bucket:

* ``accuracy_threshold`` — the best-accuracy cut over the official protocol
  pairs of the training folds (FF pairs for FF, FP pairs for FP): what CFP
  accuracy uses when a single fold is evaluated;
* FAR operating points — from *every* pair of training images, so that low
  FARs are backed by millions of impostor pairs instead of 350 per fold. A
  pair's bucket follows the fused yaw, as at run time: FF when both faces are
  below the profile cut, FP when exactly one is (pairs of two profiles are
  left out of calibration; at run time they use the FP thresholds).
"""

from __future__ import annotations

import numpy as np

from core.cfp.evaluate import fold_scores
from core.cfp.features import FeatureTable
from core.cfp.protocol import CfpProtocol
from core.cfp.stitching import table_identities
from core.recognize.calibration import calibrate_many
from core.recognize.dream import PROFILE_CUT_DEG, BucketCalibration
from core.recognize.roc import best_accuracy_threshold

DEFAULT_FARS = (1e-1, 1e-2, 1e-3, 1e-4)


def all_pair_scores(
    features: np.ndarray, identities: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, same_set: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``(genuine, impostor)`` cosine scores of every pair between two row sets (each pair once)."""
    sims = features[rows_a] @ features[rows_b].T
    same = identities[rows_a][:, None] == identities[rows_b][None, :]
    if same_set:
        upper = np.triu(np.ones(sims.shape, dtype=bool), k=1)
        return sims[same & upper].astype(np.float64), sims[~same & upper].astype(np.float64)
    return sims[same].astype(np.float64), sims[~same].astype(np.float64)


def calibrate_buckets(
    cfp: CfpProtocol,
    table: FeatureTable,
    features: np.ndarray,
    identities: set[int],
    folds: list[int],
    fars: tuple[float, ...] = DEFAULT_FARS,
    cut: float = PROFILE_CUT_DEG,
) -> dict[str, BucketCalibration]:
    """``{"FF": ..., "FP": ...}`` for one feature set (``features`` = unit rows of ``table``)."""
    assert table.yaw is not None, "attach_yaw first"
    ids = table_identities(table)
    ok = np.isfinite(features).all(axis=1) & np.isin(ids, list(identities)) & np.isfinite(table.yaw)
    frontal = np.flatnonzero(ok & (np.abs(table.yaw) < cut))
    profile = np.flatnonzero(ok & (np.abs(table.yaw) >= cut))
    out: dict[str, BucketCalibration] = {}
    for bucket in ("FF", "FP"):
        if bucket == "FF":
            genuine, impostor = all_pair_scores(features, ids, frontal, frontal, same_set=True)
        else:
            genuine, impostor = all_pair_scores(features, ids, frontal, profile, same_set=False)
        present = [k for k in folds if k in set(cfp.folds(bucket))]
        if present:
            loaded = [cfp.fold(bucket, k) for k in present]
            s = np.concatenate([fold_scores(table, features, f) for f in loaded])
            lab = np.concatenate([f.labels for f in loaded])
            keep = np.isfinite(s)
            acc_t, _ = best_accuracy_threshold(s[keep], lab[keep])
        else:  # no protocol pairs: the best-accuracy cut over the balanced all-pairs sets
            acc_t, _ = best_accuracy_threshold(
                np.concatenate([genuine, impostor]),
                np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))]),
            )
        points = calibrate_many(impostor, fars, genuine) if len(impostor) else []
        acc_far = float((impostor >= acc_t).mean()) if len(impostor) else float("nan")
        out[bucket] = BucketCalibration(acc_t, points, acc_far)
    return out
