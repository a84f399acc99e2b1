"""TensorFlow semantics that ported TF/TF.js networks must reproduce exactly.

Shared by every face-api and Human port: the *legacy* bilinear resize
(``align_corners=False, half_pixel_centers=False``), square padding as
face-api's ``NetInput.toBatchTensor`` does it, TF ``SAME`` padding (which pads
bottom/right only on stride-2 layers), JS ``Math.round``, and taking a converted
weight by name with its shape checked.

Tensors are NCHW float32 here (PyTorch layout); images come in as HWC.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def js_round(x: float) -> int:
    """JavaScript ``Math.round``: round half up (Python's ``round`` is banker's)."""
    return math.floor(x + 0.5)


def legacy_axis(
    in_size: int, out_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices (low, high) and fractions for one axis of the legacy TF resize."""
    scale = in_size / out_size
    src = torch.arange(out_size, dtype=torch.float32, device=device) * torch.tensor(
        scale, dtype=torch.float32
    )
    low = torch.floor(src)
    frac = src - low
    low_i = low.to(torch.int64).clamp(max=in_size - 1)
    high_i = torch.ceil(src).to(torch.int64).clamp(max=in_size - 1)
    return low_i, high_i, frac


def resize_bilinear_legacy(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``tf.image.resizeBilinear(x, size, alignCorners=false, halfPixelCenters=false)``.

    x: ``(N, C, H, W)`` float32; size: ``(out_h, out_w)``. Interpolates along x
    first, then y, as the tfjs CPU/WASM kernels do. Returns ``(N, C, out_h, out_w)``.
    A no-op when the size already matches (face-api skips the resize then).
    """
    out_h, out_w = size
    in_h, in_w = x.shape[-2:]
    if (in_h, in_w) == (out_h, out_w):
        return x
    y0, y1, fy = legacy_axis(in_h, out_h, x.device)
    x0, x1, fx = legacy_axis(in_w, out_w, x.device)
    # The top (y0) and bottom (y1) source rows are lerped along x in one pass; index_select
    # is ~2.5x faster than advanced indexing here and gives bit-identical results.
    rows = x.index_select(-2, torch.cat([y0, y1]))
    left = rows.index_select(-1, x0)
    lerp_x = left + (rows.index_select(-1, x1) - left) * fx
    top, bottom = lerp_x[..., :out_h, :], lerp_x[..., out_h:, :]
    return top + (bottom - top) * fy.view(-1, 1)


def pad_to_square(x: torch.Tensor, centered: bool) -> torch.Tensor:
    """Zero-pad ``(N, C, H, W)`` to a square as face-api's ``toBatchTensor``.

    centered=False (detectors): the whole difference goes to the bottom
    (landscape) or right (portrait). centered=True (face models):
    ``js_round(diff / 2)`` goes after the image, the rest before it.
    """
    h, w = x.shape[-2:]
    diff = abs(h - w)
    if diff == 0:
        return x
    after = js_round(diff / 2) if centered else diff
    before = diff - after
    if h > w:  # portrait: pad columns (left, right)
        return F.pad(x, (before, after, 0, 0))
    return F.pad(x, (0, 0, before, after))


def same_padding(in_size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF ``SAME`` padding ``(before, after)`` for one axis; the extra cell goes after."""
    out = -(-in_size // stride)
    total = max((out - 1) * stride + kernel - in_size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """Pad ``(N, C, H, W)`` for a TF ``SAME`` conv/pool (use ``value=-inf`` for max-pool)."""
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def take_weight(tensors: dict[str, torch.Tensor], name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Pop weight ``name`` as float32, checking its TF-layout ``shape``; a clear error when missing or misshapen."""
    if name not in tensors:
        raise ValueError(f"weight {name!r} is missing (have {sorted(tensors)[:6]}...)")
    t = tensors.pop(name).to(torch.float32)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"weight {name!r} has shape {tuple(t.shape)}, expected {tuple(shape)}")
    return t
