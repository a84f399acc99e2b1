"""LMLE quintuplet selection: for an anchor, four neighbours that pin down its local margins.

For an anchor ``a`` of class ``c`` in cluster ``j`` (distances are squared
Euclidean in the current embedding bank):

* ``p_plus``  (x^{p+}):  the *farthest* neighbour inside its own cluster ``j``;
* ``p_minus`` (x^{p-}):  the *nearest* same-class neighbour from another cluster;
* ``p_far``   (x^{p--}): the *farthest* same-class neighbour;
* ``negative`` (x^{n}):  the *nearest* neighbour of the other class.

The triple-header hinge loss (:mod:`core.attributes.loss`) then asks for
``D(a, p+) < D(a, p-) < D(a, p--) < D(a, n)``.

Missing members are marked invalid (``-1``) instead of being invented: a
singleton cluster has no ``p+``, a class with one cluster has no ``p-``, a
class with one sample has no ``p--``, and a one-class attribute has no
negative. The loss drops every term that involves an invalid member.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Quintuplets:
    """Indices into the bank, each ``(M,)`` int64 aligned with ``anchor``; -1 = no such neighbour."""

    anchor: torch.Tensor
    p_plus: torch.Tensor
    p_minus: torch.Tensor
    p_far: torch.Tensor
    negative: torch.Tensor

    def members(self) -> tuple[torch.Tensor, ...]:
        return self.anchor, self.p_plus, self.p_minus, self.p_far, self.negative


def pick(dist: torch.Tensor, mask: torch.Tensor, farthest: bool) -> torch.Tensor:
    """Arg-max (farthest) or arg-min of ``dist`` over its last axis under ``mask``; -1 where the mask is empty."""
    fill = float("-inf") if farthest else float("inf")
    masked = dist.masked_fill(~mask, fill)
    idx = masked.argmax(-1) if farthest else masked.argmin(-1)
    return torch.where(mask.any(-1), idx, torch.full_like(idx, -1))


def select_quintuplets(
    bank: torch.Tensor,
    labels: torch.Tensor,
    assign: torch.Tensor,
    anchors: torch.Tensor,
    query: torch.Tensor | None = None,
) -> Quintuplets:
    """Quintuplets of ``anchors`` for one attribute.

    bank: ``(N, d)`` embeddings of all candidate samples (the batch, or the
    memory bank of the whole training set, :mod:`core.attributes.bank`).
    labels: ``(N,)`` bool class. assign: ``(N,)`` int64 cluster id (unique
    across both classes). anchors: ``(M,)`` int64 indices into the bank.
    query: ``(M, d)`` the anchors' own current embeddings (default: their
    bank rows); an anchor is never its own neighbour either way.
    """
    anchors = anchors.long()
    e = bank.float()
    a = e[anchors] if query is None else query.float()
    # squared Euclidean without cancellation trouble for unit vectors: |a|^2 + |b|^2 - 2ab
    dist = (a.pow(2).sum(1, keepdim=True) + e.pow(2).sum(1)[None] - 2 * a @ e.T).clamp_min(0)
    not_self = torch.ones_like(dist, dtype=torch.bool)
    not_self[torch.arange(len(anchors)), anchors] = False
    same_class = (labels[None, :] == labels[anchors][:, None]) & not_self
    same_cluster = (assign[None, :] == assign[anchors][:, None]) & not_self
    return Quintuplets(
        anchor=anchors,
        p_plus=pick(dist, same_cluster, farthest=True),
        p_minus=pick(dist, same_class & ~same_cluster, farthest=False),
        p_far=pick(dist, same_class, farthest=True),
        negative=pick(dist, labels[None, :] != labels[anchors][:, None], farthest=False),
    )


def take(quintuplets: Quintuplets, rows: torch.Tensor) -> Quintuplets:
    """The quintuplets of the anchors selected by ``rows`` (a boolean mask or indices)."""
    return Quintuplets(*(t[rows] for t in quintuplets.members()))
