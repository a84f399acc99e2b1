"""face-api's FaceRecognitionNet: dlib's ``dlib_face_recognition_resnet_model_v1`` (128-d descriptor).

Input: ``(N, 3, 150, 150)`` float32, RGB, normalised as
``(x - [122.782, 117.001, 104.298]) / 255``; the crop convention (dlib
eye/mouth square, no rotation) lives in :mod:`core.recognize.crops`.
Output: ``(N, 128)`` descriptor, *not* L2-normalised (norm ~1.4-1.5 on
faces); face-api matches descriptors by Euclidean distance at 0.6.

Architecture (ARCHITECTURES.md §6): a 29-conv ResNet. Every conv is followed
by dlib's per-channel affine "scale" layer; we fold it into the conv at load
time (``w * s``, ``b * s + t``), which changes results only at float
rounding level. ``residualDown`` blocks use a stride-2 ``VALID`` conv, an
average-pooled shortcut widened with zero channels, and zero-pad the conv
branch by one row/column at the bottom/right when it is smaller (3 -> 4 and
1 -> 2 at 150 input). The head is a spatial mean and an FC without bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.faceapi_layers import TfConv2d, TfjsReader


class ConvScale(nn.Module):
    """conv + bias + dlib scale layer (folded), optional ReLU. ``(N, cin, H, W) -> (N, cout, H', W')``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: str, relu: bool):
        super().__init__()
        self.conv = TfConv2d(cin, cout, kernel, stride, padding)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return F.relu(out) if self.relu else out

    def load_tfjs(self, reader: TfjsReader, prefix: str) -> None:
        reader.conv(self.conv, f"{prefix}/conv/filters", f"{prefix}/conv/bias")
        n = self.conv.out_channels
        scale = reader.take(f"{prefix}/scale/weights", (n,))
        shift = reader.take(f"{prefix}/scale/biases", (n,))
        # (conv(x) + b) * s + t == conv_{w*s}(x) + (b*s + t)
        self.conv.weight.data.mul_(scale.view(-1, 1, 1, 1))
        self.conv.bias.data.mul_(scale).add_(shift)


class Residual(nn.Module):
    """``relu(convNoRelu(conv(x)) + x)``, 3x3 stride-1 SAME convs; shape-preserving."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvScale(channels, channels, 3, 1, "same", relu=True)
        self.conv2 = ConvScale(channels, channels, 3, 1, "same", relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + x)

    def load_tfjs(self, reader: TfjsReader, prefix: str) -> None:
        self.conv1.load_tfjs(reader, f"{prefix}/conv1")
        self.conv2.load_tfjs(reader, f"{prefix}/conv2")


class ResidualDown(Residual):
    """Downsampling residual: ``(N, cin, H, W) -> (N, cout, H//2, W//2)``.

    Conv branch: 3x3 stride-2 VALID conv + ReLU, 3x3 SAME conv. Shortcut:
    ``avgPool 2x2 s2 VALID``, zero channels appended when cout > cin. When the
    conv branch is spatially smaller, face-api appends one zero row (bottom)
    and one zero column (right) to it.
    """

    def __init__(self, cin: int, cout: int):
        nn.Module.__init__(self)
        self.conv1 = ConvScale(cin, cout, 3, 2, "valid", relu=True)
        self.conv2 = ConvScale(cout, cout, 3, 1, "same", relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        pooled = F.avg_pool2d(x, 2, 2)
        if pooled.shape[-2:] != out.shape[-2:]:
            out = F.pad(out, (0, 1, 0, 1))
        if pooled.shape[1] != out.shape[1]:
            pooled = torch.cat([pooled, torch.zeros_like(pooled)], dim=1)
        return F.relu(pooled + out)


class FaceRecognitionNet(nn.Module):
    """``(N, 3, 150, 150) -> (N, 128)`` face descriptor (see module docstring)."""

    INPUT_SIZE = 150
    DIM = 128

    # (name, block type, cin, cout) in forward order after the stem.
    _BLOCKS: tuple[tuple[str, str, int, int], ...] = (
        ("conv32_1", "res", 32, 32),
        ("conv32_2", "res", 32, 32),
        ("conv32_3", "res", 32, 32),
        ("conv64_down", "down", 32, 64),
        ("conv64_1", "res", 64, 64),
        ("conv64_2", "res", 64, 64),
        ("conv64_3", "res", 64, 64),
        ("conv128_down", "down", 64, 128),
        ("conv128_1", "res", 128, 128),
        ("conv128_2", "res", 128, 128),
        ("conv256_down", "down", 128, 256),
        ("conv256_1", "res", 256, 256),
        ("conv256_2", "res", 256, 256),
        ("conv256_down_out", "down", 256, 256),
    )

    def __init__(self) -> None:
        super().__init__()
        self.conv32_down = ConvScale(3, 32, 7, 2, "valid", relu=True)
        self.blocks = nn.ModuleDict(
            {
                name: ResidualDown(cin, cout) if kind == "down" else Residual(cin)
                for name, kind, cin, cout in self._BLOCKS
            }
        )
        self.fc = nn.Linear(256, self.DIM, bias=False)

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        x = self.conv32_down(x)
        if taps is not None:
            taps["conv32_down"] = x
        x = F.max_pool2d(x, 3, 2)  # TF maxPool 3x3 s2 VALID
        if taps is not None:
            taps["maxpool"] = x
        for name, block in self.blocks.items():
            x = block(x)
            if taps is not None:
                taps[name] = x
        pooled = x.mean(dim=(2, 3))
        if taps is not None:
            taps["global_avg"] = pooled
        return self.fc(pooled)

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor]) -> FaceRecognitionNet:
        """Build from ``load_weights("faceapi_face_recognition")`` tensors."""
        net = cls()
        reader = TfjsReader(tensors, "face_recognition")
        net.conv32_down.load_tfjs(reader, "conv32_down")
        for name, block in net.blocks.items():
            block.load_tfjs(reader, name)
        reader.linear(net.fc, "fc")
        reader.finish()
        return net.eval()
