"""UltraFace (Linzaer, "Ultra-Light-Fast-Generic-Face-Detector-1MB", MIT): RFB-320 / RFB-640 ONNX.

Published design (``vision/ssd/config/fd_config.py``, ``vision/utils/box_utils.py``,
``detect_imgs_onnx.py`` of Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB):

* input: RGB, the whole image *stretched* (no letterbox) to the model's fixed
  size (320×240 or 640×480), ``(x - 127) / 128``, NCHW;
* SSD priors on four levels, strides (8, 16, 32, 64), min boxes
  ``[[10,16,24],[32,48],[64,96],[128,192,256]]`` pixels (of the *network
  input*); the feature map is ``ceil(size / stride)`` and the prior centres are
  ``(i + 0.5) / feature_size`` in normalised coordinates, so on a level whose
  size does not divide the input (240/32 = 7.5 -> 8 rows) the centres are
  spaced 30 px, not 32 — a quirk of the design, kept. Priors are clamped to
  [0, 1]; order: level, row, column, min box;
* SSD box coder with variances 0.1 (centre) and 0.2 (size), score = softmax[1];
* NMS at IoU 0.3 (``fd_config.iou_threshold``); their WIDER script keeps the
  800 best candidates and 400 detections (``candidate_size=800``, ``top_k=400``).

The released ONNX files already contain the prior decoding (output ``boxes``).
We cut the graph before it (the raw regression tensor that feeds the decoding
``Slice`` nodes) and decode with our own priors; the shared-data test checks
that both give the same boxes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from bench.peers.base import Candidates, OnnxPeer, check_rgb, ort_session

MIN_BOXES: tuple[tuple[int, ...], ...] = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
STRIDES = (8, 16, 32, 64)
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
MEAN, STD = 127.0, 128.0

# row name -> (ONNX file under the peer folder, fixed network input (width, height))
MODELS: dict[str, tuple[str, tuple[int, int]]] = {
    "ultraface-rfb320": ("models/onnx/version-RFB-320.onnx", (320, 240)),
    "ultraface-rfb640": ("models/onnx/version-RFB-640.onnx", (640, 480)),
}
FOLDER = "ultraface_Linzaer"


def priors(width: int, height: int) -> np.ndarray:
    """``(N, 4)`` float32 priors ``cx cy w h``, normalised to the input, clamped to [0, 1]."""
    out = []
    for stride, sizes in zip(STRIDES, MIN_BOXES, strict=True):
        fw, fh = math.ceil(width / stride), math.ceil(height / stride)
        cy, cx = np.meshgrid((np.arange(fh) + 0.5) / fh, (np.arange(fw) + 0.5) / fw, indexing="ij")
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)  # row-major: row, then column
        wh = np.array([[s / width, s / height] for s in sizes])
        level = np.concatenate(
            [np.repeat(centres, len(sizes), axis=0), np.tile(wh, (len(centres), 1))], axis=1
        )
        out.append(level)
    return np.clip(np.concatenate(out), 0.0, 1.0).astype(np.float32)


def decode_boxes(locations: np.ndarray, prior_boxes: np.ndarray) -> np.ndarray:
    """SSD coder: ``(N, 4)`` regressions + priors ``cx cy w h`` -> ``(N, 4)`` x1 y1 x2 y2, normalised."""
    centre = locations[:, :2] * CENTER_VARIANCE * prior_boxes[:, 2:] + prior_boxes[:, :2]
    size = np.exp(locations[:, 2:] * SIZE_VARIANCE) * prior_boxes[:, 2:]
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1)


def raw_locations_name(model) -> str:
    """Name of the raw regression tensor: the level ``Concat`` (axis 1) that feeds the decoding ``Slice``s."""
    consumers: dict[str, list] = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            consumers[name].append(node)
    found = []
    for node in model.graph.node:
        axis = next((a.i for a in node.attribute if a.name == "axis"), None)
        if node.op_type == "Concat" and axis == 1:
            if any(c.op_type == "Slice" for c in consumers[node.output[0]]):
                found.append(node.output[0])
    if len(found) != 1:
        raise ValueError(f"expected one raw-regression Concat in the UltraFace graph, found {found}")
    return found[0]


def extract(model, outputs: list[str]) -> bytes:
    """The sub-graph from the ``input`` to ``outputs``, serialised."""
    from onnx.shape_inference import infer_shapes
    from onnx.utils import Extractor

    # the Extractor needs value_info (shapes) for the new outputs
    sub = Extractor(infer_shapes(model)).extract_model([model.graph.input[0].name], outputs)
    return sub.SerializeToString()


def raw_model(path: Path) -> tuple[bytes, str]:
    """UltraFace ONNX cut before its prior decoding: outputs ``scores`` and the raw regressions."""
    import onnx

    model = onnx.load(str(path))
    loc = raw_locations_name(model)
    return extract(model, ["scores", loc]), loc


class UltraFace(OnnxPeer):
    nms_iou = 0.3
    default_min_score = 0.7  # detect_imgs_onnx.py's threshold
    pre_nms_top_k = 800
    post_nms_top_k = 400

    def __init__(
        self, name: str, peers_dir: Path, threads: int | None = None, min_score: float | None = None
    ):
        rel, self.input_size = MODELS[name]
        model, self.loc_name = raw_model(peers_dir / FOLDER / rel)
        super().__init__(ort_session(model, threads), min_score)
        self.name = name
        self.priors = priors(*self.input_size)

    def preprocess(self, image: np.ndarray):
        check_rgb(image)
        resized = cv2.resize(image, self.input_size, interpolation=cv2.INTER_LINEAR)
        blob = ((resized.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]
        return np.ascontiguousarray(blob), (image.shape[1], image.shape[0])

    def decode(self, outputs, context, threshold: float) -> Candidates:
        width, height = context
        scores = outputs["scores"][0, :, 1]
        keep = np.flatnonzero(scores > threshold)
        boxes = decode_boxes(outputs[self.loc_name][0, keep].astype(np.float64), self.priors[keep])
        boxes *= np.array([width, height, width, height], dtype=np.float64)
        return Candidates(boxes, scores[keep].astype(np.float64))
