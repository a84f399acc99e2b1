"""RetinaFace-MobileNet0.25 as released in biubug6/Face-Detector-1MB-with-landmark (MIT).

The weights (``weights/mobilenet0.25_Final.pth``, a plain state dict) need the
network, which we write here from the published design (``models/net.py``,
``models/retinaface.py``, ``data/config.py`` ``cfg_mnet``,
``layers/functions/prior_box.py``, ``utils/box_utils.py``, ``test_widerface.py``):

* backbone MobileNetV1 ×0.25: ``conv_bn(3, 8, s2)`` then depthwise-separable
  blocks to 64 (stage1, stride 8), 128 (stage2, stride 16), 256 (stage3,
  stride 32); every 3×3/1×1 conv is bias-free + BatchNorm + **ReLU** (this
  repository's ``net.py`` uses plain ReLU everywhere; the later
  Pytorch_Retinaface uses LeakyReLU(0.1) — not these weights);
* FPN to 64 channels (1×1 laterals, nearest upsampling, 3×3 merges), an SSH
  context module per level (3×3 → 32 ch, 5×5-ish → 16, 7×7-ish → 16, concat,
  ReLU), 1×1 heads with 2 anchors per cell: class (2), box (4), landmarks (10);
* priors: strides 8/16/32 with min sizes ``[[10, 20], [32, 64], [128, 256]]``
  (this repository's *modified* anchors; Pytorch_Retinaface uses
  16/32, 64/128, 256/512), feature maps ``ceil(size / stride)``, centres
  ``(j + 0.5)·stride / W``, order level, row, column, min size; not clipped;
* input **BGR** float minus (104, 117, 123), at the image's own size
  (``--origin_size``); SSD coder with variances (0.1, 0.2); score = softmax[1];
  NMS IoU 0.4, score threshold 0.02 in their WIDER script.

The network is exported once to ONNX in memory (TorchScript-based exporter,
dynamic height/width) and run by onnxruntime like the other peers.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.peers.base import Candidates, OnnxPeer, check_rgb, ort_session

FOLDER = "face_detector_1mb_landmark_biubug6"
WEIGHTS = "weights/mobilenet0.25_Final.pth"
MIN_SIZES: tuple[tuple[int, ...], ...] = ((10, 20), (32, 64), (128, 256))
STEPS = (8, 16, 32)
VARIANCES = (0.1, 0.2)
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)
NUM_ANCHORS = 2


def conv_bn(inp: int, out: int, stride: int = 1, kernel: int = 3, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(inp, out, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def conv_dw(inp: int, out: int, stride: int) -> nn.Sequential:
    """Depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU (state-dict indices 0, 1, 3, 4)."""
    return nn.Sequential(
        nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
        nn.BatchNorm2d(inp),
        nn.ReLU(inplace=True),
        nn.Conv2d(inp, out, 1, 1, 0, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU(inplace=True),
    )


class Body(nn.Module):
    """MobileNetV1-0.25 trunk; returns the stage1/2/3 maps (strides 8, 16, 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(
            conv_bn(3, 8, 2),
            conv_dw(8, 16, 1),
            conv_dw(16, 32, 2),
            conv_dw(32, 32, 1),
            conv_dw(32, 64, 2),
            conv_dw(64, 64, 1),
        )
        self.stage2 = nn.Sequential(conv_dw(64, 128, 2), *[conv_dw(128, 128, 1) for _ in range(5)])
        self.stage3 = nn.Sequential(conv_dw(128, 256, 2), conv_dw(256, 256, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        return [c1, c2, self.stage3(c2)]


class Fpn(nn.Module):
    def __init__(self, channels: tuple[int, int, int] = (64, 128, 256), out: int = 64) -> None:
        super().__init__()
        self.output1 = conv_bn(channels[0], out, kernel=1)
        self.output2 = conv_bn(channels[1], out, kernel=1)
        self.output3 = conv_bn(channels[2], out, kernel=1)
        self.merge1 = conv_bn(out, out)
        self.merge2 = conv_bn(out, out)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        o1, o2, o3 = self.output1(feats[0]), self.output2(feats[1]), self.output3(feats[2])
        o2 = self.merge2(o2 + F.interpolate(o3, size=o2.shape[-2:], mode="nearest"))
        o1 = self.merge1(o1 + F.interpolate(o2, size=o1.shape[-2:], mode="nearest"))
        return [o1, o2, o3]


class Ssh(nn.Module):
    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv3X3 = conv_bn(channels, channels // 2, relu=False)
        self.conv5X5_1 = conv_bn(channels, channels // 4)
        self.conv5X5_2 = conv_bn(channels // 4, channels // 4, relu=False)
        self.conv7X7_2 = conv_bn(channels // 4, channels // 4)
        self.conv7x7_3 = conv_bn(channels // 4, channels // 4, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c5_1 = self.conv5X5_1(x)
        c7 = self.conv7x7_3(self.conv7X7_2(c5_1))
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(c5_1), c7], dim=1))


class Head(nn.Module):
    """1×1 conv, (B, A·k, h, w) -> (B, h·w·A, k) (cell-major, anchors innermost)."""

    def __init__(self, channels: int, values: int) -> None:
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(channels, NUM_ANCHORS * values, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x).permute(0, 2, 3, 1)
        return out.reshape(out.shape[0], -1, self.values)


class RetinaFaceMnet(nn.Module):
    """Input ``(B, 3, H, W)`` BGR minus mean; outputs loc ``(B, N, 4)``, scores ``(B, N, 2)``
    (softmax), landmarks ``(B, N, 10)``; ``N = 2 · Σ ceil(H/s)·ceil(W/s)``, s in 8/16/32."""

    def __init__(self) -> None:
        super().__init__()
        self.body = Body()
        self.fpn = Fpn()
        self.ssh1, self.ssh2, self.ssh3 = Ssh(), Ssh(), Ssh()
        self.ClassHead = nn.ModuleList(Head(64, 2) for _ in range(3))
        self.BboxHead = nn.ModuleList(Head(64, 4) for _ in range(3))
        self.LandmarkHead = nn.ModuleList(Head(64, 10) for _ in range(3))

    def forward(self, x: torch.Tensor):
        p = self.fpn(self.body(x))
        feats = [self.ssh1(p[0]), self.ssh2(p[1]), self.ssh3(p[2])]
        loc = torch.cat([h(f) for h, f in zip(self.BboxHead, feats, strict=True)], dim=1)
        cls = torch.cat([h(f) for h, f in zip(self.ClassHead, feats, strict=True)], dim=1)
        ldm = torch.cat([h(f) for h, f in zip(self.LandmarkHead, feats, strict=True)], dim=1)
        return loc, F.softmax(cls, dim=-1), ldm


def load_network(path: Path) -> RetinaFaceMnet:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = RetinaFaceMnet()
    net.load_state_dict(state, strict=True)
    return net.eval()


def export_onnx(net: RetinaFaceMnet) -> bytes:
    """The network as ONNX (opset 13, dynamic H/W), serialised in memory."""
    buffer = io.BytesIO()
    dummy = torch.zeros(1, 3, 96, 128)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "legacy TorchScript-based export": on purpose
        torch.onnx.export(
            net,
            (dummy,),
            buffer,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
            input_names=["input"],
            output_names=["loc", "conf", "landms"],
            dynamic_axes={"input": {2: "H", 3: "W"}},
            opset_version=13,
        )
    return buffer.getvalue()


def priors(width: int, height: int) -> np.ndarray:
    """``(N, 4)`` float32 priors ``cx cy w h`` normalised to the input (not clipped)."""
    out = []
    for step, sizes in zip(STEPS, MIN_SIZES, strict=True):
        fh, fw = math.ceil(height / step), math.ceil(width / step)
        cy, cx = np.meshgrid(
            (np.arange(fh) + 0.5) * step / height, (np.arange(fw) + 0.5) * step / width, indexing="ij"
        )
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)
        wh = np.array([[s / width, s / height] for s in sizes])
        out.append(
            np.concatenate([np.repeat(centres, len(sizes), axis=0), np.tile(wh, (len(centres), 1))], axis=1)
        )
    return np.concatenate(out).astype(np.float32)


def decode(loc: np.ndarray, landms: np.ndarray, prior_boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSD coder: boxes ``(N, 4)`` x1 y1 x2 y2 and landmarks ``(N, 5, 2)``, both normalised."""
    p = prior_boxes.astype(np.float64)
    centre = p[:, :2] + loc[:, :2] * VARIANCES[0] * p[:, 2:]
    size = p[:, 2:] * np.exp(loc[:, 2:] * VARIANCES[1])
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    points = p[:, None, :2] + landms.reshape(-1, 5, 2) * VARIANCES[0] * p[:, None, 2:]
    return boxes, points


class RetinaFace(OnnxPeer):
    name = "retinaface-mnet"
    nms_iou = 0.4
    default_min_score = 0.5  # test_widerface.py's vis_thres

    def __init__(self, peers_dir: Path, threads: int | None = None, min_score: float | None = None):
        model = export_onnx(load_network(peers_dir / FOLDER / WEIGHTS))
        super().__init__(ort_session(model, threads), min_score)
        self._priors: dict[tuple[int, int], np.ndarray] = {}

    def priors_for(self, width: int, height: int) -> np.ndarray:
        key = (width, height)
        if key not in self._priors:
            self._priors[key] = priors(width, height)
        return self._priors[key]

    def preprocess(self, image: np.ndarray):
        check_rgb(image)
        blob = (image[..., ::-1].astype(np.float32) - BGR_MEAN).transpose(2, 0, 1)[None]
        return np.ascontiguousarray(blob), (image.shape[1], image.shape[0])

    def decode(self, outputs, context, threshold: float) -> Candidates:
        width, height = context
        scores = outputs["conf"][0, :, 1]
        keep = np.flatnonzero(scores > threshold)
        boxes, points = decode(
            outputs["loc"][0, keep].astype(np.float64),
            outputs["landms"][0, keep].astype(np.float64),
            self.priors_for(width, height)[keep],
        )
        scale = np.array([width, height], dtype=np.float64)
        return Candidates(boxes * np.tile(scale, 2), scores[keep].astype(np.float64), points * scale)
