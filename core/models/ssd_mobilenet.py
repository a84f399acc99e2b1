"""face-api's SSD MobileNetV1 face detector as a PyTorch module (network only).

The TF Object Detection API SSD-MobileNetV1 trained on WIDER FACE (yeephycho),
as shipped in ``@vladmandic/face-api@1.7.15``. Decoding, NMS and the mapping
back to image pixels live in :mod:`core.detect.ssd`.

Layout (see ``shared/data/faceapi_ref/ARCHITECTURES.md`` §1):

* input ``(N, 3, 512, 512)`` float32, RGB scaled to ``[-1, 1]``;
* MobileNetV1 (width 1.0): ``conv_0`` 3×3/2, then 13 depthwise-separable
  blocks; ReLU6 after every conv; the output of block 11 (32×32×512) feeds
  prediction layer 0, block 13 (16×16×1024) feeds layer 1;
* eight extra convs (1×1 then 3×3/2, four times) feed layers 2–5;
* six box predictors (plain 1×1 convs): box encodings ``(ty, tx, th, tw)``
  and 3 class logits per anchor.

TF ``SAME`` padding on the stride-2 3×3 layers pads bottom/right only, so
those layers pad explicitly with :func:`core.models.tf_ops.pad_same`.
The depthwise batch norm (unfolded in the TF.js graph, eps = float32 0.001)
is folded into the depthwise weights at load time: ``conv(x, w)·a + b ==
conv(x, w·a) + b`` up to float rounding (≈1e-6 relative), one op less per block.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.models.tf_ops import pad_same

# (cin, cout, depthwise stride) of MobileNetV1 blocks 1..13
MOBILENET_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (32, 64, 1),
    (64, 128, 2),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
    (256, 512, 2),
    (512, 512, 1),
    (512, 512, 1),
    (512, 512, 1),
    (512, 512, 1),
    (512, 512, 1),
    (512, 1024, 2),
    (1024, 1024, 1),
)
# (kernel, cin, cout, stride) of Prediction/Conv2d_0..7 (the SSD extra layers)
EXTRA_LAYERS: tuple[tuple[int, int, int, int], ...] = (
    (1, 1024, 256, 1),
    (3, 256, 512, 2),
    (1, 512, 128, 1),
    (3, 128, 256, 2),
    (1, 256, 128, 1),
    (3, 128, 256, 2),
    (1, 256, 64, 1),
    (3, 64, 128, 2),
)
# per prediction layer: (input channels, anchors per cell, feature-map side at 512 input)
PREDICTION_LAYERS: tuple[tuple[int, int, int], ...] = (
    (512, 3, 32),
    (1024, 6, 16),
    (512, 6, 8),
    (256, 6, 4),
    (256, 6, 2),
    (128, 6, 1),
)
NUM_ANCHORS = sum(n * fm * fm for _, n, fm in PREDICTION_LAYERS)  # 5118
# oneDNN convolution with a fused clamp (the op torch.compile emits on CPU). A
# private op, so it is looked up once and everything falls back to conv + relu6
# when it is absent.
_FUSED_CONV = (
    getattr(torch.ops.mkldnn, "_convolution_pointwise", None)
    if torch.backends.mkldnn.is_available()
    else None
)
INPUT_SIZE = 512
BN_EPS = 0.0010000000474974513  # float32(0.001), as in the TF.js graph


class TfConv(nn.Module):
    """Conv2d with TF ``SAME`` semantics (+ optional ReLU6).

    Stride-1 layers use PyTorch's symmetric padding (identical to SAME for odd
    kernels); stride-2 layers pad explicitly so that the extra cell goes to
    the bottom/right as in TF.

    Stride-2 *depthwise* layers instead store their 3×3 kernel in the
    bottom-right of a zero 4×4 kernel and use symmetric padding 1: output
    ``i`` then reads ``x[2i-1 .. 2i+2]`` with weight 0 on ``x[2i-1]``, which is
    exactly SAME's ``x[2i .. 2i+2]`` with the (0, 1) padding of an even input,
    without a padded copy of the (channels-last) map (≈4 % of the forward;
    outputs bit-identical in tests). An odd input, where SAME pads (1, 1),
    falls back to the explicit padding.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int = 1, relu6: bool = True):
        super().__init__()
        self.kernel, self.stride, self.relu6 = kernel, stride, relu6
        self.fused = False  # set by SsdMobileNetV1.fuse_relu6()
        self.shifted = stride == 2 and kernel == 3 and groups == cin > 1
        if self.shifted:
            self.conv = nn.Conv2d(cin, cout, 4, 2, padding=1, groups=groups, bias=True)
        else:
            pad = kernel // 2 if stride == 1 else 0
            self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=pad, groups=groups, bias=True)

    def tf_weight(self, w: torch.Tensor) -> torch.Tensor:
        """PyTorch-layout ``(cout, cin/groups, k, k)`` kernel → this layer's stored kernel."""
        if not self.shifted:
            return w
        out = torch.zeros(w.shape[0], w.shape[1], 4, 4, dtype=w.dtype)
        out[:, :, 1:, 1:] = w
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        if self.shifted and (x.shape[-1] % 2 or x.shape[-2] % 2):
            x = F.conv2d(pad_same(x, 3, 2), c.weight[:, :, 1:, 1:], c.bias, 2, 0, 1, c.groups)
            return F.relu6(x, inplace=True) if self.relu6 else x
        if not self.shifted and self.stride != 1:
            x = pad_same(x, self.kernel, self.stride)
        if self.fused and x.device.type == "cpu" and not torch.is_grad_enabled():
            # one oneDNN call for conv + clamp(0, 6): ~7 % of the SSD forward on CPU
            return _FUSED_CONV(
                x,
                c.weight,
                c.bias,
                list(c.padding),
                list(c.stride),
                list(c.dilation),
                c.groups,
                "hardtanh",
                [0.0, 6.0],
                "",
            )
        x = c(x)
        return F.relu6(x, inplace=True) if self.relu6 else x


class SsdMobileNetV1(nn.Module):
    """SSD MobileNetV1 network: ``(N, 3, 512, 512)`` in, per-layer raw heads out.

    ``forward`` returns ``(box_encodings, class_logits)``, two lists of six
    tensors, one per prediction layer ``l``: ``box_encodings[l]`` is
    ``(N, A_l, 4)`` with ``(ty, tx, th, tw)`` and ``class_logits[l]`` is
    ``(N, A_l, 3)`` (face-api's score is ``sigmoid(logit[..., 1])``).
    ``A_l = fm_l² · n_l`` in TF order: anchor index within the layer =
    ``(row·fm + col)·n_l + k``. Concatenating the six lists gives face-api's
    5118-anchor order.

    Buffer ``anchors``: ``(5118, 4)`` ``[ymin, xmin, ymax, xmax]`` normalised to
    the padded 512 square (``Output/extra_dim``, not clipped).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv_0 = TfConv(3, 32, 3, 2)
        self.depthwise = nn.ModuleList(TfConv(cin, cin, 3, s, groups=cin) for cin, _, s in MOBILENET_BLOCKS)
        self.pointwise = nn.ModuleList(TfConv(cin, cout, 1, 1) for cin, cout, _ in MOBILENET_BLOCKS)
        self.extras = nn.ModuleList(TfConv(cin, cout, k, s) for k, cin, cout, s in EXTRA_LAYERS)
        self.box_heads = nn.ModuleList(nn.Conv2d(c, 4 * n, 1) for c, n, _ in PREDICTION_LAYERS)
        self.class_heads = nn.ModuleList(nn.Conv2d(c, 3 * n, 1) for c, n, _ in PREDICTION_LAYERS)
        self.register_buffer("anchors", torch.zeros(NUM_ANCHORS, 4))

    def forward(
        self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """x: ``(N, 3, 512, 512)`` normalised input.

        taps: when a dict is given, every intermediate output is stored in it
        under face-api's layer names (``mobilenetv1/conv_3/pointwise``,
        ``prediction_layer/conv_1``, ...), NCHW; used by the layer-level tests.
        """
        out = self.conv_0(x)
        if taps is not None:
            taps["mobilenetv1/conv_0"] = out
        sources: list[torch.Tensor] = []
        for i, (dw, pw) in enumerate(zip(self.depthwise, self.pointwise, strict=True), start=1):
            out = dw(out)
            if taps is not None:
                taps[f"mobilenetv1/conv_{i}/depthwise"] = out
            out = pw(out)
            if taps is not None:
                taps[f"mobilenetv1/conv_{i}/pointwise"] = out
            if i == 11:
                sources.append(out)
        sources.append(out)
        for j, layer in enumerate(self.extras):
            out = layer(out)
            if taps is not None:
                taps[f"prediction_layer/conv_{j}"] = out
            if j % 2 == 1:  # conv_1, conv_3, conv_5, conv_7 feed heads 2..5
                sources.append(out)
        n = x.shape[0]
        boxes = [_to_anchor_rows(h(src), 4, n) for h, src in zip(self.box_heads, sources, strict=True)]
        logits = [_to_anchor_rows(h(src), 3, n) for h, src in zip(self.class_heads, sources, strict=True)]
        return boxes, logits

    def fuse_relu6(self, enabled: bool = True) -> bool:
        """Run conv + ReLU6 as one oneDNN op on CPU (inference only). Returns whether it is on.

        Same values up to float rounding (the clamp is exact; measured ≤ 5e-5 on logits);
        off when this PyTorch build lacks the op.
        """
        on = bool(enabled and _FUSED_CONV is not None)
        for module in self.modules():
            if isinstance(module, TfConv):
                module.fused = on and module.relu6
        return on

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor]) -> SsdMobileNetV1:
        """Build from face-api's TF.js tensors (TF layouts, float32), permuting layouts.

        Raises ``KeyError`` naming a missing tensor and ``ValueError`` on a shape mismatch.
        """
        model = cls()
        state: dict[str, torch.Tensor] = {}
        mb = "MobilenetV1/Conv2d_{}_{}"
        state["conv_0.conv.weight"] = _hwio(tensors[mb.format(0, "pointwise") + "/weights"])
        state["conv_0.conv.bias"] = tensors[mb.format(0, "pointwise") + "/convolution_bn_offset"]
        for i in range(1, len(MOBILENET_BLOCKS) + 1):
            dw = mb.format(i, "depthwise")
            w = tensors[dw + "/depthwise_weights"].permute(2, 3, 0, 1)  # [kh,kw,C,1] -> [C,1,kh,kw]
            w64 = w.to(torch.float64)
            gamma, beta, mean, var = (
                tensors[f"{dw}/BatchNorm/{k}"].to(torch.float64)
                for k in ("gamma", "beta", "moving_mean", "moving_variance")
            )
            scale = gamma / torch.sqrt(var + BN_EPS)
            folded = (w64 * scale.view(-1, 1, 1, 1)).to(torch.float32)
            state[f"depthwise.{i - 1}.conv.weight"] = model.depthwise[i - 1].tf_weight(folded)
            state[f"depthwise.{i - 1}.conv.bias"] = (beta - mean * scale).to(torch.float32)
            pw = mb.format(i, "pointwise")
            state[f"pointwise.{i - 1}.conv.weight"] = _hwio(tensors[pw + "/weights"])
            state[f"pointwise.{i - 1}.conv.bias"] = tensors[pw + "/convolution_bn_offset"]
        for j in range(len(EXTRA_LAYERS)):
            p = f"Prediction/Conv2d_{j}_pointwise"
            state[f"extras.{j}.conv.weight"] = _hwio(tensors[p + "/weights"])
            state[f"extras.{j}.conv.bias"] = tensors[p + "/convolution_bn_offset"]
        for l_idx in range(len(PREDICTION_LAYERS)):
            p = f"Prediction/BoxPredictor_{l_idx}"
            state[f"box_heads.{l_idx}.weight"] = _hwio(tensors[p + "/BoxEncodingPredictor/weights"])
            state[f"box_heads.{l_idx}.bias"] = tensors[p + "/BoxEncodingPredictor/biases"]
            state[f"class_heads.{l_idx}.weight"] = _hwio(tensors[p + "/ClassPredictor/weights"])
            state[f"class_heads.{l_idx}.bias"] = tensors[p + "/ClassPredictor/biases"]
        state["anchors"] = tensors["Output/extra_dim"].reshape(-1, 4)
        own = model.state_dict()
        for key, value in state.items():
            if own[key].shape != value.shape:
                raise ValueError(
                    f"SSD weight {key}: shape {tuple(value.shape)}, expected {tuple(own[key].shape)}"
                )
        model.load_state_dict({k: v.to(torch.float32).contiguous() for k, v in state.items()}, strict=True)
        return model.eval()


def _hwio(w: torch.Tensor) -> torch.Tensor:
    """TF conv filter ``[kh, kw, cin, cout]`` → PyTorch ``[cout, cin, kh, kw]``."""
    return w.permute(3, 2, 0, 1)


def _to_anchor_rows(y: torch.Tensor, width: int, n: int) -> torch.Tensor:
    """Head output ``(N, n_l·width, fm, fm)`` → ``(N, fm·fm·n_l, width)`` in TF's NHWC order."""
    return y.permute(0, 2, 3, 1).reshape(n, -1, width)


def layer_anchor_slices() -> list[slice]:
    """Slices of the 5118-anchor axis belonging to each prediction layer (offsets 0, 3072, …, 5112)."""
    out, start = [], 0
    for _, n, fm in PREDICTION_LAYERS:
        out.append(slice(start, start + n * fm * fm))
        start += n * fm * fm
    return out
