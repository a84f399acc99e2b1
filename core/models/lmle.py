"""LMLE's embedding head and the linear baseline, on frozen face-api trunk features.

Both take ``(N, in_dim)`` float32 features from
:mod:`core.attributes.features` (frozen FaceRecognitionNet maps, see
docs/adr/0011-lmle.md) and standardise them with buffers filled from the
training set (``feature_mean``, ``feature_std``), so the shipped weights carry
their own normalisation.

* :class:`LMLEHead`: ``(N, in_dim) -> (N, A, dim)``, one unit-norm embedding
  per attribute (a shared hidden layer, then a per-attribute projection).
  LMLE's clusters, quintuplets and kNN all work per attribute, so each
  attribute gets its own small space rather than 40 conflicting class
  structures in one.
* :class:`LinearAttributeClassifier`: ``(N, in_dim) -> (N, A)`` logits (the
  class-weighted baseline).
* :class:`TrunkFeatures`: the frozen part, face-api's FaceRecognitionNet used
  by composition: ``(N, 3, 150, 150)`` normalised crops ->
  ``(N, 2176)`` = its ``conv128_2`` maps (128 x 8 x 8) average-pooled to
  4 x 4 (2048, where position still says *which* part of the face) followed
  by the 128-d identity descriptor; and the ``conv128_2`` maps themselves,
  the input of the learned LMLE's fine-tuned stage.
* :class:`FrameFeatures`: face-api's AgeGenderNet on the *whole* CelebA frame
  (hair, neck, hats, which the descriptor's face square leaves out):
  ``(N, 3, 112, 112)`` -> ``(N, 1536)`` = its exit reduction block (256 x 7 x 7)
  average-pooled to 2 x 2, then its 512-d global pool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TrunkFeatures(nn.Module):
    """Frozen FaceRecognitionNet -> ``((N, 2176) attribute features, (N, 128, 8, 8) conv128_2 maps)``
    (see module docstring)."""

    TAP = "conv128_2"
    GRID = 4
    DIM = 128 * GRID * GRID + 128

    def __init__(self, descriptor_net: nn.Module) -> None:
        super().__init__()
        self.net = descriptor_net.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        taps: dict[str, torch.Tensor] = {}
        descriptor = self.net(x, taps)
        maps = taps[self.TAP]
        pooled = F.adaptive_avg_pool2d(maps, self.GRID).flatten(1)
        return torch.cat([pooled, descriptor], dim=1), maps.contiguous()


class FrameFeatures(nn.Module):
    """Frozen AgeGenderNet -> ``(N, 1536)`` whole-frame features (see module docstring)."""

    TAP = "exit_flow/reduction_block"
    GRID = 2
    DIM = 256 * GRID * GRID + 512

    def __init__(self, age_gender_net: nn.Module) -> None:
        super().__init__()
        self.net = age_gender_net.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps: dict[str, torch.Tensor] = {}
        self.net(x, taps)
        pooled = F.adaptive_avg_pool2d(taps[self.TAP], self.GRID).flatten(1)
        return torch.cat([pooled, taps["avgpool"]], dim=1)


class FeatureNorm(nn.Module):
    """``(x - mean) / std`` with buffers (identity until :meth:`fit` is called)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(in_dim))
        self.register_buffer("feature_std", torch.ones(in_dim))

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> None:
        """Set the statistics from ``(N, in_dim)`` training features."""
        x = features.float()
        self.feature_mean.copy_(x.mean(0))
        self.feature_std.copy_(x.std(0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.feature_mean) / self.feature_std


class LMLEHead(nn.Module):
    """``(N, in_dim)`` features -> ``(N, num_attributes, dim)`` L2-normalised embeddings."""

    def __init__(
        self,
        in_dim: int,
        num_attributes: int = 40,
        hidden: int = 512,
        dim: int = 16,
        dropout: float = 0.0,
        linear_hidden: bool = False,
        shared: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.in_dim, self.num_attributes, self.hidden, self.dim = in_dim, num_attributes, hidden, dim
        # shared: one embedding for all attributes (the paper's single CNN feature), repeated per
        # attribute so clusters, quintuplets and the kNN stay per attribute
        self.shared = shared
        # linear_hidden: the shared layer has no ReLU, i.e. each attribute's projection is
        # low-rank through one subspace learned by all 40 attributes (multi-task sharing)
        self.linear_hidden = linear_hidden
        self.norm = FeatureNorm(in_dim)
        self.dropout = nn.Dropout(dropout)
        # hidden == 0: no shared layer, a linear projection per attribute (least prone to overfit)
        self.fc1 = nn.Linear(in_dim, hidden) if hidden > 0 else None
        self.fc2 = nn.Linear(hidden if hidden > 0 else in_dim, (1 if shared else num_attributes) * dim)
        # batch_norm: standardise every embedding coordinate over the batch before the unit
        # normalisation, so the embedding cannot collapse to one point. With squared distances a
        # collapsed embedding is a stationary point of the triple-header hinge (every hinge sits
        # at its margin, every gradient is zero), and training from a random head falls into it.
        self.batch_norm = batch_norm
        self.bn = nn.BatchNorm1d(self.fc2.out_features, affine=False) if batch_norm else None

    def hidden_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_dim) -> (N, hidden)`` shared representation (``(N, in_dim)`` when ``hidden == 0``)."""
        x = self.dropout(self.norm(x))
        if self.fc1 is None:
            return x
        h = self.fc1(x)
        return h if self.linear_hidden else F.relu(h)

    def project(self, h: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        """Shared ``(N, hidden)`` -> ``(N, A, dim)`` unit vectors; with ``attributes`` ``(N,)`` int64,
        only that attribute's ``(N, dim)`` embedding per row (cheaper when mining per attribute)."""
        if self.shared:
            out = F.normalize(self._linear(h), dim=-1)
            return out if attributes is not None else out[:, None].expand(-1, self.num_attributes, -1)
        if attributes is None:
            out = self._linear(h).view(h.shape[0], self.num_attributes, self.dim)
            return F.normalize(out, dim=-1)
        if self.bn is not None:
            raise ValueError("a batch-normalised head embeds all attributes at once")
        w = self.fc2.weight.view(self.num_attributes, self.dim, -1)[attributes]  # (N, dim, hidden)
        b = self.fc2.bias.view(self.num_attributes, self.dim)[attributes]
        return F.normalize(torch.einsum("ndh,nh->nd", w, h) + b, dim=-1)

    def _linear(self, h: torch.Tensor) -> torch.Tensor:
        out = self.fc2(h)
        return self.bn(out) if self.bn is not None else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.hidden_features(x))

    def forward_grouped(self, x: torch.Tensor) -> torch.Tensor:
        """``(A, M, in_dim)``: row ``m`` of group ``a`` embedded for attribute ``a`` only ->
        ``(A, M, dim)`` unit vectors. Training mines each attribute among its own few anchors;
        embedding just those (not every image for all 40 attributes) is ~20x cheaper."""
        if self.bn is not None:
            raise ValueError("a batch-normalised head embeds all attributes at once")
        h = self.hidden_features(x)
        if self.shared:
            return F.normalize(self.fc2(h), dim=-1)
        w = self.fc2.weight.view(self.num_attributes, self.dim, -1)
        b = self.fc2.bias.view(self.num_attributes, self.dim)
        return F.normalize(torch.einsum("adh,amh->amd", w, h) + b[:, None], dim=-1)


class LinearAttributeClassifier(nn.Module):
    """``(N, in_dim)`` features -> ``(N, A)`` logits (positive when > 0)."""

    def __init__(self, in_dim: int, num_attributes: int = 40) -> None:
        super().__init__()
        self.norm = FeatureNorm(in_dim)
        self.fc = nn.Linear(in_dim, num_attributes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x))
