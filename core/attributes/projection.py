"""2-D views of an attribute's embedding (for the GUI's embedding plot and for reports).

:func:`project_attribute` takes one attribute's ``(N, d)`` embeddings and its
``(C, d)`` centroids, fits a PCA on the points (SVD of the centred data,
deterministic sign: the largest-magnitude loading of each axis is positive)
and returns both in the same 2-D frame, plus each point's cluster: the slot
of its nearest *used* centroid (the cluster it would join at refresh time,
whatever its label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    """points ``(N, 2)`` and centroids ``(C', 2)`` float32 in PCA space; cluster ``(N,)`` int64
    index into the used centroids; centroid_label ``(C',)`` int8 (1 / 0); explained ``(2,)``
    fraction of variance of each axis."""

    points: np.ndarray
    centroids: np.ndarray
    cluster: np.ndarray
    centroid_label: np.ndarray
    explained: np.ndarray


def pca_axes(x: np.ndarray, dims: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean (d,), axes (dims, d), explained variance fraction (dims,))`` of ``(N, d)`` points."""
    data = np.asarray(x, dtype=np.float64)
    mean = data.mean(0)
    _, s, vt = np.linalg.svd(data - mean, full_matrices=False)
    axes = vt[:dims]
    flip = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    axes = axes * flip[:, None]
    var = s**2
    total = var.sum()
    explained = var[:dims] / total if total > 0 else np.zeros(len(axes))
    if len(axes) < dims:  # fewer samples/dimensions than asked: pad with zero axes
        axes = np.vstack([axes, np.zeros((dims - len(axes), data.shape[1]))])
        explained = np.concatenate([explained, np.zeros(dims - len(explained))])
    return mean, axes, explained


def project_attribute(
    embeddings: np.ndarray, centroids: np.ndarray, centroid_label: np.ndarray
) -> Projection:
    """PCA 2-D of ``(N, d)`` embeddings with ``(C, d)`` centroids (label -1 = unused, dropped)."""
    emb = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(centroid_label)
    used = labels >= 0
    cents = np.asarray(centroids, dtype=np.float64)[used]
    mean, axes, explained = pca_axes(emb)
    if len(cents):
        d2 = (emb**2).sum(1)[:, None] + (cents**2).sum(1)[None] - 2 * emb @ cents.T
        cluster = d2.argmin(1).astype(np.int64)
    else:
        cluster = np.zeros(len(emb), dtype=np.int64)
    return Projection(
        points=((emb - mean) @ axes.T).astype(np.float32),
        centroids=((cents - mean) @ axes.T).astype(np.float32),
        cluster=cluster,
        centroid_label=labels[used].astype(np.int8),
        explained=explained.astype(np.float32),
    )
