"""face-api's FaceExpressionNet: 7 facial expressions.

Input: ``(N, 3, 112, 112)`` float32, normalised like the landmark net
(``(x - [122.782, 117.001, 104.298]) / 255``). Output: ``(N, 7)`` logits in
the order of :data:`EXPRESSION_LABELS`; face-api applies a softmax (done in
:mod:`core.recognize.expression`).

Architecture (ARCHITECTURES.md §5): the 4-block dense extractor of
FaceLandmark68Net with its own weights, global mean, FC 256 -> 7.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.faceapi_layers import TfjsReader
from core.models.landmarks68 import DenseFeatureExtractor

EXPRESSION_LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")


class FaceExpressionNet(nn.Module):
    """``(N, 3, 112, 112) -> (N, 7)`` expression logits."""

    INPUT_SIZE = 112

    def __init__(self) -> None:
        super().__init__()
        self.features = DenseFeatureExtractor(tiny=False)
        self.fc = nn.Linear(self.features.out_channels, len(EXPRESSION_LABELS))

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        out = self.fc(self.features(x, taps))
        if taps is not None:
            taps["logits"] = out
        return out

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor]) -> FaceExpressionNet:
        """Build from ``load_weights("faceapi_face_expression")`` tensors."""
        net = cls()
        reader = TfjsReader(tensors, "face_expression")
        net.features.load_tfjs(reader)
        reader.linear(net.fc, "fc/weights", "fc/bias")
        reader.finish()
        return net.eval()
