"""face-api's tiny face detector (a "tinier Tiny-YOLOv2") as a PyTorch module.

Network only; decoding and NMS live in :mod:`core.detect.tiny`. Layout (see
``shared/data/faceapi_ref/ARCHITECTURES.md`` §2), for an input of side
``S·32`` (416 or 608):

* ``conv0``: full 3×3 conv 3→16, **VALID** (416 → 414), bias, leaky ReLU 0.1;
* five times: 2×2 max-pool stride 2 (TF ``SAME``: an odd side is padded at
  the bottom/right with -inf, 207 → 104), then a separable block: zero pad 1,
  depthwise 3×3 (no bias), pointwise 1×1, one bias, leaky (16→32→…→512);
  the fifth block runs after the fourth pool, at ``S×S``;
* 2×2 max-pool **stride 1** ``SAME`` (pad bottom/right with -inf, S → S);
* ``conv8``: 1×1 conv 512→25 + bias, no activation.

face-api computes the leaky ReLU as ``relu(x - 0.1x) + 0.1x``; PyTorch's
``leaky_relu(x, 0.1)`` equals it up to one float32 rounding.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.models.tf_ops import pad_same

CHANNELS: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
NUM_ANCHORS = 5
# (w, h) in grid cells, from face-api's tinyFaceDetector/const.ts
ANCHORS: tuple[tuple[float, float], ...] = (
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
)
LEAKY_SLOPE = 0.10000000149011612  # float32(0.1), as stored in the TF.js graph


class SeparableConv(nn.Module):
    """Zero pad 1, depthwise 3×3 (no bias), pointwise 1×1 + bias, leaky ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.pointwise(self.depthwise(x)), LEAKY_SLOPE)


class TinyFaceDetectorNet(nn.Module):
    """``(N, 3, 32·S, 32·S)`` normalised input → ``(N, 25, S, S)`` raw output.

    Channel ``5·a + k`` of the output holds, for anchor ``a``,
    ``k ∈ (tx, ty, tw, th, conf)``; see :data:`ANCHORS`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, CHANNELS[0], 3, padding=0, bias=True)
        self.blocks = nn.ModuleList(
            SeparableConv(a, b) for a, b in zip(CHANNELS[:-1], CHANNELS[1:], strict=True)
        )
        self.conv8 = nn.Conv2d(CHANNELS[-1], 5 * NUM_ANCHORS, 1, bias=True)

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """taps: when a dict is given, stores every intermediate under face-api's
        layer names (``conv0``, ``maxpool0``, ``conv1``, …, ``maxpool5``), NCHW."""
        out = F.leaky_relu(self.conv0(x), LEAKY_SLOPE)
        if taps is not None:
            taps["conv0"] = out
        for i, block in enumerate(self.blocks):
            out = _max_pool_same(out, 2)
            if taps is not None:
                taps[f"maxpool{i}"] = out
            out = block(out)
            if taps is not None:
                taps[f"conv{i + 1}"] = out
        out = _max_pool_same(out, 1)
        if taps is not None:
            taps["maxpool5"] = out
        return self.conv8(out)

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor]) -> TinyFaceDetectorNet:
        """Build from face-api's TF.js tensors (TF layouts), permuting layouts."""
        model = cls()
        state = {
            "conv0.weight": tensors["conv0/filters"].permute(3, 2, 0, 1),
            "conv0.bias": tensors["conv0/bias"],
            "conv8.weight": tensors["conv8/filters"].permute(3, 2, 0, 1),
            "conv8.bias": tensors["conv8/bias"],
        }
        for i in range(len(CHANNELS) - 1):
            p = f"conv{i + 1}"
            state[f"blocks.{i}.depthwise.weight"] = tensors[p + "/depthwise_filter"].permute(2, 3, 0, 1)
            state[f"blocks.{i}.pointwise.weight"] = tensors[p + "/pointwise_filter"].permute(3, 2, 0, 1)
            state[f"blocks.{i}.pointwise.bias"] = tensors[p + "/bias"]
        own = model.state_dict()
        for key, value in state.items():
            if own[key].shape != value.shape:
                raise ValueError(
                    f"tiny detector weight {key}: shape {tuple(value.shape)}, expected {tuple(own[key].shape)}"
                )
        model.load_state_dict({k: v.to(torch.float32).contiguous() for k, v in state.items()}, strict=True)
        return model.eval()


def _max_pool_same(x: torch.Tensor, stride: int) -> torch.Tensor:
    """2×2 max-pool with TF ``SAME`` padding (bottom/right, -inf so padding never wins).

    For stride 2, ``ceil_mode`` is the same thing (PyTorch's last window keeps
    only in-bounds cells) without a padded copy, which is slow in channels-last.
    """
    if stride == 2:
        return F.max_pool2d(x, 2, 2, ceil_mode=True)
    return F.max_pool2d(pad_same(x, 2, stride, value=float("-inf")), 2, stride)
