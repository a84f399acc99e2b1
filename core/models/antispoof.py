"""The two face "realness" nets of @vladmandic/human, ported from their TF.js graphs.

Both take a face crop with values in ``[0, 1]`` (RGB as human feeds them;
see :mod:`core.recognize.liveness` for the crop) and are plain Keras
``Sequential`` CNNs frozen by tfjs-converter. The ports follow the frozen
graphs op for op (``tools/convert_human_liveness.py`` checks the graph
topology before writing the weights):

:class:`AntiSpoofNet` (``antispoof.json``, 11 ops, input 128)::

    conv 3x3 VALID 3->64 + bias -> maxpool 2x2/2 VALID -> relu
    conv 3x3 VALID 64->32 + bias -> maxpool -> relu
    conv 3x3 VALID 32->16 + bias -> maxpool -> relu      # (N, 16, 14, 14)
    flatten (NHWC order, 3136) -> dense 128 + relu -> dense 1 -> sigmoid

:class:`LivenessNet` (``liveness.json``, PyImageSearch's "LivenessNet", input 32)::

    [conv 3x3 SAME + bias + relu -> batch-norm (x * scale + offset)] x2 (16 ch) -> maxpool 2x2/2
    [conv 3x3 SAME + bias + relu -> batch-norm] x2 (32 ch) -> maxpool      # (N, 32, 8, 8)
    flatten (NHWC order, 2048) -> dense 64 + relu -> batch-norm -> dense 2 -> softmax

The batch norms were folded by the converter into a per-channel multiply and
add (tfjs runs them as two separate ops, so do we). Keras flattens NHWC
tensors, so the first dense layer's rows are permuted once at load time to
accept a PyTorch (C, H, W) flatten instead of permuting every activation.
Every conv here is stride 1 with a 3x3 kernel, where TF ``SAME`` is the
symmetric 1-pixel padding PyTorch does; pools are ``VALID`` 2x2/2 (floor),
as PyTorch's default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.tf_ops import take_weight


def _conv(conv: nn.Conv2d, tensors: dict[str, torch.Tensor], name: str) -> None:
    """HWIO ``[kh, kw, cin, cout]`` kernel + bias -> the conv's OIHW weight."""
    w = take_weight(tensors, f"{name}/kernel", (3, 3, conv.in_channels, conv.out_channels))
    conv.weight.data.copy_(w.permute(3, 2, 0, 1))
    conv.bias.data.copy_(take_weight(tensors, f"{name}/bias", (conv.out_channels,)))


def _dense(
    fc: nn.Linear, tensors: dict[str, torch.Tensor], name: str, nhwc: tuple[int, int, int] | None = None
) -> None:
    """``[in, out]`` kernel + bias -> ``nn.Linear``.

    nhwc=(H, W, C): the input was a Keras (NHWC) flatten; reorder the rows so
    the layer takes PyTorch's (C, H, W) flatten of the same tensor.
    """
    w = take_weight(tensors, f"{name}/kernel", (fc.in_features, fc.out_features))
    if nhwc is not None:
        h, wd, c = nhwc
        w = w.reshape(h, wd, c, fc.out_features).permute(2, 0, 1, 3).reshape(fc.in_features, -1)
    fc.weight.data.copy_(w.T)
    fc.bias.data.copy_(take_weight(tensors, f"{name}/bias", (fc.out_features,)))


def _finish(tensors: dict[str, torch.Tensor], model: str) -> None:
    if tensors:
        raise ValueError(f"{model}: unused weights {sorted(tensors)}")


class AntiSpoofNet(nn.Module):
    """human's ``antispoof`` model: ``(N, 3, 128, 128)`` in ``[0, 1]`` -> ``(N,)`` sigmoid score.

    The score is what human reports as ``face.real`` (higher = more "real").
    """

    INPUT_SIZE = 128

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, 64, 3)
        self.conv1 = nn.Conv2d(64, 32, 3)
        self.conv2 = nn.Conv2d(32, 16, 3)
        self.fc0 = nn.Linear(16 * 14 * 14, 128)
        self.fc1 = nn.Linear(128, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv0, self.conv1, self.conv2):
            # graph order is conv -> pool -> relu (Keras model: Conv2D, MaxPooling2D, Activation)
            x = F.relu(F.max_pool2d(conv(x), 2))
        x = F.relu(self.fc0(x.flatten(1)))
        return torch.sigmoid(self.fc1(x)).squeeze(1)

    @classmethod
    def from_weights(cls, tensors: dict[str, torch.Tensor]) -> AntiSpoofNet:
        """Build from ``load_weights("antispoof")`` tensors (names written by the converter)."""
        net, left = cls(), dict(tensors)
        for i, conv in enumerate((net.conv0, net.conv1, net.conv2)):
            _conv(conv, left, f"conv{i}")
        _dense(net.fc0, left, "fc0", nhwc=(14, 14, 16))
        _dense(net.fc1, left, "fc1")
        _finish(left, "antispoof")
        return net.eval()


class _BatchNorm(nn.Module):
    """A folded inference batch norm: ``x * scale + offset`` per channel (dim 1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(channels))
        self.register_buffer("offset", torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale.view(shape) + self.offset.view(shape)

    def load(self, tensors: dict[str, torch.Tensor], name: str) -> None:
        n = self.scale.numel()
        self.scale.copy_(take_weight(tensors, f"{name}/scale", (n,)))
        self.offset.copy_(take_weight(tensors, f"{name}/offset", (n,)))


class LivenessNet(nn.Module):
    """human's ``liveness`` model: ``(N, 3, 32, 32)`` in ``[0, 1]`` -> ``(N, 2)`` softmax.

    Column 0 is what human reports as ``face.live``; the meaning of the two
    columns is discussed in :mod:`core.recognize.liveness` and ADR 0014.
    """

    INPUT_SIZE = 32

    def __init__(self) -> None:
        super().__init__()
        chans = [(3, 16), (16, 16), (16, 32), (32, 32)]
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 3, padding=1) for cin, cout in chans)
        self.bns = nn.ModuleList(_BatchNorm(cout) for _, cout in chans)
        self.fc0 = nn.Linear(32 * 8 * 8, 64)
        self.bn_fc0 = _BatchNorm(64)
        self.fc1 = nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            x = bn(F.relu(conv(x)))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
        x = self.bn_fc0(F.relu(self.fc0(x.flatten(1))))
        return torch.softmax(self.fc1(x), dim=1)

    @classmethod
    def from_weights(cls, tensors: dict[str, torch.Tensor]) -> LivenessNet:
        """Build from ``load_weights("liveness")`` tensors (names written by the converter)."""
        net, left = cls(), dict(tensors)
        for i, (conv, bn) in enumerate(zip(net.convs, net.bns, strict=True)):
            _conv(conv, left, f"conv{i}")
            bn.load(left, f"bn{i}")
        _dense(net.fc0, left, "fc0", nhwc=(8, 8, 32))
        net.bn_fc0.load(left, "bn_fc0")
        _dense(net.fc1, left, "fc1")
        _finish(left, "liveness")
        return net.eval()
