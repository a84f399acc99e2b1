"""DREAM's stitching data from CFP features: profile inputs and their identity's mean frontal target.

Stitching (the DREAM paper's second training stage, adapted to a frozen stem):
for every training image whose fused yaw is ``|yaw| >= profile_min_yaw``,
the input is its descriptor in DREAM space (:func:`core.recognize.dream.to_dream_space`)
and the target is the normalised mean DREAM-space descriptor of the same
identity's images with ``|yaw| <= frontal_max_yaw``. The DREAM-space centre
is the mean raw descriptor of those frontal images over the training
identities. Everything here is a deterministic function of the cached
features and the options, so the exporter can rebuild it from a checkpoint's config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.cfp.features import FeatureTable
from core.cfp.protocol import identity_of, parse_folds
from core.recognize.dream import l2_normalize, to_dream_space


@dataclass
class StitchingSet:
    """inputs ``(N, d)`` unit rows (DREAM space), yaw ``(N,)`` degrees, targets ``(N, d)`` unit rows."""

    keys: list[str]
    identities: np.ndarray
    inputs: np.ndarray
    yaw: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


def identities_of_folds(folds: str | list[int], per_fold: int = 50) -> set[int]:
    """Identities of official CFP folds (fold k = ``50(k-1)+1 … 50k``)."""
    numbers = parse_folds(folds) if isinstance(folds, str) else folds
    return {i for k in numbers for i in range(per_fold * (k - 1) + 1, per_fold * k + 1)}


def table_identities(table: FeatureTable) -> np.ndarray:
    return np.array([identity_of(k) for k in table.keys], dtype=np.int64)


def frontal_mask(table: FeatureTable, frontal_max_yaw: float) -> np.ndarray:
    assert table.yaw is not None, "attach_yaw first"
    ok = np.isfinite(table.yaw) & (np.abs(table.yaw) <= frontal_max_yaw)
    return ok & np.isfinite(table.embeddings).all(axis=1)


def dream_center(table: FeatureTable, identities: set[int], frontal_max_yaw: float = 20.0) -> np.ndarray:
    """``(d,)`` float32: mean raw descriptor of the training identities' frontal images."""
    ids = table_identities(table)
    mask = frontal_mask(table, frontal_max_yaw) & np.isin(ids, list(identities))
    if not mask.any():
        raise ValueError("no frontal image of the training identities to centre DREAM space on")
    return table.embeddings[mask].astype(np.float64).mean(axis=0).astype(np.float32)


def build_stitching(
    table: FeatureTable,
    identities: set[int],
    center: np.ndarray,
    profile_min_yaw: float = 50.0,
    frontal_max_yaw: float = 20.0,
) -> StitchingSet:
    """The stitching pairs of ``identities`` (profiles without a frontal of their identity are skipped)."""
    assert table.yaw is not None, "attach_yaw first"
    ids = table_identities(table)
    fc, _ = to_dream_space(table.embeddings, center)
    frontal = frontal_mask(table, frontal_max_yaw)
    targets: dict[int, np.ndarray] = {}
    for ident in identities:
        m = frontal & (ids == ident)
        if m.any():
            targets[ident] = l2_normalize(fc[m].mean(axis=0, keepdims=True))[0]
    profile = np.isfinite(table.yaw) & (np.abs(table.yaw) >= profile_min_yaw)
    profile &= np.isfinite(fc).all(axis=1)
    rows = [i for i in np.flatnonzero(profile) if int(ids[i]) in targets]
    d = table.embeddings.shape[1]
    return StitchingSet(
        keys=[table.keys[i] for i in rows],
        identities=ids[rows] if rows else np.zeros(0, np.int64),
        inputs=fc[rows].astype(np.float32) if rows else np.zeros((0, d), np.float32),
        yaw=table.yaw[rows].astype(np.float32) if rows else np.zeros(0, np.float32),
        targets=np.stack([targets[int(ids[i])] for i in rows]).astype(np.float32)
        if rows
        else np.zeros((0, d), np.float32),
    )
