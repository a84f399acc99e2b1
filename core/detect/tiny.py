"""face-api's tiny face detector: pre/post-processing around the network.

Reproduces ``TinyFaceDetector.locateFaces`` of ``@vladmandic/face-api@1.7.15``:

1. pad bottom/right to a square, legacy bilinear resize to ``max_side``
   (416 default, or 608; a multiple of 32), ``(x - [117.001, 114.697, 97.404]) / 255``;
2. decode every cell and anchor whose ``sigmoid(conf) > min_score`` (float64, as
   JS does): centre ``((col + σ(tx))/S·cX, (row + σ(ty))/S·cY)``, size
   ``(exp(tw)·aw/S·cX, exp(th)·ah/S·cY)`` with ``cX = input/reshapedW`` and
   ``cY = input/reshapedH`` from face-api's *rounded* reshaped dimensions;
3. greedy NMS by descending score, IoU ``> 0.4`` suppresses, no max count
   (face-api's ``ops/nonMaxSuppression`` is plain greedy NMS, so
   :func:`core.detect.postprocess.nms` keeps the same boxes);
4. multiply by the image size; boxes are *not* clamped (they can start at
   negative coordinates), as in face-api.

The network has a single head, so ``branch`` is the scale range of the box
height and ``branch_kind = "scale_range"``. Its boxes were trained to cover
all 68 landmarks and are visibly larger than SSD's.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from core.detect.faceapi_input import ReshapedDims, detector_batch
from core.detect.postprocess import build_result, nms
from core.detect.registry import FACEAPI_MIN_SCORE, TINY_MAX_SIDE
from core.device import default_device
from core.models.tiny_face_detector import ANCHORS, NUM_ANCHORS, TinyFaceDetectorNet
from core.types import DetectionResult
from core.zoo.cache import load_network

WEIGHTS_NAME = "faceapi_tiny_face_detector"
DEFAULT_MIN_SCORE = FACEAPI_MIN_SCORE  # face-api's TinyYolov2Options.scoreThreshold default
IOU_THRESHOLD = 0.4  # tinyFaceDetector/const.ts
MEAN_RGB = (117.001, 114.697, 97.404)
INPUT_SIZES = (128, 160, 224, 320, 416, 512, 608)  # face-api's documented choices


class TinyFaceDetector:
    """face-api's tiny face detector as a :class:`~core.detect.protocol.Detector`.

    max_side: network side, a multiple of 32 (face-api's ``inputSize``; 416 or 608
    are the usual choices). Boxes are x1 y1 x2 y2 in original-image pixels.
    """

    name = "tiny"
    branch_kind = "scale_range"

    def __init__(
        self,
        weights: str = WEIGHTS_NAME,
        device: torch.device | str | None = None,
        max_side: int = TINY_MAX_SIDE,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> None:
        if max_side <= 0 or max_side % 32:
            raise ValueError(f"max_side must be a positive multiple of 32, got {max_side}")
        self.device = torch.device(device) if device is not None else default_device()
        self.model = load_network(weights, TinyFaceDetectorNet.from_tfjs, self.device)
        self.max_side = int(max_side)
        self.min_score = float(min_score)
        self._mean = torch.tensor(MEAN_RGB, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """RGB uint8 ``(H, W, 3)`` → ``(1, 3, max_side, max_side)`` normalised, on the device."""
        batch = detector_batch(image, self.max_side, self.device)
        return (batch - self._mean) / 255

    @torch.inference_mode()
    def raw(self, image: np.ndarray) -> torch.Tensor:
        """Network output ``(1, 25, S, S)`` for one image (S = max_side / 32)."""
        return self.model(self.preprocess(image))

    @torch.inference_mode()
    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        """Detect faces in an RGB uint8 ``(H, W, 3)`` image."""
        if (
            not isinstance(image, np.ndarray)
            or image.ndim != 3
            or image.shape[2] != 3
            or image.dtype != np.uint8
        ):
            raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError("empty image")
        threshold = self.min_score if min_score is None else float(min_score)
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        x = self.preprocess(image)
        t1 = time.perf_counter()
        out = self.model(x)[0].cpu().numpy()
        t2 = time.perf_counter()
        boxes, scores = decode(out, ReshapedDims.of(w, h, self.max_side), threshold)
        keep = nms(boxes * self.max_side, scores, IOU_THRESHOLD)
        boxes, scores = boxes[keep], scores[keep]
        scale = np.array([w, h, w, h], dtype=np.float64)
        t3 = time.perf_counter()
        return build_result(
            boxes * scale,
            scores,
            model=self.name,
            image_size=(w, h),
            branches=None,
            branch_kind=self.branch_kind,
            timings_ms={
                "preprocess": (t1 - t0) * 1e3,
                "forward": (t2 - t1) * 1e3,
                "postprocess": (t3 - t2) * 1e3,
            },
        )


def decode(out: np.ndarray, dims: ReshapedDims, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """face-api's ``extractBoxes`` for the 1-class tiny detector.

    out: ``(25, S, S)`` float32 raw output. Returns boxes ``(K, 4)`` x1 y1 x2 y2
    relative to the image (not clamped) and scores ``(K,)``, float64, in
    row, col, anchor order.
    """
    cells = out.shape[-1]
    side = max(dims.width, dims.height)
    cx_f, cy_f = side / dims.width, side / dims.height
    v = (
        out.astype(np.float64).reshape(NUM_ANCHORS, 5, cells, cells).transpose(2, 3, 0, 1)
    )  # row, col, anchor, k
    scores = _sigmoid(v[..., 4])
    row, col, anchor = np.nonzero(scores > min_score)
    t = v[row, col, anchor]
    anchors = np.asarray(ANCHORS, dtype=np.float64)[anchor]
    ctr_x = (col + _sigmoid(t[:, 0])) / cells * cx_f
    ctr_y = (row + _sigmoid(t[:, 1])) / cells * cy_f
    width = np.exp(t[:, 2]) * anchors[:, 0] / cells * cx_f
    height = np.exp(t[:, 3]) * anchors[:, 1] / cells * cy_f
    x, y = ctr_x - width / 2, ctr_y - height / 2
    boxes = np.stack([x, y, x + width, y + height], axis=1).reshape(-1, 4)
    return boxes, scores[row, col, anchor].reshape(-1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
