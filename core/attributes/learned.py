"""The learned LMLE model: face-api's last trunk stage, fine-tuned, under an LMLE or a linear head.

Input per face: its cached ``conv128_2`` maps (:mod:`core.attributes.conv_cache`)
and, optionally, its frozen whole-frame features (AgeGenderNet, the ``frame``
slice of :mod:`core.attributes.features`; ``frame_dim = 0`` leaves them out, as
an empty ``(N, 0)`` input). The stage (:class:`~core.models.lmle_trunk.TrunkStage`,
pretrained, fine-tuned through :class:`~core.models.finetune.FineTuned`) turns the
maps into 1280 features; with the frame's they feed

* ``method = "lmle"``: an :class:`~core.models.lmle.LMLEHead` -> ``(N, A, d)`` unit
  embeddings, one shared by all attributes (the paper) or one per attribute;
* ``method = "linear"``: a :class:`~core.models.lmle.LinearAttributeClassifier` -> ``(N, A)``
  logits, trained with the class-weighted loss (the baseline with the same trainable stage).
"""

from __future__ import annotations

import torch
from torch import nn

from core.attributes.features import DESCRIPTOR_DIM, FEATURE_DIM
from core.models.face_descriptor import FaceRecognitionNet
from core.models.finetune import FineTuned
from core.models.lmle import FrameFeatures, LinearAttributeClassifier, LMLEHead, TrunkFeatures
from core.models.lmle_trunk import TrunkStage

#: where the whole-frame features sit in a frozen feature row
FRAME_SLICE = slice(TrunkFeatures.DIM - DESCRIPTOR_DIM, FEATURE_DIM - DESCRIPTOR_DIM)
FRAME_DIM = FrameFeatures.DIM


class LearnedAttributeNet(nn.Module):
    """``(maps (N, 128, h, w), frame (N, 1536))`` -> embeddings ``(N, A, d)`` or logits ``(N, A)``."""

    def __init__(
        self,
        trunk: FaceRecognitionNet,
        method: str,
        num_attributes: int = 40,
        dim: int = 64,
        shared: bool = True,
        stage_ratio: float = 0.1,
        frame_dim: int = FRAME_DIM,
        embedding_bn: bool = True,
    ) -> None:
        super().__init__()
        if method not in ("lmle", "linear"):
            raise ValueError(f"method must be lmle or linear, got {method!r}")
        self.method = method
        self.stage = FineTuned(TrunkStage(trunk), stage_ratio)
        in_dim = TrunkStage.DIM + frame_dim
        if method == "lmle":
            self.head: nn.Module = LMLEHead(
                in_dim, num_attributes, 0, dim, shared=shared, batch_norm=embedding_bn
            )
        else:
            self.head = LinearAttributeClassifier(in_dim, num_attributes)

    def features(self, maps: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.stage(maps.float()), frame.float()], dim=1)

    def forward(self, maps: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(maps, frame))

    @torch.no_grad()
    def fit_norm(self, maps: torch.Tensor, frame: torch.Tensor, chunk: int = 512) -> None:
        """Standardise the head's input with the pretrained stage's statistics on the training faces."""
        feats = torch.cat(
            [self.features(maps[i : i + chunk], frame[i : i + chunk]) for i in range(0, len(maps), chunk)]
        )
        self.head.norm.fit(feats)

    @torch.no_grad()
    def infer(self, maps: torch.Tensor, frame: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """Eval-mode outputs of many faces, in chunks, restoring the mode after."""
        was_training = self.training
        self.eval()
        try:
            return torch.cat(
                [self(maps[i : i + chunk], frame[i : i + chunk]) for i in range(0, len(maps), chunk)]
            )
        finally:
            self.train(was_training)
