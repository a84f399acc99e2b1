"""face-api's FaceRecognitionNet split at ``conv128_2``: a frozen stem and a trainable last stage.

LMLE's paper learns the representation; on two CPU cores the whole trunk is
too slow to fine-tune, so the maps after ``conv128_2`` are cached once
(:mod:`core.attributes.conv_cache`) and only the last stage (``conv256_down``,
``conv256_1``, ``conv256_2``, ``conv256_down_out``) is trained from its
pretrained weights (docs/adr/0011-lmle.md).

* :class:`TrunkStem`: normalised ``(N, 3, 150, 150)`` crops -> ``(N, 128, h, w)`` maps.
* :class:`TrunkStage`: ``(N, 128, h, w)`` maps -> ``(N, 256 * 4 + 256)`` features: the
  stage's output pooled 2 x 2 (where on the face) and its global pool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.face_descriptor import FaceRecognitionNet

#: the tap the stem stops at and the cache holds
STEM_TAP = "conv128_2"
STAGE_BLOCKS = ("conv256_down", "conv256_1", "conv256_2", "conv256_down_out")


class TrunkStem(nn.Module):
    """Frozen FaceRecognitionNet up to and including :data:`STEM_TAP`."""

    def __init__(self, net: FaceRecognitionNet) -> None:
        super().__init__()
        self.conv32_down = net.conv32_down
        names = list(net.blocks)
        self.blocks = nn.ModuleList(net.blocks[n] for n in names[: names.index(STEM_TAP) + 1])
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv32_down(x), 3, 2)  # TF maxPool 3x3 s2 VALID, as the full net
        for block in self.blocks:
            x = block(x)
        return x


class TrunkStage(nn.Module):
    """The trainable last stage (pretrained start) -> ``(N, DIM)`` features."""

    GRID = 2
    DIM = 256 * GRID * GRID + 256

    def __init__(self, net: FaceRecognitionNet) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(net.blocks[n] for n in STAGE_BLOCKS)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        x = maps.float()
        for block in self.blocks:
            x = block(x)
        pooled = F.adaptive_avg_pool2d(x, self.GRID).flatten(1)
        return torch.cat([pooled, x.mean(dim=(2, 3))], dim=1)
