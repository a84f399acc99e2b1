"""The ScaleFace training task: model, WIDER/synthetic data, losses and a quick eval hook.

TOML layout (``python main.py train scaleface --config FILE``)::

    [train]
    eval_every = 1000       # evaluate every N steps (0: off; with eval_split: at checkpoints)

    [task]
    eval_images = 200       # quick eval (no eval_split): held-out images
    eval_split = "/data/wider_val_416_dev"   # official WIDER AP on this split instead
    eval_max_images = 500   # evenly spaced subset of the split (0 = all)

    [task.model]            # core.models.scaleface.model.ScaleFaceConfig
    backbone = "resnet50"
    backbone_weights = "/path/resnet50-0676ba61.pth"

    [task.data]             # ScaleFaceDataConfig
    source = "wider"        # or "synthetic" (no --data needed)
    split = "auto"          # train if present, else val; or "train", "val", a label .txt file
    crop_size = 640

The loss is the plain sum of the twelve branch losses
(``<branch>/{rpn_cls, rpn_box, roi_cls, roi_box}``); every one is logged.

Evaluation (the engine's ``evaluate`` hook, rank 0, every ``train.eval_every``
steps): with ``eval_split`` the official WIDER protocol on that split
(:mod:`core.detect.training.eval_hook`: ``ap_easy``/``ap_medium``/``ap_hard`` and
``ap_branch_<branch>``), otherwise the quick metrics of
:mod:`core.detect.training.quick_eval` on ``eval_images`` held-out images.
``should_stop`` (a callable the CLI and the GUI set) interrupts a running
evaluation, which then reports ``{"cancelled": true}`` and no AP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.detect.registry import EVAL_MIN_SCORE
from core.detect.scaleface import ScaleFaceDetector, build_scaleface
from core.detect.training.composite_set import composite_training_set
from core.detect.training.data import (
    AugmentConfig,
    DetectionAugment,
    DetectionTrainSet,
    WiderSource,
    collate_detection,
)
from core.detect.training.eval_hook import EvalSplit, evaluate_on_split, open_eval_split
from core.detect.training.feature_pool import collate_pooled
from core.detect.training.quick_eval import ImageEval, quick_eval
from core.detect.training.synthetic import SyntheticFaces
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.model import ScaleFace
from core.ranges import check_ranges
from core.train.config import ConfigError
from core.wider.dev_split import PARTS
from core.wider.locate import AUTO

log = logging.getLogger(__name__)


# Sizes a TOML file or checkpoint may ask for (crop 0 = whole image); beyond them a run
# would exhaust memory rather than train.
DATA_RANGES: dict[str, tuple[float, float]] = {
    "crop_size": (0, 4096),
    "min_scale": (0.01, 100.0),
    "max_scale": (0.01, 100.0),
    "max_size": (32, 4096),
    "synthetic_images": (1, 1_000_000),
    "synthetic_size": (32, 4096),
    "photo_limit": (0, 10_000_000),
    "scenes": (1, 1_000_000),
    "wider_share": (0.0, 1.0),
}


@dataclass
class ScaleFaceDataConfig(AugmentConfig):
    """Training data: ``source`` ``"wider"`` (the ``--data`` folder), ``"synthetic"``
    (``synthetic_images`` drawn images of ``synthetic_size``²) or ``"composite"``
    (:mod:`core.detect.training.scenes`: ``scenes`` scenes of ``crop_size``², a
    ``wider_share`` of them crops of the ``--data`` folder's images, if given, scaled
    by ``min_scale..max_scale``, the rest composites of the face photos under
    ``photos`` on procedural, ``backgrounds`` (``distill``: faces marked by the
    teacher) and WIDER backgrounds); plus augmentation.

    split: which WIDER split of ``--data`` to train on: ``"auto"`` (train if present,
    else val), a split name or a label file (see :mod:`core.wider.locate`).
    part: ``"all"``, or one part of the fixed split of :mod:`core.wider.dev_split`
    (``"train"`` when the other part is the validation set).
    cache_features: with a frozen trunk, compute its features once per scene into a
    pool under ``cache_dir`` (default: the user's cache folder) and train on those."""

    source: str = "wider"
    split: str = AUTO
    part: str = "all"
    synthetic_images: int = 64
    synthetic_size: int = 256
    photos: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    photo_limit: int = 0
    distill: bool = True
    scenes: int = 4000
    wider_share: float = 0.25
    cache_features: bool = False
    cache_dir: str = ""

    def __post_init__(self) -> None:
        if self.source not in ("wider", "synthetic", "composite"):
            raise ValueError(f"data source must be wider, synthetic or composite, not {self.source!r}")
        if self.part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}, not {self.part!r}")
        if self.source == "composite" and self.crop_size <= 0:
            raise ValueError("composite scenes need crop_size > 0 (the scene size)")
        check_ranges("ScaleFace data", vars(self), DATA_RANGES)


@dataclass
class ScaleFaceTaskConfig:
    """eval_images: images of the validation set (WIDER val, or held-out synthetic images)
    scored by the quick eval hook; eval_max_size caps their longer side (both evaluations).
    eval_split: a WIDER val-style split (see :func:`core.detect.training.eval_hook.open_eval_split`)
    scored with the official protocol instead; eval_max_images: evenly spaced subset (0 = all);
    eval_part: one part of :mod:`core.wider.dev_split` (``"val"`` beside training on ``"train"``)."""

    model: ScaleFaceConfig = field(default_factory=ScaleFaceConfig)
    data: ScaleFaceDataConfig = field(default_factory=ScaleFaceDataConfig)
    eval_images: int = 100
    eval_max_size: int = 1024
    eval_split: str | None = None
    eval_max_images: int = 0
    eval_part: str = "all"

    def __post_init__(self) -> None:
        if self.eval_max_images < 0:
            raise ValueError(f"eval_max_images must be >= 0, not {self.eval_max_images}")
        check_ranges(
            "ScaleFace evaluation", vars(self), {"eval_images": (0, 1_000_000), "eval_max_size": (32, 4096)}
        )
        if self.eval_split == "":
            self.eval_split = None


class ScaleFaceTask:
    name = "scaleface"
    config_cls = ScaleFaceTaskConfig
    train_defaults = {
        "lr": 0.01,
        "batch_size": 4,
        "max_steps": 60000,
        "warmup_steps": 500,
        "checkpoint_every": 1000,
        "log_every": 20,
        "grad_clip": 10.0,
        "weight_decay": 1e-4,
    }

    def __init__(self) -> None:
        self.cfg: ScaleFaceTaskConfig | None = None
        self.data_dir: Path | None = None
        self.eval_split: EvalSplit | None = None
        self.pooled = False
        # polled during an evaluation (the CLI's signal flag, the GUI job's cancel token)
        self.should_stop: Callable[[], bool] | None = None

    def build_model(self, cfg: ScaleFaceTaskConfig) -> nn.Module:
        self.cfg = cfg
        self.model = build_scaleface(cfg.model).train()  # the unwrapped module (tests, eval)
        return self.model

    def build_dataset(self, cfg: ScaleFaceTaskConfig, data_dir: Path | None):
        self.data_dir = data_dir
        self._open_eval_split(cfg)
        if cfg.data.source == "composite":
            dataset, self.pooled = composite_training_set(
                cfg.data, data_dir, self.model, seed=0, should_stop=self.should_stop
            )
            log.info(
                "ScaleFace training set: %d composite scenes%s",
                len(dataset),
                " (cached features)" * self.pooled,
            )
            return dataset
        augment = DetectionAugment(cfg.data)
        if cfg.data.source == "synthetic":
            source = SyntheticFaces(cfg.data.synthetic_images, cfg.data.synthetic_size, seed=0)
        else:
            if data_dir is None:
                raise ConfigError(
                    "ScaleFace on WIDER needs a data folder (--data) or task.data.source=synthetic."
                )
            source = WiderSource(data_dir, cfg.data.split)
            log.info("ScaleFace training labels: %s", source.location.labels)
        log.info("ScaleFace training set: %s, %d images", cfg.data.source, len(source))
        return DetectionTrainSet(source, augment)

    def _open_eval_split(self, cfg: ScaleFaceTaskConfig) -> None:
        if cfg.eval_split:
            # opened now so a wrong path fails before the first step, not at the first evaluation
            self.eval_split = open_eval_split(cfg.eval_split, cfg.eval_max_images, cfg.eval_part)
            log.info("evaluation split %s: %d images", cfg.eval_split, self.eval_split.num_images)

    def collate(self, items: list) -> dict:
        if isinstance(items[0][0], list):  # cached trunk features, one map per branch
            return collate_pooled(items, self.cfg.data.crop_size)
        return collate_detection(items, ScaleFace.SIZE_MULTIPLE)

    def compute_losses(self, model: nn.Module, batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
        targets = [
            {"boxes": b.to(device, non_blocking=True), "invalid": v.to(device, non_blocking=True)}
            for b, v in zip(batch["boxes"], batch["invalid"], strict=True)
        ]
        if "features" in batch:
            feats = [f.to(device, non_blocking=True) for f in batch["features"]]
            net = getattr(model, "module", model)  # the branches alone: DDP wraps the whole forward only
            return net.forward_features(
                net.from_pool(feats), batch["input_size"], batch["image_sizes"], targets
            )
        images = batch["images"].to(device, non_blocking=True).float().div_(255.0)
        return model(images, batch["image_sizes"], targets)

    def _eval_source(self):
        cfg = self.cfg
        if cfg.data.source == "synthetic":
            return SyntheticFaces(cfg.eval_images, cfg.data.synthetic_size, seed=1)
        try:
            return WiderSource(self.data_dir, "val") if self.data_dir is not None else None
        except (OSError, ValueError) as exc:
            log.warning("no WIDER val split for evaluation: %s", exc)
            return None

    def evaluate(self, model: nn.Module, step: int) -> dict[str, float | bool]:
        """Official WIDER AP on ``eval_split`` if set, else quick AP / per-range recall /
        branch recall on ``eval_images`` validation images."""
        if self.cfg is None:
            return {}
        device = next(model.parameters()).device
        detector = ScaleFaceDetector(
            model=model, device=device, min_score=EVAL_MIN_SCORE, max_side=self.cfg.eval_max_size
        )
        if self.eval_split is not None:
            metrics = evaluate_on_split(detector, self.eval_split, should_stop=self.should_stop)
            return {"cancelled": True} if metrics is None else metrics
        if self.cfg.eval_images <= 0:
            return {}
        source = self._eval_source()
        if source is None:
            return {}
        items = []
        for i in range(min(self.cfg.eval_images, len(source))):
            image, boxes, invalid = source.load(i)
            result = detector.detect(image)
            items.append(
                ImageEval(
                    np.array([f.box for f in result.faces], dtype=np.float64).reshape(-1, 4),
                    np.array([f.score for f in result.faces], dtype=np.float64),
                    [f.branch for f in result.faces],
                    boxes,
                    np.asarray(invalid, dtype=bool),
                )
            )
        return quick_eval(items)
