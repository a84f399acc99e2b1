"""LMLE's memory bank: every training face's current embedding, the pool quintuplets come from.

The paper mines each anchor's quintuplet over the whole training set, with
features refreshed offline. :class:`MemoryBank` holds ``(N, A, d)``
embeddings of the training originals, refreshed every ``refresh_every``
steps; :func:`mine_from_bank` searches it for each anchor of a batch (the
anchor itself by its *current* embedding), and :func:`bank_quintuplet_loss`
back-propagates through the batch's anchors only: the bank rows are
constants, as in the paper. :func:`mine_all_attributes` and
:func:`balanced_bank_loss` do the same for all attributes of a batch at once
(what training uses: a loop over 40 attributes cost seconds a step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.attributes.loss import Margins, quintuplet_loss
from core.attributes.quintuplets import Quintuplets, pick, select_quintuplets

MEMBERS = ("anchor", "p_plus", "p_minus", "p_far", "negative")


@dataclass
class MemoryBank:
    """``embeddings`` ``(N, A, d)`` (detached) and ``step`` of the last refresh (-1: never)."""

    embeddings: torch.Tensor
    step: int = -1

    def due(self, step: int, every: int) -> bool:
        return self.step < 0 or step - self.step >= every

    def refresh(self, embeddings: torch.Tensor, step: int) -> None:
        self.embeddings = embeddings.detach()
        self.step = step


def mine_from_bank(
    query: torch.Tensor, anchors: torch.Tensor, bank: torch.Tensor, labels: torch.Tensor, assign: torch.Tensor
) -> Quintuplets:
    """Quintuplets of one attribute: ``query`` ``(M, d)`` anchor embeddings, ``anchors`` ``(M,)``
    their rows in ``bank`` ``(N, d)``; ``labels`` ``(N,)`` bool and ``assign`` ``(N,)`` cluster ids
    of the bank rows. Members index the bank (see :mod:`core.attributes.quintuplets`)."""
    return select_quintuplets(bank, labels, assign, anchors, query=query.detach())


def bank_quintuplet_loss(
    query: torch.Tensor, quintuplets: Quintuplets, bank: torch.Tensor, margins: Margins
) -> torch.Tensor:
    """Triple-header hinge of live anchors ``query`` ``(M, d)`` against constant bank members."""
    members = quintuplets.members()[1:]
    emb = {"anchor": query}
    emb.update({k: bank[t.clamp_min(0)].detach() for k, t in zip(MEMBERS[1:], members, strict=True)})
    valid = {k: t >= 0 for k, t in zip(MEMBERS[1:], members, strict=True)}
    return quintuplet_loss(emb, valid, margins)


def _ranking(query: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """``(A, B, d)`` x ``(A, N, d)`` -> ``(A, B, N)`` squared distances less each query's own squared
    norm: the same order along ``N`` as the distances, in one fused multiply-add (mining only
    ranks; the loss measures true distances)."""
    e = bank.contiguous()
    return torch.baddbmm(e.pow(2).sum(-1)[:, None, :], query.contiguous(), e.transpose(1, 2), alpha=-2)


def _mine_block(
    dist: torch.Tensor, faces: torch.Tensor, lab: torch.Tensor, asg: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """The four members of ``(a, B, N)`` ranking distances, ``lab`` / ``asg`` ``(a, N)``."""
    not_self = torch.arange(lab.shape[1], device=lab.device)[None, None] != faces[None, :, None]
    same_class = lab[:, None] == lab[:, faces][:, :, None]
    same_cluster = (asg[:, None] == asg[:, faces][:, :, None]) & not_self
    other_class = ~same_class
    same_class &= not_self
    return (
        pick(dist, same_cluster, farthest=True),
        pick(dist, same_class & ~same_cluster, farthest=False),
        pick(dist, same_class, farthest=True),
        pick(dist, other_class, farthest=False),
    )


def mine_all_attributes(
    query: torch.Tensor,
    faces: torch.Tensor,
    bank: torch.Tensor,
    labels: torch.Tensor,
    assign: torch.Tensor,
    shared: bool = False,
    block: int = 2,
) -> Quintuplets:
    """:func:`mine_from_bank` for every attribute at once: ``query`` ``(B, A, d)`` live anchors,
    ``faces`` ``(B,)`` their bank rows, ``bank`` ``(N, A, d)``, ``labels`` ``(N, A)`` bool,
    ``assign`` ``(N, A)``. Members are ``(A, B)`` bank rows. ``shared``: every attribute has the
    same embedding, so the distances are computed once.

    Attributes are mined ``block`` at a time: the ``(block, B, N)`` masks and fills then stay
    in the CPU's cache, where one ``(A, B, N)`` pass spent most of its time faulting in
    freshly allocated pages."""
    q = query.detach().float()
    e = bank.float()
    lab, asg = labels.T, assign.T  # (A, N)
    shared_dist = _ranking(q[None, :, 0], e[None, :, 0]) if shared else None
    parts = []
    for a in range(0, lab.shape[0], block):
        sl = slice(a, a + block)
        if shared_dist is not None:
            dist = shared_dist.expand(lab[sl].shape[0], -1, -1)
        else:
            dist = _ranking(q[:, sl].transpose(0, 1), e[:, sl].transpose(0, 1))
        parts.append(_mine_block(dist, faces, lab[sl], asg[sl]))
    p_plus, p_minus, p_far, negative = (torch.cat(m) for m in zip(*parts, strict=True))
    return Quintuplets(
        anchor=faces[None].expand(labels.shape[1], -1),
        p_plus=p_plus,
        p_minus=p_minus,
        p_far=p_far,
        negative=negative,
    )


def balanced_bank_loss(
    query: torch.Tensor,
    quintuplets: Quintuplets,
    bank: torch.Tensor,
    anchor_labels: torch.Tensor,
    margins: Margins,
) -> torch.Tensor:
    """Mean over attributes of the triple-header hinge, each class of each attribute carrying half
    of its attribute's weight (the whole weight when the batch holds one class). ``query``
    ``(B, A, d)`` live, ``quintuplets`` from :func:`mine_all_attributes`, ``bank`` ``(N, A, d)``
    constant, ``anchor_labels`` ``(B, A)`` bool."""
    q = query.transpose(0, 1)  # (A, B, d)
    rows = bank.detach().transpose(0, 1)  # (A, N, d)

    def dist(members: torch.Tensor) -> torch.Tensor:
        picked = torch.gather(rows, 1, members.clamp_min(0)[:, :, None].expand(-1, -1, rows.shape[-1]))
        return (q - picked).pow(2).sum(-1)  # (A, B)

    _, p_plus, p_minus, p_far, negative = quintuplets.members()
    terms = (
        F.relu(margins.g1 + dist(p_plus) - dist(p_minus)) * ((p_plus >= 0) & (p_minus >= 0)),
        F.relu(margins.g2 + dist(p_minus) - dist(p_far)) * ((p_minus >= 0) & (p_far >= 0)),
        F.relu(margins.g3 + dist(p_far) - dist(negative)) * ((p_far >= 0) & (negative >= 0)),
    )
    per_anchor = terms[0] + terms[1] + terms[2]  # (A, B)
    pos = anchor_labels.T.float()  # (A, B)
    n_pos, n_neg = pos.sum(1, keepdim=True), (1 - pos).sum(1, keepdim=True)
    classes = (n_pos > 0).float() + (n_neg > 0).float()
    weight = (pos / n_pos.clamp_min(1) + (1 - pos) / n_neg.clamp_min(1)) / classes
    return (per_anchor * weight).sum(1).mean()
