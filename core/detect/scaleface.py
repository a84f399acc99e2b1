"""ScaleFace as a :class:`~core.detect.protocol.Detector` (``branch_kind = "branch"``).

Without a checkpoint it runs the bundled model (``resources/models/scaleface.pt``,
through the network cache like every bundled model): the three branches trained
by ``configs/scaleface_cpu.toml`` on CenterFace's frozen trunk, which the file
does not repeat — the builder copies it from the bundled CenterFace, whose
sha256 the file records. With a checkpoint (``RUN_DIR/last.pt`` from ``python
main.py train scaleface``, read with ``weights_only=True``) the architecture
comes from the checkpoint's own config, so any variant loads without options.

Pre-processing: the RGB uint8 image is scaled so that its longer side is at
most ``max_side`` (never enlarged; 0 = native size, as the paper's
single-scale inference), zero-padded at the bottom/right to a multiple of 32,
and passed in [0, 1]. Detections come back in original-image pixels, split by
the branch that produced them (small / medium / large); note that a branch's
range refers to face sizes *in the network input*, so with downscaling a
face is handled by the branch of its scaled size. :meth:`detect_with_maps`
also returns each branch's response map (RPN objectness, one cell per stride).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from core.detect.centerface import load_model as load_centerface
from core.detect.postprocess import build_result
from core.detect.registry import SCALEFACE_MAX_SIDE, SCALEFACE_MIN_SCORE
from core.models.scaleface.backbone import fold_batchnorm, init_from_centerface, init_neck_from_centerface
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.model import ScaleFace
from core.train.checkpoint import CheckpointError, load_checkpoint, mismatch_line
from core.train.config import ConfigError, from_dict
from core.types import DetectionResult
from core.zoo.cache import load_network
from core.zoo.fusion import fuse_for_cpu
from core.zoo.weights import read_sidecar, resolve

log = logging.getLogger(__name__)

NAME = "scaleface"
BUNDLED = "scaleface"  # resources/models/scaleface.pt
# what a bundled model's meta says when its trunk is the bundled CenterFace's (not stored)
CENTERFACE_TRUNK = "centerface-mobilenetv2-frozen"


@dataclass
class ResponseMap:
    """A branch's objectness map: ``values (Hb, Wb)`` float32 in [0, 1]; value (i, j) is the
    objectness of the anchors centred at original-image pixel ``(j * cell_size, i * cell_size)``
    (torchvision's anchor grid starts at 0, so a cell is centred there, not at ``(j + 0.5) * cell_size``)."""

    values: np.ndarray
    cell_size: float


def prepare_image(
    image: np.ndarray, max_side: int, device: torch.device
) -> tuple[torch.Tensor, tuple[int, int], float]:
    """RGB uint8 ``(H, W, 3)`` → padded ``(1, 3, H', W')`` float tensor, the unpadded ``(h, w)`` and the scale."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w)) if max_side > 0 else 1.0
    if scale < 1.0:
        image = cv2.resize(
            image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    sh, sw = image.shape[:2]
    m = ScaleFace.SIZE_MULTIPLE
    ph, pw = math.ceil(sh / m) * m, math.ceil(sw / m) * m
    # channels-last: the layout the trunk's convolutions run fastest in on a CPU (oneDNN)
    tensor = torch.zeros((1, 3, ph, pw), dtype=torch.float32).contiguous(memory_format=torch.channels_last)
    # np.require copies only a read-only or strided view (torch warns on read-only arrays)
    pixels = torch.from_numpy(np.require(image, requirements=["C", "W"]))
    tensor[0, :, :sh, :sw] = pixels.permute(2, 0, 1).float() / 255.0
    return tensor.to(device), (sh, sw), scale


def build_scaleface(cfg: ScaleFaceConfig) -> ScaleFace:
    """A ScaleFace network for ``cfg``, its trunk copied from the bundled CenterFace when asked.

    The one way to build the model (training, checkpoints, tests): the model file
    holds the network only, so loading CenterFace's weights happens here.
    """
    model = ScaleFace(cfg)
    if cfg.init_from_centerface:
        teacher = load_centerface(device=torch.device("cpu"))
        init_from_centerface(model.backbone, teacher.backbone)
        if model.neck is not None:
            init_neck_from_centerface(model.neck, teacher.neck)
    return model


def build_bundled(tensors: dict[str, torch.Tensor], meta: dict) -> ScaleFace:
    """The bundled model from its weights container: config in ``meta``, branch tensors;
    a trunk recorded as :data:`CENTERFACE_TRUNK` is copied from the bundled CenterFace."""
    try:
        cfg_dict = json.loads(meta["config"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("no ScaleFace configuration in the file's meta") from None
    from_trunk = meta.get("trunk") == CENTERFACE_TRUNK
    if from_trunk:
        expected = meta.get("trunk_sha256")
        actual = read_sidecar(resolve("centerface")).get("sha256")
        if expected and actual and expected != actual:
            raise ValueError(
                f"its trunk is CenterFace {expected[:12]}…, but the bundled one is {actual[:12]}…"
            )
    cfg_dict.update(backbone_weights=None, init_from_centerface=from_trunk)
    try:
        model = build_scaleface(from_dict(ScaleFaceConfig, cfg_dict, prefix="meta.config"))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    trunk = ("backbone.", "neck.") if from_trunk else ()
    missing = [k for k in missing if not k.startswith(trunk)] if trunk else missing
    if missing or unexpected:
        raise ValueError(f"tensors do not fit: missing {missing[:3]}, unexpected {unexpected[:3]}")
    if model.cfg.freeze_trunk:  # inference only from here on: the trunk's BatchNorms fold away
        fold_batchnorm(model.eval().backbone)
        fused = fuse_for_cpu(_TrunkFeatures(model))
        if not isinstance(fused, _TrunkFeatures):  # the eager fallback is model.features itself
            model.use_fused_trunk(fused)
    return model


class _TrunkFeatures(torch.nn.Module):
    """``model.features`` as a one-tensor module, the shape :func:`fuse_for_cpu` traces."""

    def __init__(self, model: ScaleFace) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.model.features(images))


def load_scaleface_checkpoint(path: str | os.PathLike, device: torch.device | None = None) -> ScaleFace:
    """Build the checkpoint's architecture and load its weights (eval mode)."""
    ckpt = load_checkpoint(path, task=NAME)
    try:
        model_cfg = dict(ckpt["config"]["task"]["model"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: has no ScaleFace model configuration (config.task.model)") from None
    model_cfg["backbone_weights"] = None  # the checkpoint already holds the trained weights
    model_cfg["init_from_centerface"] = False
    try:
        model = build_scaleface(from_dict(ScaleFaceConfig, model_cfg, prefix="config.task.model"))
    except ConfigError as exc:  # out-of-range sizes are refused before anything is allocated
        raise CheckpointError(f"{path}: {exc}") from None
    weights = ckpt.get("model")
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: has no model weights")
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit its own architecture ({mismatch_line(exc)})"
        ) from None
    return model.eval().to(device or torch.device("cpu"))


class ScaleFaceDetector:
    """Detector over a ScaleFace model: the bundled one, a checkpoint file's or an in-memory model."""

    name = NAME
    branch_kind = "branch"

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        *,
        model: ScaleFace | None = None,
        device: torch.device | str | None = None,
        min_score: float = SCALEFACE_MIN_SCORE,
        max_side: int = SCALEFACE_MAX_SIDE,
    ) -> None:
        if checkpoint is not None and model is not None:
            raise ValueError("give a checkpoint file or a model, not both")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        if model is not None:
            self.model = model
        elif checkpoint is not None:
            self.model = load_scaleface_checkpoint(checkpoint, self.device)
        else:
            self.model = load_network(BUNDLED, build_bundled, self.device, with_meta=True)
        self.min_score = min_score
        self.max_side = max_side

    @torch.no_grad()
    def detect_with_maps(
        self, image: np.ndarray, min_score: float | None = None
    ) -> tuple[DetectionResult, dict[str, ResponseMap]]:
        """Detections in original pixels plus each branch's response map."""
        threshold = self.min_score if min_score is None else min_score
        timings = {}
        t0 = time.perf_counter()
        tensor, size, scale = prepare_image(image, self.max_side, self.device)
        t1 = time.perf_counter()
        was_training = self.model.training
        self.model.eval()
        try:
            out = self.model(tensor, [size], min_score=threshold)[0]
        finally:
            self.model.train(was_training)
        t2 = time.perf_counter()
        names = out.branch_names
        boxes = out.boxes.numpy().astype(np.float64) / scale
        branches = [names[int(i)] for i in out.branch_index]
        result = build_result(
            boxes,
            out.scores.numpy(),
            model=NAME,
            image_size=(image.shape[1], image.shape[0]),
            branches=branches,
            branch_kind="branch",
            branch_names=names,
        )
        timings.update(
            preprocess=(t1 - t0) * 1000,
            forward=(t2 - t1) * 1000,
            postprocess=(time.perf_counter() - t2) * 1000,
        )
        result.timings_ms = timings
        strides = {s.name: s.stride for s in self.model.specs}
        maps = {n: ResponseMap(m.numpy(), strides[n] / scale) for n, m in out.response_maps.items()}
        return result, maps

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        return self.detect_with_maps(image, min_score)[0]
