"""LMLE's triple-header hinge loss, and the plain triplet loss of the baseline.

Distances are squared Euclidean between unit-norm embeddings (0..4). For a
quintuplet (:mod:`core.attributes.quintuplets`) the loss is the sum of three
hinges (Huang et al., CVPR 2016, Eq. 2)::

    max(0, g1 + D(a, p+)  - D(a, p-))     cluster tighter than the class
  + max(0, g2 + D(a, p-)  - D(a, p--))    other clusters nearer than the class's far end
  + max(0, g3 + D(a, p--) - D(a, n))      whole class nearer than the nearest other class

averaged over the anchors. It is exactly zero when every ordering holds
with its margin. Weight decay (the paper's ``lambda ||W||^2``) is the
engine optimiser's ``weight_decay``.

:func:`centroid_hinge` is an optional extra term, not in the paper (off in
the shipped model; measured in docs/adr/0011-lmle.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.attributes.knn import pairwise_squared


@dataclass(frozen=True)
class Margins:
    """``g1 < g2 < g3`` are not required, but the paper's intuition is small, medium, large."""

    g1: float = 0.05
    g2: float = 0.1
    g3: float = 0.2


def squared_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Row-wise ``||x - y||^2`` of ``(M, d)`` tensors -> ``(M,)``."""
    return (x - y).pow(2).sum(-1)


def triple_header_hinge(
    d_plus: torch.Tensor,
    d_minus: torch.Tensor,
    d_far: torch.Tensor,
    d_neg: torch.Tensor,
    margins: Margins,
    valid: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Mean over anchors of the three hinges (``(M,)`` distances in, scalar out).

    valid: optional ``(M,)`` boolean masks, one per hinge; masked-out terms
    count as zero (a quintuplet member that does not exist). An empty batch
    gives 0 (still attached to the graph when inputs are).
    """
    terms = (
        F.relu(margins.g1 + d_plus - d_minus),
        F.relu(margins.g2 + d_minus - d_far),
        F.relu(margins.g3 + d_far - d_neg),
    )
    if valid is not None:
        terms = tuple(torch.where(m, t, torch.zeros_like(t)) for t, m in zip(terms, valid, strict=True))
    total = terms[0] + terms[1] + terms[2]
    if total.numel() == 0:
        return d_plus.sum() * 0.0
    return total.mean()


def quintuplet_loss(
    emb: dict[str, torch.Tensor], valid: dict[str, torch.Tensor], margins: Margins
) -> torch.Tensor:
    """Triple-header hinge from embeddings of the five members.

    emb: ``"anchor"``, ``"p_plus"``, ``"p_minus"``, ``"p_far"``, ``"negative"`` -> ``(M, d)``
    (rows of missing members may hold anything); valid: the same keys but the
    anchor -> ``(M,)`` bool.
    """
    a = emb["anchor"]
    d = {k: squared_distance(a, emb[k]) for k in ("p_plus", "p_minus", "p_far", "negative")}
    masks = (
        valid["p_plus"] & valid["p_minus"],
        valid["p_minus"] & valid["p_far"],
        valid["p_far"] & valid["negative"],
    )
    return triple_header_hinge(d["p_plus"], d["p_minus"], d["p_far"], d["negative"], margins, masks)


def triplet_hinge(d_pos: torch.Tensor, d_neg: torch.Tensor, margin: float) -> torch.Tensor:
    """Baseline triplet loss ``mean(max(0, margin + D(a, p) - D(a, n)))`` over ``(M,)`` distances."""
    if d_pos.numel() == 0:
        return d_pos.sum() * 0.0
    return F.relu(margin + d_pos - d_neg).mean()


def centroid_hinge(
    emb: torch.Tensor,
    assign: torch.Tensor,
    label: torch.Tensor,
    centroids: torch.Tensor,
    centroid_label: torch.Tensor,
    margin: float,
) -> torch.Tensor:
    """``mean(max(0, margin + D(x, own centroid) - D(x, nearest other-class centroid)))``.

    emb ``(M, d)``, assign ``(M,)`` cluster slot of each row, label ``(M,)`` bool,
    centroids ``(C, d)``, centroid_label ``(C,)`` 1 / 0 / -1 (unused).
    """
    # the kNN decision's own distance, so the term trains exactly what the classifier measures
    dist = pairwise_squared(emb[:, None], centroids[None].to(emb.dtype))[:, 0]  # (M, C)
    own = dist.gather(1, assign[:, None]).squeeze(1)
    other = centroid_label[None].to(emb.device) == (~label).to(torch.int8)[:, None]
    near_other = dist.masked_fill(~other, float("inf")).amin(1)
    ok = torch.isfinite(near_other)
    if not ok.any():
        return emb.sum() * 0.0
    return F.relu(margin + own[ok] - near_other[ok]).mean()
