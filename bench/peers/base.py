"""What every peer detector shares: an onnxruntime session and the ``Detector`` protocol.

Bench-only code: onnxruntime is imported here and nowhere in ``core/`` or
``app/`` (the app never needs it). A peer is ``preprocess`` (image -> network
input + whatever the decoder needs), one ``session.run``, ``decode`` (outputs
-> candidate boxes, scores, landmarks in *original-image* pixels) and the
project's one NMS (:func:`core.detect.postprocess.nms`, torchvision) at the
peer's published IoU threshold. Results come back as
:class:`core.types.DetectionResult` (single head: ``branches`` are scale ranges
by box height), so ``core.detect.on_split.detect_split`` and the CLI-style
tables treat peers like our own detectors.

NMS differences kept on purpose: UltraFace's ``hard_nms``, RetinaFace's
``py_cpu_nms`` (``+1`` pixel areas) and OpenCV's ``NMSBoxes`` (YuNet) are all
greedy NMS by descending score; torchvision's differs only in the box-area
convention (no ``+1``), which changes the IoU of boxes a few pixels wide.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.detect.postprocess import build_result, nms
from core.types import DetectionResult


def ort_session(model: bytes, threads: int | None = None):
    """An onnxruntime CPU session over a serialised model (``threads`` intra-op threads)."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@dataclass
class Candidates:
    """Decoded candidates of one image, before NMS, in original-image pixels.

    boxes: ``(N, 4)`` x1 y1 x2 y2; scores: ``(N,)``; landmarks: ``(N, 5, 2)`` (x, y) or ``None``.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None

    def take(self, index: np.ndarray) -> Candidates:
        lms = None if self.landmarks is None else self.landmarks[index]
        return Candidates(self.boxes[index], self.scores[index], lms)


class OnnxPeer:
    """Base class: subclasses set ``name``, ``nms_iou``, ``default_min_score`` and implement
    :meth:`preprocess` and :meth:`decode`."""

    name = "peer"
    branch_kind = "scale_range"
    nms_iou = 0.4
    default_min_score = 0.5
    # Highest-scoring candidates NMS looks at / detections kept after it (None = all).
    pre_nms_top_k: int | None = None
    post_nms_top_k: int | None = None

    def __init__(self, session, min_score: float | None = None):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        self.min_score = self.default_min_score if min_score is None else float(min_score)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        """RGB uint8 ``(H, W, 3)`` -> (float32 ``(1, 3, h, w)`` input, context for :meth:`decode`)."""
        raise NotImplementedError

    def decode(self, outputs: dict[str, np.ndarray], context: Any, threshold: float) -> Candidates:
        """Network outputs (by name) -> candidates with score > ``threshold``, original pixels."""
        raise NotImplementedError

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        threshold = self.min_score if min_score is None else float(min_score)
        t0 = time.perf_counter()
        blob, context = self.preprocess(image)
        t1 = time.perf_counter()
        outputs = dict(zip(self.output_names, self.session.run(None, {self.input_name: blob}), strict=True))
        t2 = time.perf_counter()
        cand = self.decode(outputs, context, threshold)
        if self.pre_nms_top_k is not None and len(cand.scores) > self.pre_nms_top_k:
            cand = cand.take(np.argsort(-cand.scores, kind="stable")[: self.pre_nms_top_k])
        keep = nms(cand.boxes, cand.scores, self.nms_iou)
        if self.post_nms_top_k is not None:
            keep = keep[: self.post_nms_top_k]
        cand = cand.take(keep)
        t3 = time.perf_counter()
        height, width = image.shape[:2]
        return build_result(
            cand.boxes,
            cand.scores,
            model=self.name,
            image_size=(width, height),
            landmarks=cand.landmarks,
            branch_kind=self.branch_kind,
            timings_ms={
                "preprocess": (t1 - t0) * 1e3,
                "forward": (t2 - t1) * 1e3,
                "postprocess": (t3 - t2) * 1e3,
            },
        )


def check_rgb(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
