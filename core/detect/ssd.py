"""face-api's SSD MobileNetV1 face detector: pre/post-processing around the network.

Reproduces ``SsdMobilenetv1.locateFaces`` of ``@vladmandic/face-api@1.7.15``:

1. pad bottom/right to a square, legacy bilinear resize to 512, ``x/127.5 - 1``;
2. box decoding with the stored anchors (``Output/extra_dim``) and the
   Faster R-CNN coder, scale factors (10, 10, 5, 5), in float32 as TF does;
3. face score ``sigmoid(logit[1])`` (not a softmax), kept when ``> min_score``;
4. greedy NMS, IoU ``> 0.5`` suppresses, on the unclamped normalised boxes,
   at most ``max_results`` (100) kept. face-api's own NMS
   (``ssdMobilenetv1/nonMaxSuppression.ts``) is plain greedy NMS: it skips
   candidates whose IoU with a kept box is > 0.5 and counts zero-area boxes as
   IoU 0; torchvision's NMS (used through :func:`core.detect.postprocess.nms`)
   selects the same boxes, the only difference being float32 instead of
   float64 IoU, which matters only for an IoU within ~1e-7 of 0.5. Truncating
   torchvision's full keep list to 100 equals stopping at 100;
5. clamp to [0, 1] in *padded-square* coordinates, multiply by
   ``512 / reshaped`` (face-api's rounded reshaped dimensions, e.g.
   ``512/341`` for 1920×1280) and by the image size. Boxes can therefore reach
   past the image on the padded side, exactly as face-api's do.

Each detection keeps the prediction layer (0–5) its anchor belongs to; the
layer's ScaleFace group (``small``/``medium``/``large``) is its ``branch``,
see :func:`layer_groups` and ``docs/adr/0004-ssd-branches.md``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from core.detect.faceapi_input import ReshapedDims, detector_batch
from core.detect.postprocess import build_result, nms
from core.detect.registry import FACEAPI_MIN_SCORE
from core.device import default_device
from core.models.ssd_mobilenet import INPUT_SIZE, SsdMobileNetV1, layer_anchor_slices
from core.scale_ranges import scale_range_of
from core.types import DetectionResult
from core.zoo.cache import load_network

log = logging.getLogger(__name__)

WEIGHTS_NAME = "faceapi_ssd_mobilenetv1"
DEFAULT_MIN_SCORE = FACEAPI_MIN_SCORE  # face-api's SsdMobilenetv1Options.minConfidence
IOU_THRESHOLD = 0.5  # hard-coded in face-api's locateFaces
MAX_RESULTS = 100  # face-api's default maxResults


@dataclass(frozen=True)
class SsdDetections:
    """Kept SSD detections of one image, in face-api's order (descending score).

    boxes: ``(K, 4)`` float64 x1 y1 x2 y2 in original-image pixels.
    scores: ``(K,)`` float64 ``sigmoid(logit[1])``.
    anchor_indices: ``(K,)`` index into the 5118 anchors (face-api's order).
    layers: ``(K,)`` prediction layer 0–5 of each anchor.
    groups: ``(6,)`` ScaleFace group of each prediction layer for this image.
    reshaped: face-api's rounded reshaped dimensions.
    timings_ms: ``preprocess``, ``forward``, ``postprocess``.
    """

    boxes: np.ndarray
    scores: np.ndarray
    anchor_indices: np.ndarray
    layers: np.ndarray
    groups: tuple[str, ...]
    reshaped: ReshapedDims
    timings_ms: dict[str, float]


def decode_boxes(encodings: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """face-api's ``decodeBoxesLayer``, op for op in float32.

    encodings: ``(A, 4)`` ``(ty, tx, th, tw)``; anchors: ``(A, 4)``
    ``[ymin, xmin, ymax, xmax]``. Returns ``(A, 4)`` ``[ymin, xmin, ymax, xmax]``
    normalised to the padded square, not clamped.
    """
    sizes_y = anchors[:, 2] - anchors[:, 0]
    sizes_x = anchors[:, 3] - anchors[:, 1]
    center_y = anchors[:, 0] + sizes_y / 2
    center_x = anchors[:, 1] + sizes_x / 2
    half_h = torch.exp(encodings[:, 2] / 5) * sizes_y / 2
    cy = encodings[:, 0] / 10 * sizes_y + center_y
    half_w = torch.exp(encodings[:, 3] / 5) * sizes_x / 2
    cx = encodings[:, 1] / 10 * sizes_x + center_x
    return torch.stack([cy - half_h, cx - half_w, cy + half_h, cx + half_w], dim=1)


def layer_nominal_sizes(anchors: torch.Tensor) -> np.ndarray:
    """``(6,)`` nominal anchor size of each prediction layer, normalised to the padded square.

    The geometric mean over the layer's anchors of ``sqrt(w·h)`` (aspect-ratio
    free): 0.159, 0.361, 0.511, 0.661, 0.811, 0.954 for face-api's anchors,
    i.e. 81, 185, 262, 339, 416, 489 px in the 512 input.
    """
    a = anchors.detach().to("cpu", torch.float64)
    sizes = torch.sqrt((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))
    return np.array([float(torch.log(sizes[s]).mean().exp()) for s in layer_anchor_slices()])


def layer_groups(nominal: np.ndarray, width: int, height: int) -> tuple[str, ...]:
    """ScaleFace group of each prediction layer for an image of ``width × height``.

    A layer's anchors measure ``nominal · sqrt(W'·H')`` original-image pixels,
    with ``W' = W·512/reshapedW`` and ``H' = H·512/reshapedH`` the padded
    square's extent (≈ the long side); the group is the scale range of that
    size (small 10–40, medium 40–140, large ≥140 px). The rule is per image
    because the network always sees 512 px: on a 640-px photo layer 0 (81 px
    in the input) covers ~102-px faces (medium), on a 200-px thumbnail ~32 px
    (small), on a 1920-px photo ~305 px (large).
    """
    dims = ReshapedDims.of(width, height, INPUT_SIZE)
    extent = math.sqrt(width * INPUT_SIZE / dims.width * height * INPUT_SIZE / dims.height)
    return tuple(scale_range_of(float(s) * extent) for s in nominal)


class SsdDetector:
    """face-api's SSD MobileNetV1 (WIDER FACE) as a :class:`~core.detect.protocol.Detector`.

    Boxes are x1 y1 x2 y2 in original-image pixels; ``branch`` is the ScaleFace
    group of the prediction layer that produced the box (``branch_kind = "branch"``).
    """

    name = "ssd"
    branch_kind = "branch"

    def __init__(
        self,
        weights: str = WEIGHTS_NAME,
        device: torch.device | str | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        max_results: int = MAX_RESULTS,
    ) -> None:
        self.device = torch.device(device) if device is not None else default_device()
        # channels_last (the cache's layout): oneDNN's depthwise and 1x1 kernels are ~25 % faster in NHWC on CPU
        self.model = load_network(weights, SsdMobileNetV1.from_tfjs, self.device)
        if self.device.type == "cpu":
            self.model.fuse_relu6()
        self.anchors = self.model.anchors
        self.nominal_sizes = layer_nominal_sizes(self.anchors)
        layer_of_anchor = torch.cat(
            [
                torch.full((s.stop - s.start,), i, dtype=torch.int64)
                for i, s in enumerate(layer_anchor_slices())
            ]
        )
        self._layer_of_anchor = layer_of_anchor.numpy()
        self.min_score = float(min_score)
        self.max_results = int(max_results)

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """RGB uint8 ``(H, W, 3)`` → ``(1, 3, 512, 512)`` in ``[-1, 1]`` on the device."""
        batch = detector_batch(image, INPUT_SIZE, self.device)
        return batch / 127.5 - 1  # same ops as face-api: div then sub

    @torch.inference_mode()
    def locate(self, image: np.ndarray, min_score: float | None = None) -> SsdDetections:
        """Run the detector and keep face-api's view of the result plus layer indices."""
        _check_image(image)
        threshold = self.min_score if min_score is None else float(min_score)
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        x = self.preprocess(image)
        t1 = time.perf_counter()
        box_enc, logits = self.model(x)
        enc = torch.cat(box_enc, dim=1)[0]
        scores_t = torch.sigmoid(torch.cat(logits, dim=1)[0, :, 1])
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t2 = time.perf_counter()
        # compare in float64 as JS does: a score of float32(0.2) passes "> 0.2" there, not in float32
        cand = torch.nonzero(scores_t.double() > threshold).flatten()
        boxes_n = decode_boxes(enc[cand], self.anchors[cand]).cpu()
        cand_scores = scores_t[cand].cpu()
        cand = cand.cpu().numpy()
        # torchvision wants x1 y1 x2 y2; decoded boxes always have positive size
        keep = nms(boxes_n[:, [1, 0, 3, 2]], cand_scores, IOU_THRESHOLD)[: self.max_results]
        dims = ReshapedDims.of(w, h, INPUT_SIZE)
        pad_x, pad_y = INPUT_SIZE / dims.width, INPUT_SIZE / dims.height
        b = boxes_n[keep].numpy().astype(np.float64).reshape(-1, 4)
        top = np.maximum(0.0, b[:, 0]) * pad_y
        bottom = np.minimum(1.0, b[:, 2]) * pad_y
        left = np.maximum(0.0, b[:, 1]) * pad_x
        right = np.minimum(1.0, b[:, 3]) * pad_x
        boxes = np.stack(
            [left * w, top * h, left * w + (right - left) * w, top * h + (bottom - top) * h], axis=1
        )
        anchor_idx = cand[keep].astype(np.int64)
        t3 = time.perf_counter()
        return SsdDetections(
            boxes=boxes.reshape(-1, 4),
            scores=cand_scores[keep].numpy().astype(np.float64).reshape(-1),
            anchor_indices=anchor_idx.reshape(-1),
            layers=self._layer_of_anchor[anchor_idx].reshape(-1),
            groups=layer_groups(self.nominal_sizes, w, h),
            reshaped=dims,
            timings_ms={
                "preprocess": (t1 - t0) * 1e3,
                "forward": (t2 - t1) * 1e3,
                "postprocess": (t3 - t2) * 1e3,
            },
        )

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        """Detect faces in an RGB uint8 ``(H, W, 3)`` image (see :class:`SsdDetector`)."""
        found = self.locate(image, min_score)
        t0 = time.perf_counter()
        branches = [found.groups[int(layer)] for layer in found.layers]
        timings = dict(found.timings_ms)
        result = build_result(
            found.boxes,
            found.scores,
            model=self.name,
            image_size=(int(image.shape[1]), int(image.shape[0])),
            branches=branches,
            branch_kind=self.branch_kind,
            timings_ms=timings,
        )
        result.timings_ms["postprocess"] += (time.perf_counter() - t0) * 1e3
        return result


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("empty image")


__all__ = [
    "SsdDetections",
    "SsdDetector",
    "decode_boxes",
    "layer_groups",
    "layer_nominal_sizes",
]
