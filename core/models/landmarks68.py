"""face-api's FaceLandmark68Net and FaceLandmark68TinyNet (68 iBUG points), and their dense feature extractor.

Input: ``(N, 3, 112, 112)`` float32, RGB, already normalised as
``(x - [122.782, 117.001, 104.298]) / 255`` (see :mod:`core.recognize.crops`).
Output: ``(N, 136)`` interleaved ``x0, y0, x1, y1, ...`` in units of the
padded 112 square (0..1 covers the square); mapping back to the crop and the
image (face-api's ``postProcess``) is done in :mod:`core.recognize.landmarker`.

Architecture (ARCHITECTURES.md §3-§4): densely connected blocks of separable
convs. In each block ``conv0`` has stride 2 (TF ``SAME``: bottom/right pad);
the following convs have no activation of their own and see the ReLU of the
running sum of all previous outputs. The full net has 4 blocks of 4 convs
(32-64-128-256 channels, 7x7 map), the tiny net 3 blocks of 3 convs
(32-64-128, 14x14 map); both end with a global mean and an FC to 136.
The same 4-block extractor (own weights) feeds the expression net.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.faceapi_layers import SeparableConv, TfConv2d, TfjsReader


def _right_sum(tensors: list[torch.Tensor]) -> torch.Tensor:
    """``t0 + (t1 + (t2 + ...))``: the association tfjs uses (only float rounding depends on it)."""
    acc = tensors[-1]
    for t in reversed(tensors[:-1]):
        acc = t + acc
    return acc


class DenseBlock(nn.Module):
    """face-api ``denseBlock3``/``denseBlock4``: ``(N, cin, H, W) -> (N, cout, ceil(H/2), ceil(W/2))``.

    ``o1 = relu(conv0(x))``; ``o_k = conv_{k-1}(relu(o1 + ... + o_{k-1}))``;
    ``out = relu(o1 + ... + o_n)``. ``first``: conv0 is a full 3x3 conv
    (the RGB input), otherwise a separable conv.
    """

    def __init__(self, cin: int, cout: int, n_convs: int, first: bool):
        super().__init__()
        self.first = first
        self.conv0 = TfConv2d(cin, cout, 3, stride=2) if first else SeparableConv(cin, cout, stride=2)
        self.convs = nn.ModuleList(SeparableConv(cout, cout) for _ in range(n_convs - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [F.relu(self.conv0(x))]
        for conv in self.convs:
            inp = outs[0] if len(outs) == 1 else F.relu(_right_sum(outs))
            outs.append(conv(inp))
        return F.relu(_right_sum(outs))

    def load_tfjs(self, reader: TfjsReader, prefix: str) -> None:
        if self.first:
            reader.conv(self.conv0, f"{prefix}/conv0/filters", f"{prefix}/conv0/bias")
        else:
            reader.separable(self.conv0, f"{prefix}/conv0")
        for i, conv in enumerate(self.convs, start=1):
            reader.separable(conv, f"{prefix}/conv{i}")


class DenseFeatureExtractor(nn.Module):
    """face-api ``FaceFeatureExtractor`` (4 blocks of 4) or ``TinyFaceFeatureExtractor`` (3 blocks of 3).

    ``(N, 3, 112, 112) -> (N, C)`` with C = 256 (full) or 128 (tiny): the
    blocks, then face-api's ``avgPool`` whose window covers the whole last
    map (7x7 or 14x14), i.e. a global mean.
    """

    def __init__(self, tiny: bool = False):
        super().__init__()
        channels = (32, 64, 128) if tiny else (32, 64, 128, 256)
        n_convs = 3 if tiny else 4
        cins = (3,) + channels[:-1]
        self.blocks = nn.ModuleList(
            DenseBlock(cin, cout, n_convs, first=i == 0)
            for i, (cin, cout) in enumerate(zip(cins, channels, strict=True))
        )
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x)
            if taps is not None:
                taps[f"dense{i}"] = x
        pooled = x.mean(dim=(2, 3))
        if taps is not None:
            taps["avgpool"] = pooled
        return pooled

    def load_tfjs(self, reader: TfjsReader) -> None:
        for i, block in enumerate(self.blocks):
            block.load_tfjs(reader, f"dense{i}")


class FaceLandmark68Net(nn.Module):
    """68-point landmark regressor: ``(N, 3, 112, 112) -> (N, 136)`` (see module docstring)."""

    INPUT_SIZE = 112

    def __init__(self, tiny: bool = False):
        super().__init__()
        self.tiny = tiny
        self.features = DenseFeatureExtractor(tiny)
        self.fc = nn.Linear(self.features.out_channels, 136)

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        out = self.fc(self.features(x, taps))
        if taps is not None:
            taps["fc"] = out
        return out

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor], tiny: bool | None = None) -> FaceLandmark68Net:
        """Build from ``load_weights("faceapi_face_landmark_68[_tiny]")`` tensors.

        ``tiny=None`` infers the variant from the FC input size (128 = tiny).
        """
        if tiny is None:
            tiny = tensors["fc/weights"].shape[0] == 128
        net = cls(tiny)
        reader = TfjsReader(tensors, "face_landmark_68_tiny" if tiny else "face_landmark_68")
        net.features.load_tfjs(reader)
        reader.linear(net.fc, "fc/weights", "fc/bias")
        reader.finish()
        return net.eval()
