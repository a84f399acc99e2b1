"""LMLE's memory bank: every training face's current embedding, the pool quintuplets come from.

The paper mines each anchor's quintuplet over the whole training set, with
features refreshed offline. :class:`MemoryBank` holds ``(N, A, d)``
embeddings of the training originals, refreshed every ``refresh_every``
steps; :func:`mine_from_bank` searches it for each anchor of a batch (the
anchor itself by its *current* embedding), and :func:`bank_quintuplet_loss`
back-propagates through the batch's anchors only: the bank rows are
constants, as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.attributes.loss import Margins, quintuplet_loss
from core.attributes.quintuplets import Quintuplets, select_quintuplets

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
