"""k-means within each class of each attribute (LMLE's local cluster structure).

LMLE partitions the training samples of every class of every attribute into
clusters, so that a minority class keeps its own local neighbourhoods instead
of being swamped by the majority. Clusters are recomputed every N training
iterations from the current embeddings (``core.attributes.lmle_task``).

Layout for A attributes and at most C clusters per attribute (both classes):

* ``centroids``: ``(A, C, d)`` float32, unit-norm rows (padded slots are 0);
* ``centroid_label``: ``(A, C)`` int8, 1 positive / 0 negative / -1 unused slot;
* ``assign``: ``(N, A)`` int64, the cluster slot of each training sample.

Everything is deterministic given the ``torch.Generator`` (k-means++ seeding).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def cluster_count(n: int, max_clusters: int, min_size: int) -> int:
    """How many clusters a class of ``n`` samples gets: ``n // min_size``, within ``[1, max_clusters]``."""
    if n <= 0:
        return 0
    return max(1, min(max_clusters, n // max(1, min_size)))


def kmeans(
    x: torch.Tensor, k: int, *, iters: int = 20, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means with k-means++ seeding on ``(N, d)`` points.

    Returns ``(centroids (k, d), assign (N,) int64)``; ``k`` is capped at N.
    Squared Euclidean distance; an emptied cluster is re-seeded with the point
    farthest from its centroid, so every returned cluster has members.
    """
    n = x.shape[0]
    if n == 0:
        raise ValueError("k-means on an empty set")
    k = max(1, min(k, n))
    x = x.float()
    first = int(torch.randint(n, (1,), generator=generator))
    centroids = [x[first]]
    closest = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        total = float(closest.sum())
        if total <= 0:  # all remaining points coincide with a centroid
            pick = int(torch.randint(n, (1,), generator=generator))
        else:
            pick = int(torch.multinomial(closest / total, 1, generator=generator))
        centroids.append(x[pick])
        closest = torch.minimum(closest, ((x - x[pick]) ** 2).sum(1))
    c = torch.stack(centroids)
    assign = torch.zeros(n, dtype=torch.int64)
    for it in range(iters):
        dist = torch.cdist(x, c).pow(2)
        new_assign = dist.argmin(1)
        counts = torch.bincount(new_assign, minlength=k)
        if (counts == 0).any():
            # re-seed empty clusters with the worst-fitted points
            err = dist.gather(1, new_assign[:, None]).squeeze(1)
            for empty in torch.nonzero(counts == 0).flatten().tolist():
                worst = int(err.argmax())
                new_assign[worst] = empty
                err[worst] = -1.0
            counts = torch.bincount(new_assign, minlength=k)
        if it > 0 and torch.equal(new_assign, assign):
            break
        assign = new_assign
        c = torch.zeros_like(c).index_add_(0, assign, x) / counts[:, None].float()
    return c, assign


@dataclass
class ClusterLayout:
    """Clusters of every attribute (see module docstring for shapes)."""

    centroids: torch.Tensor
    centroid_label: torch.Tensor
    assign: torch.Tensor


def cluster_attributes(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    *,
    max_clusters: int | None = None,
    min_size: int,
    iters: int = 20,
    generator: torch.Generator | None = None,
) -> ClusterLayout:
    """k-means inside each class of each attribute.

    embeddings: ``(N, A, d)`` unit-norm (one embedding per attribute, or the
    same one repeated). labels: ``(N, A)`` bool. Each class gets
    :func:`cluster_count` clusters; centroids are L2-normalised so they live
    on the same sphere as the embeddings. ``max_clusters=None``: classes are
    split by ``min_size`` alone (the bound is then ``N // min_size``, which no
    class reaches, and it sizes the centroid table).
    """
    n, num_attr, dim = embeddings.shape
    if max_clusters is None:
        max_clusters = max(1, n // max(1, min_size))
    slots = 2 * max_clusters
    centroids = torch.zeros(num_attr, slots, dim)
    centroid_label = torch.full((num_attr, slots), -1, dtype=torch.int8)
    assign = torch.zeros(n, num_attr, dtype=torch.int64)
    for a in range(num_attr):
        start = 0
        for cls in (1, 0):
            members = torch.nonzero(labels[:, a] == bool(cls)).flatten()
            k = cluster_count(len(members), max_clusters, min_size)
            if k == 0:
                continue
            c, local = kmeans(embeddings[members, a], k, iters=iters, generator=generator)
            k = c.shape[0]
            centroids[a, start : start + k] = F.normalize(c, dim=1)
            centroid_label[a, start : start + k] = cls
            assign[members, a] = local + start
            start += k
    return ClusterLayout(centroids, centroid_label, assign)
