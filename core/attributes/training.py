"""What the engine trains for LMLE (and the triplet baseline): anchors, cluster state, pool losses.

Batches (class-balanced by construction): item ``i`` of :class:`AnchorDataset`
is, for every attribute, the pair (image ``i``, a random image of the other
class). A batch of B items therefore holds, for each attribute, exactly B
positive and B negative anchors, whatever the imbalance.

Quintuplets are mined inside the batch's **pool** (the union of its images,
a few hundred) with the current embeddings, as batch-hard triplet mining
does, using the cluster ids of the last refresh. Mining the whole training
set with a stale bank (the paper's offline search) picks global extremes,
which on CelebA's noisy labels are mostly mislabelled faces; the pool keeps
the quintuplet definitions but makes "farthest"/"nearest" local
(docs/adr/0011-lmle.md).

:class:`EmbeddingModel` keeps the cluster state in persistent buffers, so
the engine's checkpoints hold it and a resumed run continues bit-exactly;
the frozen training features are plain attributes (not buffers), so they
are neither checkpointed nor broadcast by DDP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.attributes.clustering import ClusterLayout, cluster_attributes
from core.attributes.loss import Margins, centroid_hinge, quintuplet_loss, squared_distance, triplet_hinge
from core.attributes.quintuplets import select_quintuplets
from core.models.lmle import LMLEHead

log = logging.getLogger(__name__)

MEMBERS = ("anchor", "p_plus", "p_minus", "p_far", "negative")


class AnchorDataset:
    """Item ``i`` -> ``(A, 2)`` int64: per attribute, image ``i`` and a random image of the other class.

    labels: ``(N, A)`` bool training labels. An attribute whose other class is
    empty repeats image ``i`` (its losses then have no negative and vanish).
    """

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = np.asarray(labels, dtype=bool)
        self.members = [
            (np.flatnonzero(~self.labels[:, a]), np.flatnonzero(self.labels[:, a]))
            for a in range(self.labels.shape[1])
        ]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def sample(self, index: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((self.labels.shape[1], 2), dtype=np.int64)
        out[:, 0] = index
        for a, row in enumerate(self.labels[index]):
            other = self.members[a][0 if row else 1]
            out[a, 1] = other[rng.integers(len(other))] if len(other) else index
        return out

    def __getitem__(self, index: int) -> np.ndarray:
        return self.sample(index, np.random.default_rng(index))


def collate_anchors(items: list[np.ndarray]) -> torch.Tensor:
    """Items -> ``(B, A, 2)`` int64."""
    return torch.from_numpy(np.stack(items))


@dataclass(frozen=True)
class ClusterOptions:
    max_clusters: int = 8
    min_size: int = 20
    iters: int = 20
    refresh_every: int = 200


class EmbeddingModel(nn.Module):
    """An :class:`LMLEHead` plus the cluster state of the training set.

    Buffers (checkpointed): ``assign`` ``(N, A)``, ``centroids`` ``(A, 2C, d)``,
    ``centroid_label`` ``(A, 2C)`` (see :mod:`core.attributes.clustering`),
    ``steps_done`` (losses computed so far; refreshes happen when it is a
    multiple of ``refresh_every``).
    """

    def __init__(self, head: LMLEHead, num_train: int, options: ClusterOptions, seed: int = 0) -> None:
        super().__init__()
        self.head = head
        self.options = options
        self.seed = seed
        slots = 2 * options.max_clusters
        a, d = head.num_attributes, head.dim
        self.register_buffer("assign", torch.zeros(num_train, a, dtype=torch.int64))
        self.register_buffer("centroids", torch.zeros(a, slots, d))
        self.register_buffer("centroid_label", torch.full((a, slots), -1, dtype=torch.int8))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.int64))
        self.features: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        self.init_embedding: torch.Tensor | None = None

    def forward(self, features: torch.Tensor, grouped: bool = False) -> torch.Tensor:
        """``(N, D) -> (N, A, d)``; ``grouped``: ``(A, M, D) -> (A, M, d)``, group ``a`` embedded
        for attribute ``a`` (:meth:`LMLEHead.forward_grouped`). Both go through ``forward`` so a
        DDP wrapper sees them."""
        return self.head.forward_grouped(features) if grouped else self.head(features)

    def set_training_data(
        self, features: torch.Tensor, labels: torch.Tensor, init_embedding: torch.Tensor | None = None
    ) -> None:
        """``(N, D)`` or ``(N, V, D)`` frozen features (V views of each image, view 0 the original),
        ``(N, A)`` bool labels; ``init_embedding`` ``(N, e)``: what the first clustering uses
        (the paper: identity features), ``None`` for the head's own output."""
        if features.ndim == 2:
            features = features[:, None]
        if features.shape[0] != self.assign.shape[0]:
            raise ValueError(
                f"{features.shape[0]} training rows for a model built for {self.assign.shape[0]}"
            )
        self.features, self.labels, self.init_embedding = features, labels.bool(), init_embedding

    def _on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, V, D)`` training features and ``(N, A)`` labels on ``device``."""
        assert self.features is not None and self.labels is not None, "set_training_data first"
        if self.features.device != device:
            self.features, self.labels = self.features.to(device), self.labels.to(device)
        return self.features, self.labels

    @torch.no_grad()
    def embed_all(self, features: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """``(N, D)`` -> ``(N, A, d)`` in eval mode (dropout off), restoring the mode after."""
        was_training = self.training
        self.eval()
        try:
            with torch.autocast(features.device.type, enabled=False):
                return torch.cat(
                    [self.head(features[i : i + chunk].float()) for i in range(0, len(features), chunk)]
                )
        finally:
            self.train(was_training)

    @torch.no_grad()
    def refresh(self) -> ClusterLayout:
        """Re-cluster the training set with the current embeddings (or the initial ones at step 0)."""
        feats, labels = self._on(self.assign.device)
        feats = feats[:, 0]  # clusters of the original images
        step = int(self.steps_done)
        if step == 0 and self.init_embedding is not None:
            emb = self.init_embedding.to(feats.device).float()
            emb = emb[:, None, :].expand(-1, self.head.num_attributes, -1)
        else:
            emb = self.embed_all(feats)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        o = self.options
        layout = cluster_attributes(
            emb.cpu(),
            labels.cpu(),
            max_clusters=o.max_clusters,
            min_size=o.min_size,
            iters=o.iters,
            generator=gen,
        )
        self.assign.copy_(layout.assign)
        if step > 0 or self.init_embedding is None:  # centroids live in the embedding space
            self.centroids.copy_(layout.centroids)
        self.centroid_label.copy_(layout.centroid_label)
        log.debug("LMLE clusters refreshed at step %d", step)
        return layout

    def final_layout(self) -> ClusterLayout:
        """Clusters of the current embeddings without touching the buffers (evaluation, export)."""
        feats, labels = self._on(self.assign.device)
        feats = feats[:, 0]
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + 999_983)
        o = self.options
        return cluster_attributes(
            self.embed_all(feats).cpu(),
            labels.cpu(),
            max_clusters=o.max_clusters,
            min_size=o.min_size,
            iters=o.iters,
            generator=gen,
        )


def pool_losses(
    model: nn.Module,
    core: EmbeddingModel,
    batch: torch.Tensor,
    *,
    method: str,
    margins: Margins,
    triplet_margin: float,
    mine_in: str = "pool",
    centroid_weight: float = 0.0,
    centroid_margin: float = 0.2,
) -> dict[str, torch.Tensor]:
    """Losses of one ``(B, A, 2)`` anchor batch.

    model: what to call for embeddings (the DDP wrapper when distributed);
    core: the unwrapped :class:`EmbeddingModel`. method ``"lmle"``
    (triple-header hinge on pool quintuplets, refreshing clusters first when
    due) or ``"triplet"`` (hardest positive / hardest negative in the pool).
    mine_in: ``"pool"`` (quintuplet members among all the batch's images) or
    ``"anchors"`` (among the attribute's own class-balanced anchors only: fewer
    candidates, so "nearest"/"farthest" are less extreme).
    Returns ``{"quintuplet" | "triplet": scalar}`` averaged over attributes.
    """
    device = core.assign.device
    feats, labels = core._on(device)
    if method == "lmle" and int(core.steps_done) % core.options.refresh_every == 0:
        core.refresh()
    core.steps_done += 1
    batch = batch.to(device)
    num_attr = batch.shape[1]
    pool, inverse = torch.unique(batch, return_inverse=True)  # inverse: (B, A, 2) positions in pool
    # each pool member is seen as one of its views (original / mirror), drawn from the global
    # torch generator, which the engine checkpoints: resumes stay exact
    view = torch.randint(feats.shape[1], (len(pool),)).to(device)
    x = feats[pool, view]  # (P, D)
    pool_labels = labels[pool]
    pool_ids = torch.arange(len(pool), device=device)
    if mine_in == "anchors":
        # only the attribute's own 2B anchors are candidates: embed each group for its attribute
        slots = inverse.permute(1, 0, 2).reshape(num_attr, -1)  # (A, 2B) pool positions
        emb_slots = model(x[slots], grouped=True)  # (A, 2B, d)
    else:
        emb = model(x)  # (P, A, d)
    per_attr, per_attr_centroid = [], []
    # centroids live in the embedding space only after the first refresh from the head's output
    use_centroids = (
        method == "lmle" and centroid_weight > 0 and int(core.steps_done) > core.options.refresh_every
    )
    for a in range(num_attr):
        anchors = inverse[:, a].reshape(-1)
        lab = pool_labels[:, a]
        assign = core.assign[pool, a] if method == "lmle" else pool_ids
        if mine_in == "anchors":  # candidates = this attribute's anchors: re-index into them
            cand, anchors = torch.unique(anchors, return_inverse=True)
            # a pool member twice among the anchors has one embedding (same view): take the first
            first = torch.full((len(cand),), anchors.numel(), dtype=torch.int64, device=device)
            first.scatter_reduce_(0, anchors, torch.arange(anchors.numel(), device=device), "amin")
            e, lab, assign = emb_slots[a, first].float(), lab[cand], assign[cand]
        else:
            e = emb[:, a].float()
        q = select_quintuplets(e.detach(), lab, assign, anchors)
        if method == "lmle":
            members = q.members()
            embs = {k: e[t.clamp_min(0)] for k, t in zip(MEMBERS, members, strict=True)}
            valid = {k: t >= 0 for k, t in zip(MEMBERS, members, strict=True)}
            per_attr.append(quintuplet_loss(embs, valid, margins))
            if use_centroids:
                per_attr_centroid.append(
                    centroid_hinge(
                        e[anchors],
                        assign[anchors],
                        lab[anchors],
                        core.centroids[a],
                        core.centroid_label[a],
                        centroid_margin,
                    )
                )
        else:
            ok = (q.p_far >= 0) & (q.negative >= 0)
            ea = e[anchors[ok]]
            per_attr.append(
                triplet_hinge(
                    squared_distance(ea, e[q.p_far[ok]]),
                    squared_distance(ea, e[q.negative[ok]]),
                    triplet_margin,
                )
            )
    out = {"quintuplet" if method == "lmle" else "triplet": torch.stack(per_attr).mean()}
    if method == "lmle" and centroid_weight > 0:  # the key from step 0, so loss curves stay aligned
        term = torch.stack(per_attr_centroid).mean() if use_centroids else out["quintuplet"] * 0.0
        out["centroid"] = centroid_weight * term
    return out
