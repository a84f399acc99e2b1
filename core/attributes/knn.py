"""Classification by nearest neighbours: LMLE's cluster-wise kNN and the baseline's sample kNN.

Cluster-wise kNN (Huang et al. 2016, Sec. 3.3), per attribute:

1. find the query's ``k`` nearest cluster centroids (all classes);
2. if they all belong to one class, answer that class;
3. otherwise answer ``argmax_c [ min_{m_j not in c} D(q, m_j) - max_{m_i in c, i in kNN} D(q, m_i) ]``:
   the class whose *farthest* centroid among the k is nearest compared with
   the nearest centroid of the other class — a large-margin rule that
   stops a majority class from winning by sheer number of clusters.

Steps 2 and 3 are one formula here: a class absent from the k neighbours
scores ``-inf``, and with a single class present its score
``min_other - max_own`` is non-negative. Note the farthest same-class term:
with *nearest* instead, a binary attribute would reduce to 1-NN on centroids.

The returned ``margin`` is signed (> 0 means positive) in squared-distance
units: ``s_pos - s_neg`` when both classes are among the k, else ``±s`` of
the unanimous class (how far the other class is beyond the k neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: largest squared distance between unit vectors: the margin reported when the other class has no cluster.
MAX_SQUARED_DISTANCE = 4.0


@dataclass
class KnnDecision:
    """Per query and attribute: ``positive`` (bool), ``margin`` (float, signed), ``unanimous`` (bool)."""

    positive: torch.Tensor
    margin: torch.Tensor
    unanimous: torch.Tensor


def pairwise_squared(query: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(Q, A, d)`` x ``(A, C, d)`` -> ``(Q, A, C)`` squared Euclidean distances."""
    q2 = query.pow(2).sum(-1)[:, :, None]
    p2 = points.pow(2).sum(-1)[None]
    return (q2 + p2 - 2 * torch.einsum("qad,acd->qac", query, points)).clamp_min(0)


def cluster_knn(
    query: torch.Tensor, centroids: torch.Tensor, centroid_label: torch.Tensor, k: int
) -> KnnDecision:
    """LMLE's rule for ``(Q, A, d)`` queries against ``(A, C, d)`` centroids.

    centroid_label: ``(A, C)`` int, 1 / 0 / -1 (unused slot). ``k`` is capped
    at the number of used slots of each attribute.
    """
    q = query.float()
    dist = pairwise_squared(q, centroids.float())
    used = (centroid_label >= 0)[None].expand_as(dist)
    dist = dist.masked_fill(~used, float("inf"))
    k = max(1, min(k, dist.shape[-1]))
    near = torch.topk(dist, k, dim=-1, largest=False).indices
    in_knn = torch.zeros_like(dist, dtype=torch.bool).scatter_(-1, near, True) & used
    label = centroid_label[None].expand_as(dist)
    scores = []
    for cls in (1, 0):
        own = in_knn & (label == cls)
        far_own = dist.masked_fill(~own, float("-inf")).amax(-1)
        near_other = dist.masked_fill(~(used & (label == 1 - cls)), float("inf")).amin(-1)
        score = (near_other - far_own).clamp(max=MAX_SQUARED_DISTANCE)
        scores.append(torch.where(own.any(-1), score, torch.full_like(score, float("-inf"))))
    s_pos, s_neg = scores
    both = torch.isfinite(s_pos) & torch.isfinite(s_neg)
    margin = torch.where(both, s_pos - s_neg, torch.where(torch.isfinite(s_pos), s_pos, -s_neg))
    return KnnDecision(positive=s_pos > s_neg, margin=margin, unanimous=~both)


def sample_knn(
    query: torch.Tensor, bank: torch.Tensor, labels: torch.Tensor, k: int, chunk: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain kNN vote over training samples (the triplet baseline).

    query ``(Q, A, d)``, bank ``(N, A, d)``, labels ``(N, A)`` bool. Returns
    ``(positive (Q, A) bool, fraction of positive neighbours (Q, A))``;
    a tie (k even) answers negative.
    """
    k = max(1, min(k, bank.shape[0]))
    bank_t = bank.float().transpose(0, 1)  # (A, N, d)
    frac = torch.empty(query.shape[:2])
    for start in range(0, query.shape[0], chunk):
        dist = pairwise_squared(query[start : start + chunk].float(), bank_t)
        near = torch.topk(dist, k, dim=-1, largest=False).indices  # (q, A, k)
        votes = labels.T[None].expand(near.shape[0], -1, -1).gather(-1, near)
        frac[start : start + chunk] = votes.float().mean(-1)
    return frac > 0.5, frac
