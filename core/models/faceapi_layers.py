"""Building blocks shared by the face-api per-face networks (landmarks, expression, age/gender).

TF semantics: every conv here is a TF ``SAME`` or ``VALID`` conv. ``SAME``
with stride 1 and an odd kernel is the symmetric ``k // 2`` padding PyTorch
already does; ``SAME`` with stride 2 pads bottom/right only, so those layers
pad explicitly (:func:`core.models.tf_ops.pad_same`) before a ``VALID`` conv.

Weights arrive as TF.js tensors keyed by their manifest names, in TF layouts
(HWIO filters, ``[in, out]`` FC); :class:`TfjsReader` hands them out, checks
their shapes while permuting, and reports any left unused.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.tf_ops import pad_same, same_padding


class TfjsReader:
    """Consume a ``{tfjs_name: tensor}`` dict into PyTorch modules, strictly.

    Every ``take*`` call removes the tensor; :meth:`finish` raises
    ``ValueError`` when tensors remain, so a wrong architecture or a renamed
    weight never loads silently.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], model: str):
        self._tensors = dict(tensors)
        self._model = model

    def take(self, name: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
        if name not in self._tensors:
            raise ValueError(f"{self._model}: weight {name!r} is missing")
        t = self._tensors.pop(name).to(torch.float32)
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(
                f"{self._model}: weight {name!r} has shape {tuple(t.shape)}, expected {tuple(shape)}"
            )
        return t

    def conv(self, conv: nn.Conv2d, filters: str, bias: str | None = None) -> None:
        """Full conv: HWIO ``[kh, kw, cin, cout]`` -> OIHW."""
        kh, kw = conv.kernel_size
        w = self.take(filters, (kh, kw, conv.in_channels, conv.out_channels))
        conv.weight.data.copy_(w.permute(3, 2, 0, 1))
        if bias is not None:
            conv.bias.data.copy_(self.take(bias, (conv.out_channels,)))

    def depthwise(self, conv: nn.Conv2d, filters: str) -> None:
        """Depthwise ``[kh, kw, cin, 1]`` -> ``[cin, 1, kh, kw]`` (groups = cin)."""
        kh, kw = conv.kernel_size
        w = self.take(filters, (kh, kw, conv.in_channels, 1))
        conv.weight.data.copy_(w.permute(2, 3, 0, 1))

    def linear(self, fc: nn.Linear, weights: str, bias: str | None = None) -> None:
        """FC ``[in, out]`` applied as ``x @ W + b`` -> ``nn.Linear`` weight ``[out, in]``."""
        w = self.take(weights, (fc.in_features, fc.out_features))
        fc.weight.data.copy_(w.T)
        if bias is not None:
            fc.bias.data.copy_(self.take(bias, (fc.out_features,)))

    def separable(self, sep: SeparableConv, prefix: str) -> None:
        self.depthwise(sep.depthwise, f"{prefix}/depthwise_filter")
        self.conv(sep.pointwise, f"{prefix}/pointwise_filter", f"{prefix}/bias")

    def finish(self) -> None:
        if self._tensors:
            raise ValueError(f"{self._model}: unused weights {sorted(self._tensors)[:8]}")


class TfConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TF ``SAME``/``VALID`` padding.

    Input ``(N, cin, H, W)``; output ``(N, cout, ceil(H/s), ceil(W/s))`` for
    ``SAME``. Stride-1 odd-kernel ``SAME`` uses PyTorch's symmetric padding
    (identical to TF there); other ``SAME`` layers pad bottom/right first.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        padding: str = "same",
        bias: bool = True,
        groups: int = 1,
    ):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', not {padding!r}")
        symmetric = padding == "same" and stride == 1 and kernel % 2 == 1
        super().__init__(
            cin, cout, kernel, stride, padding=kernel // 2 if symmetric else 0, bias=bias, groups=groups
        )
        self._explicit_same = padding == "same" and not symmetric

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._explicit_same:
            x = pad_same(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


class SeparableConv(nn.Module):
    """``tf.separableConv2d(x, dw, pw, stride, 'same') + bias``: depthwise 3x3 (no bias), pointwise 1x1 + bias.

    ``(N, cin, H, W) -> (N, cout, ceil(H/s), ceil(W/s))``; no activation.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.depthwise = TfConv2d(cin, cin, 3, stride, "same", bias=False, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def max_pool_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF ``maxPool(x, k, s, 'same')``: padded cells never win (-inf padding, bottom/right first).

    When TF pads only after the data (even sizes with k=3, s=2), PyTorch's
    ``ceil_mode`` windows are the same windows, clipped at the border; that
    avoids materialising a padded copy.
    """
    pads_h = same_padding(x.shape[-2], kernel, stride)
    pads_w = same_padding(x.shape[-1], kernel, stride)
    if pads_h[0] == 0 and pads_w[0] == 0 and pads_h[1] < kernel and pads_w[1] < kernel:
        return nn.functional.max_pool2d(x, kernel, stride, ceil_mode=True)
    return nn.functional.max_pool2d(pad_same(x, kernel, stride, value=float("-inf")), kernel, stride)
