"""YuNet (Shiqi Yu et al., libfacedetection.train, Apache-2.0): yunet_n / yunet_s dynamic ONNX.

Published design (``configs/yunet_n.py``, ``tools/compare_inference.py`` of
ShiqiYu/libfacedetection.train; OpenCV's ``FaceDetectorYN`` decodes the same way):

* input: **BGR**, float 0..255, no mean/std (``img_norm_cfg`` mean 0, std 1,
  ``to_rgb=False``); the image at its own size, zero-padded bottom/right to
  multiples of 32 (their "original scale" WIDER mode, OpenCV's ``padW/padH``);
* anchor-free heads at strides 8, 16, 32; outputs per stride ``cls_s``,
  ``obj_s`` (both already sigmoid-ed in the ONNX), ``bbox_s`` ``(dx, dy, log w,
  log h)`` and ``kps_s`` (5 × (dx, dy)); cells in row-major order over
  ``(pad_h / s) × (pad_w / s)``; point generator offset 0, so cell ``(r, c)``
  sits at ``(c·s, r·s)`` (not the cell centre):
  ``cx = (c + dx)·s``, ``w = exp(log w)·s``, landmark ``= (c + kx)·s``;
* score ``cls · obj`` (libfacedetection.train; OpenCV reports its square
  root — monotone, same ranking);
* NMS IoU 0.45, score threshold 0.02 in their WIDER config.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.peers.base import Candidates, OnnxPeer, check_rgb, ort_session

STRIDES = (8, 16, 32)
MULTIPLE = 32
FOLDER = "yunet_libfacedetection_train"
MODELS: dict[str, str] = {
    "yunet-n": "onnx/yunet_n_dynamic.onnx",
    "yunet-s": "onnx/yunet_s_dynamic.onnx",
}


def padded_size(width: int, height: int) -> tuple[int, int]:
    """Input size: each side rounded up to a multiple of 32."""
    return -(-width // MULTIPLE) * MULTIPLE, -(-height // MULTIPLE) * MULTIPLE


def decode_level(
    cls: np.ndarray,
    obj: np.ndarray,
    bbox: np.ndarray,
    kps: np.ndarray,
    stride: int,
    pad_w: int,
    threshold: float,
) -> Candidates:
    """One stride's outputs (``(N,)``, ``(N,)``, ``(N, 4)``, ``(N, 10)``) -> candidates in input pixels."""
    scores = np.clip(cls, 0.0, 1.0) * np.clip(obj, 0.0, 1.0)
    index = np.flatnonzero(scores > threshold)
    cols = pad_w // stride
    row, col = np.divmod(index, cols)
    cell = np.stack([col, row], axis=1).astype(np.float64)  # (K, 2) x, y in cells
    reg = bbox[index].astype(np.float64)
    centre = (cell + reg[:, :2]) * stride
    size = np.exp(reg[:, 2:]) * stride
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    points = (kps[index].astype(np.float64).reshape(-1, 5, 2) + cell[:, None, :]) * stride
    return Candidates(boxes, scores[index].astype(np.float64), points)


class YuNet(OnnxPeer):
    nms_iou = 0.45
    default_min_score = 0.5

    def __init__(
        self, name: str, peers_dir: Path, threads: int | None = None, min_score: float | None = None
    ):
        model = (peers_dir / FOLDER / MODELS[name]).read_bytes()
        super().__init__(ort_session(model, threads), min_score)
        self.name = name

    def preprocess(self, image: np.ndarray):
        check_rgb(image)
        height, width = image.shape[:2]
        pad_w, pad_h = padded_size(width, height)
        blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        blob[0, :, :height, :width] = image[..., ::-1].transpose(2, 0, 1)  # RGB -> BGR planes
        return blob, (pad_w, pad_h)

    def decode(self, outputs, context, threshold: float) -> Candidates:
        pad_w, pad_h = context
        levels = []
        for s in STRIDES:
            n = (pad_w // s) * (pad_h // s)
            cls, obj = outputs[f"cls_{s}"][0, :, 0], outputs[f"obj_{s}"][0, :, 0]
            if len(cls) != n:
                raise ValueError(f"YuNet stride {s}: {len(cls)} cells, expected {n} for {pad_w}x{pad_h}")
            levels.append(
                decode_level(cls, obj, outputs[f"bbox_{s}"][0], outputs[f"kps_{s}"][0], s, pad_w, threshold)
            )
        return Candidates(
            np.concatenate([c.boxes for c in levels]),
            np.concatenate([c.scores for c in levels]),
            np.concatenate([c.landmarks for c in levels]),
        )
