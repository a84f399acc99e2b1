"""The ``dream`` training task: stitching a DREAM block onto face-api's frozen descriptor with CFP.

    python main.py train dream --data CFP_ROOT --out RUN_DIR \
        [--set train_folds=1-8 --set val_folds=9]

Data: the cached stem features of CFP (:mod:`core.cfp.features`; the first
run extracts them, ~0.1–1 s an image on a CPU, later runs read the cache)
become stitching pairs (:mod:`core.cfp.stitching`): profile inputs
(``|yaw| >= 50°``) → their identity's mean frontal feature (``|yaw| <= 20°``),
in DREAM space. Loss: squared L2 error per pair (``stitch``), SGD.
Evaluation (every ``eval_every`` steps) on the validation folds: the
stitching loss and the CFP-FP EER with and without the block.

Ship the result with ``python tools/export_dream.py RUN_DIR`` (calibration
on the training folds, then ``resources/models/dream_faceapi.pt``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.cfp.evaluate import evaluate_protocol
from core.cfp.features import load_features
from core.cfp.protocol import CfpProtocol, identity_of, parse_folds
from core.cfp.stitching import build_stitching, dream_center, identities_of_folds
from core.models.dream import DreamBlock
from core.recognize.dream import DreamMapper

log = logging.getLogger(__name__)


@dataclass
class DreamConfig:
    """Options of the ``dream`` task (``[task]`` TOML section / ``--set task.KEY=VALUE``).

    cfp_root: CFP folder (default: the ``--data`` folder).
    train_folds / val_folds: official fold lists (``"1-8"``, ``"9"``); identities of fold k are 50(k-1)+1 … 50k.
    profile_min_yaw / frontal_max_yaw: fused-yaw bounds (degrees) of inputs and of target images.
    feature_cache: folder of the CFP feature cache ("" = the user data folder's cache/cfp).
    """

    cfp_root: str = ""
    train_folds: str = "1-8"
    val_folds: str = "9"
    profile_min_yaw: float = 50.0
    frontal_max_yaw: float = 20.0
    dim: int = 128
    feature_cache: str = ""


class StitchingDataset:
    """Map-style view of a :class:`~core.cfp.stitching.StitchingSet` as tensors."""

    def __init__(self, inputs: np.ndarray, yaw: np.ndarray, targets: np.ndarray) -> None:
        self.inputs = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
        self.yaw = torch.from_numpy(np.ascontiguousarray(yaw, dtype=np.float32))
        self.targets = torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.inputs[index], self.yaw[index], self.targets[index]


def stitch_loss(
    model: nn.Module, inputs: torch.Tensor, yaw: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean over pairs of the squared L2 distance between the mapped input and its target."""
    return ((model(inputs, yaw) - targets) ** 2).sum(dim=1).mean()


class DreamTask:
    name = "dream"
    config_cls = DreamConfig
    train_defaults: Mapping[str, Any] = {
        "max_steps": 3000,
        "batch_size": 64,
        "lr": 0.05,
        "optimizer": "sgd",
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "grad_clip": 10.0,
        "amp": False,
        "checkpoint_every": 1000,
        "log_every": 100,
        "eval_every": 1000,
    }

    def __init__(self) -> None:
        self.center: np.ndarray | None = None
        self._val: dict[str, Any] = {}

    def build_model(self, cfg: DreamConfig) -> nn.Module:
        return DreamBlock(cfg.dim)

    def build_dataset(self, cfg: DreamConfig, data_dir: Path | None) -> StitchingDataset:

        table, cfp = load_cfp_table(cfg, data_dir)
        train_ids = identities_of_folds(cfg.train_folds)
        val_ids = identities_of_folds(cfg.val_folds) if cfg.val_folds else set()
        if train_ids & val_ids:
            raise ValueError(f"train folds {cfg.train_folds} and val folds {cfg.val_folds} overlap")
        self.center = dream_center(table, train_ids, cfg.frontal_max_yaw)
        train = build_stitching(table, train_ids, self.center, cfg.profile_min_yaw, cfg.frontal_max_yaw)
        if len(train) == 0:
            raise ValueError(f"no stitching pairs in folds {cfg.train_folds} of {cfp.root}")
        val = build_stitching(table, val_ids, self.center, cfg.profile_min_yaw, cfg.frontal_max_yaw)
        self._val = {"set": val, "table": table, "cfp": cfp, "folds": _present_folds(cfp, cfg.val_folds)}
        log.info(
            "DREAM stitching: %d training profiles (folds %s), %d validation (folds %s)",
            len(train),
            cfg.train_folds,
            len(val),
            cfg.val_folds,
        )
        return StitchingDataset(train.inputs, train.yaw, train.targets)

    def collate(self, items: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs, yaw, targets = zip(*items, strict=True)
        return torch.stack(inputs), torch.stack(yaw), torch.stack(targets)

    def compute_losses(self, model: nn.Module, batch: Any, device: torch.device) -> dict[str, torch.Tensor]:
        inputs, yaw, targets = (t.to(device) for t in batch)
        return {"stitch": stitch_loss(model, inputs, yaw, targets)}

    def evaluate(self, model: nn.Module, step: int) -> dict[str, float]:
        """Validation stitching loss and CFP-FP EER (stem vs stem + DREAM) on the validation folds."""
        val = self._val.get("set")
        out: dict[str, float] = {}
        if val is None or len(val) == 0:
            return out
        device = next(model.parameters()).device
        with torch.no_grad():
            out["val_stitch"] = float(
                stitch_loss(
                    model,
                    torch.from_numpy(val.inputs).to(device),
                    torch.from_numpy(val.yaw).to(device),
                    torch.from_numpy(val.targets).to(device),
                )
            )
        folds = self._val["folds"]
        if folds:
            block = DreamBlock(model.fc1.in_features)
            block.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
            mapper = DreamMapper(block=block, center=self.center)
            table, cfp = self._val["table"], self._val["cfp"]
            for use, name in ((False, "stem"), (True, "dream")):
                ev = evaluate_protocol(cfp, table, "FP", folds, mapper, use_dream=use, shipped_threshold=0.0)
                out[f"val_fp_eer_{name}"] = ev.eer_mean
        return out


def _present_folds(cfp, folds: str) -> list[int]:

    if not folds:
        return []
    on_disk = set(cfp.folds("FP"))
    return [k for k in parse_folds(folds) if k in on_disk]


def load_cfp_table(cfg: DreamConfig, data_dir: Path | None):
    """The CFP protocol and the cached features (with yaw) of the train + val identities."""
    root = cfg.cfp_root or (str(data_dir) if data_dir is not None else "")
    if not root:
        raise ValueError("the dream task needs the CFP folder: --data DIR or --set task.cfp_root=DIR")
    cfp = CfpProtocol.open(root)
    wanted = identities_of_folds(cfg.train_folds) | (
        identities_of_folds(cfg.val_folds) if cfg.val_folds else set()
    )
    keys = [k for k in cfp.existing_keys() if identity_of(k) in wanted]
    table = load_features(cfp.root, keys, cfg.feature_cache or None)
    return table, cfp
