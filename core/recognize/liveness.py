"""Face "realness" scores with human's ``antispoof`` and ``liveness`` nets.

``LivenessChecker().score(image, box)`` reproduces @vladmandic/human 3.3.6's
per-face path exactly (``src/face/blazeface.ts``, ``facemeshutil.ts``,
``antispoof.ts``, ``liveness.ts``, default config):

1. the detector box ``(x1, y1, x2, y2)`` (image pixels, origin top-left) is
   grown 1.4x about its centre (``enlargeBox``, ``face.detector.scale``) and
   made square on its longer side with JS ``Math.round`` on the corners
   (``squarifyBox``): :func:`human_face_box`;
2. ``tf.image.cropAndResize`` of that square (normalised by the image width
   and height, bilinear, zeros outside the image) to 192x192 — facemesh's
   input size, the face tensor every human face model receives — then
   ``/ 255``: :func:`crop_faces`;
3. legacy bilinear ``resizeBilinear`` to 128 (antispoof) and 32 (liveness)
   and the two nets (:mod:`core.models.antispoof`).

Human rounds each score to 2 decimals; we do not. Human's face-ID demo
accepts a face when both scores are >= 0.6 (``minConfidence``); so does
:attr:`LivenessResult.passed`, with ``real_probability = min(antispoof,
liveness)``.

What the scores mean (ADR 0014): per human's faceid README, ``antispoof``
"checks if input is realistic (e.g. computer generated faces)" and
``liveness`` "has obvious artifacts due to recording (e.g. playing back phone
recording of a face)". Measured on our photos, the 0.6 rule rejects ~43 % of
real faces, accepts a blank grey frame, and does not separate simulated
prints or screens from the originals. ``passed`` is an experimental hint,
never presentation-attack detection: a printed photo or a screen is not
detected.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.device import default_device
from core.models.antispoof import AntiSpoofNet, LivenessNet
from core.models.tf_ops import js_round, resize_bilinear_legacy
from core.recognize.runner import _full_fp32
from core.zoo.cache import load_network

log = logging.getLogger(__name__)

#: human's ``face.detector.scale``: the detector box is grown by this factor before cropping.
BOX_SCALE = 1.4
#: side of human's face tensor (facemesh's input size), from which both nets resize.
CROP_SIZE = 192
#: human's face-ID demo threshold (``minConfidence``) on both scores.
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class LivenessResult:
    """One face's scores, all in ``[0, 1]`` (NaN for a box with no area).

    antispoof: the antispoof net's sigmoid (human's ``face.real``).
    liveness: column 0 of the liveness net's softmax (human's ``face.live``).
    real_probability: ``min(antispoof, liveness)``, the score the decision uses.
    passed: ``real_probability >= threshold`` (both nets agree the face looks real).
    """

    real_probability: float
    antispoof: float
    liveness: float
    passed: bool
    threshold: float

    def to_json(self) -> dict:
        return {
            "real_probability": round(self.real_probability, 4),
            "antispoof": round(self.antispoof, 4),
            "liveness": round(self.liveness, 4),
            "passed": self.passed,
            "threshold": self.threshold,
        }


def human_face_box(box: Sequence[float], scale: float = BOX_SCALE) -> tuple[int, int, int, int]:
    """human's ``squarifyBox(enlargeBox(box, scale))``: ``(x1, y1, x2, y2)`` -> an integer square.

    The square keeps the grown box's centre, takes its longer side and rounds
    each corner with JS ``Math.round`` (half up). It may extend past the image.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy = x1 + (x2 - x1) / 2, y1 + (y2 - y1) / 2
    # enlargeBox keeps the centre and scales |size|; squarifyBox recomputes the same centre
    half = max(scale * abs(x2 - x1) / 2, scale * abs(y2 - y1) / 2)
    return js_round(cx - half), js_round(cy - half), js_round(cx + half), js_round(cy + half)


def _axis(start: float, end: float, in_size: int, out_size: int) -> tuple[np.ndarray, ...]:
    """Source indices (low, high), fractions and validity of one cropAndResize axis (float64).

    ``start``/``end`` are the box edges already normalised to ``[0, 1]`` and
    rounded to float32, as the tfjs box tensor holds them.
    """
    scale = (end - start) * (in_size - 1) / (out_size - 1)
    pos = start * (in_size - 1) + np.arange(out_size, dtype=np.float64) * scale
    valid = (pos >= 0) & (pos <= in_size - 1)
    pos = np.clip(pos, 0, in_size - 1)
    low = np.floor(pos)
    return low.astype(np.intp), np.ceil(pos).astype(np.intp), pos - low, valid


def crop_faces(image: np.ndarray, boxes: np.ndarray | Sequence, size: int = CROP_SIZE) -> torch.Tensor:
    """human's face tensors: ``(N, 3, size, size)`` float32 in ``[0, 1]`` for ``(N, 4)`` boxes.

    image: RGB uint8 ``(H, W, 3)``. boxes: detector boxes ``(x1, y1, x2, y2)``
    in image pixels; each is squared by :func:`human_face_box` first. Follows
    the tfjs CPU ``CropAndResize`` kernel: coordinates ``y1 / H`` etc. as
    float32, sample positions ``y1n * (H - 1) + i * (y2n - y1n) * (H - 1) / (size - 1)``
    in float64, bilinear, 0 outside ``[0, H - 1]``; the result rounded to
    float32, then divided by 255 in float32.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB (H, W, 3) image, got shape {image.shape}")
    h, w = image.shape[:2]
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = torch.empty((len(boxes), size, size, 3), dtype=torch.float32)
    for n, box in enumerate(boxes):
        x1, y1, x2, y2 = human_face_box(box)
        ny1, nx1, ny2, nx2 = np.array([y1 / h, x1 / w, y2 / h, x2 / w], dtype=np.float32).tolist()
        top, bottom, fy, vy = _axis(ny1, ny2, h, size)
        left, right, fx, vx = _axis(nx1, nx2, w, size)
        # gather rows, then columns, in uint8 (np.take: ~3x faster than 2-D fancy indexing),
        # and widen only the four (size, size, 3) neighbour grids to float64
        rows_t, rows_b = np.take(image, top, axis=0), np.take(image, bottom, axis=0)
        tl, tr, bl, br = (
            torch.from_numpy(np.take(rows, cols, axis=1)).to(torch.float64)
            for rows in (rows_t, rows_b)
            for cols in (left, right)
        )
        fx_t = torch.from_numpy(fx).view(1, -1, 1)
        upper = tl + (tr - tl) * fx_t
        lower = bl + (br - bl) * fx_t
        crop = upper + (lower - upper) * torch.from_numpy(fy).view(-1, 1, 1)
        crop[torch.from_numpy(~(vy[:, None] & vx[None, :]))] = 0.0  # extrapolation value 0 outside the image
        out[n] = crop.to(torch.float32)  # one rounding to float32, as the kernel's Float32Array store
    # tf.div(crop, 255) in float32
    return out.permute(0, 3, 1, 2) / 255.0


def _resize(faces: torch.Tensor, size: int) -> torch.Tensor:
    """tfjs CPU ``resizeBilinear`` (legacy, float64 arithmetic, one rounding to float32)."""
    # contiguous NCHW: the row/column index_selects are ~5x slower on a channels-last view
    return resize_bilinear_legacy(faces.to(torch.float64).contiguous(), (size, size)).to(torch.float32)


def _box_is_empty(box: np.ndarray) -> bool:
    return not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]


class LivenessChecker:
    """Both nets behind one call; weights load once.

    threshold: the pass mark on ``min(antispoof, liveness)`` (human's demo: 0.6).
    device: ``None`` -> :func:`core.device.default_device`. On a CPU one face
        costs ~7 ms (idle, 2 threads) to ~16 ms (loaded machine), whatever its
        size (ADR 0014); not yet measured on a GPU.
    antispoof_weights/liveness_weights: override the bundled files (a name or ``.pt`` path).
    Raises ``core.zoo.weights.WeightsError`` (naming the file and
    ``tools/convert_human_liveness.py``) when a weight file is missing or corrupt.
    """

    max_batch = 32

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        device: torch.device | str | None = None,
        antispoof_weights: str | os.PathLike = "antispoof",
        liveness_weights: str | os.PathLike = "liveness",
    ):
        self.threshold = float(threshold)
        self.device = torch.device(device) if device is not None else default_device()
        # channels_last (the cache's layout): oneDNN runs the 64-channel convs of antispoof ~5x faster
        # in NHWC on a CPU
        self.antispoof = load_network(antispoof_weights, AntiSpoofNet.from_weights, self.device)
        self.liveness = load_network(liveness_weights, LivenessNet.from_weights, self.device)

    def score(self, image: np.ndarray, box: Sequence[float]) -> LivenessResult:
        """Scores of one face. image: RGB uint8 ``(H, W, 3)``; box: ``(x1, y1, x2, y2)`` pixels."""
        return self.score_batch(image, [box])[0]

    def score_batch(self, image: np.ndarray, boxes: np.ndarray | Sequence) -> list[LivenessResult]:
        """Scores of ``(N, 4)`` boxes of one image, run as one batch (empty boxes give NaN)."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        valid = [not _box_is_empty(b) for b in boxes]
        if not all(valid):
            log.warning("LivenessChecker: %d box(es) without area; results are NaN", valid.count(False))
        results = iter(self.score_crops(crop_faces(image, boxes[valid])) if any(valid) else [])
        nan = LivenessResult(math.nan, math.nan, math.nan, False, self.threshold)
        return [next(results) if ok else nan for ok in valid]

    def score_crops(self, faces: torch.Tensor) -> list[LivenessResult]:
        """Scores of human face tensors ``(N, 3, S, S)`` in ``[0, 1]`` (:func:`crop_faces`)."""
        real, live = self.forward(faces)
        return [
            LivenessResult(min(a, b), a, b, min(a, b) >= self.threshold, self.threshold)
            for a, b in zip(real.tolist(), live[:, 0].tolist(), strict=True)
        ]

    def forward(self, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs for face tensors ``(N, 3, S, S)``: antispoof ``(N,)``, liveness softmax ``(N, 2)``."""
        reals, lives = [], []
        # full float32 on CUDA too (no TF32), as the other face models (core.recognize.runner)
        with torch.inference_mode(), _full_fp32(self.device):
            for start in range(0, faces.shape[0], self.max_batch):
                part = faces[start : start + self.max_batch]
                cl = torch.channels_last
                a_in = _resize(part, AntiSpoofNet.INPUT_SIZE).to(self.device).contiguous(memory_format=cl)
                l_in = _resize(part, LivenessNet.INPUT_SIZE).to(self.device).contiguous(memory_format=cl)
                reals.append(self.antispoof(a_in).cpu())
                lives.append(self.liveness(l_in).cpu())
        if not reals:
            return torch.zeros(0), torch.zeros(0, 2)
        return torch.cat(reals), torch.cat(lives)
