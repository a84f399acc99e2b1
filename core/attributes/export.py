"""Turn an ``lmle`` training run (or the linear baseline) into a shipped :class:`AttributeModel`.

``export_run(RUN_DIR)`` rebuilds the task from the checkpoint's own
configuration, loads the head, clusters the final training embeddings
(deterministically) and writes ``resources/models/lmle_celeba_head.pt`` (or
``lmle_celeba_triplet.pt`` for a triplet run) with a sidecar stating that
FaceScope trained it on CelebA, for research use. ``export_linear`` fits and
writes the class-weighted baseline on the same cached features.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from core.attributes.baselines import fit_linear
from core.attributes.celeba import CELEBA_ATTRIBUTES, CelebA
from core.attributes.lmle_task import LMLEConfig, LMLETask, load_split
from core.attributes.model import BASELINE_MODEL, HEAD_MODEL, TRIPLET_MODEL, AttributeModel
from core.paths import MODELS_DIR, SHARED_DIR
from core.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from core.train.config import TrainConfig, from_dict, to_plain

log = logging.getLogger(__name__)

LICENCE = (
    "research use only: trained on CelebA (MMLAB, CUHK), whose images and labels are for "
    "non-commercial research; the frozen trunk it reads is face-api 1.7.15 (MIT)"
)
AUTHORS = "FaceScope; method by Chen Huang, Yining Li, Chen Change Loy, Xiaoou Tang (LMLE, CVPR 2016)"


def shown_root(root: str | Path) -> str:
    """The CelebA root as a regenerate command should spell it (``../shared/...`` when it is there)."""
    path = Path(root).resolve()
    try:
        return f"../shared/{path.relative_to(SHARED_DIR.resolve()).as_posix()}"
    except ValueError:
        return str(root)


def model_sidecar(description: str, train_range: str, regenerate: str) -> dict:
    return {
        "description": description,
        "authors": AUTHORS,
        "licence": LICENCE,
        "source_package": "trained by FaceScope (core/attributes/lmle_task.py, core/attributes/export.py)",
        "training_data": f"CelebA aligned images {train_range} (half-resolution dev copy, 40 attribute labels); "
        "features of face-api 1.7.15's FaceRecognitionNet",
        "regenerate": regenerate,
    }


def read_run(run_dir: str | Path, task: str, celeba_root: str | None = None) -> tuple[dict, dict]:
    """``(checkpoint, {"train": ..., "task": ...})`` of a run's ``last.pt``; ``celeba_root``
    replaces the run's own (the data moved)."""
    ckpt = load_checkpoint(Path(run_dir) / CHECKPOINT_NAME, task=task)
    config = {"train": dict(ckpt["config"]["train"]), "task": dict(ckpt["config"]["task"])}
    if celeba_root:
        config["task"]["celeba_root"] = celeba_root
    return ckpt, config


def model_from_run(run_dir: str | Path, celeba_root: str | None = None) -> tuple[AttributeModel, dict]:
    """``(model, run config dict)`` of a run's ``last.pt`` (clusters of the final embeddings)."""
    ckpt, config = read_run(run_dir, "lmle", celeba_root)
    task_cfg = config["task"]
    cfg = from_dict(LMLEConfig, task_cfg)
    task = LMLETask()
    core = task.build_model(cfg)
    task.build_dataset(cfg, None)
    core.load_state_dict(ckpt["model"])
    layout = core.final_layout() if cfg.method == "lmle" else None
    meta = {
        "train_range": cfg.train_range,
        "steps": int(ckpt["step"]),
        "task_config": json.dumps(task_cfg),
        "tta": int(cfg.tta),
    }
    model = AttributeModel(
        cfg.method, CELEBA_ATTRIBUTES, head=core.head, layout=layout, knn_k=cfg.knn_k, meta=meta
    )
    return model, config


def _changed_options(config: dict) -> list[str]:
    """``--set`` overrides for every option that differs from the task's defaults."""
    skip = {"celeba_root", "train_range", "val_range", "feature_cache", "device", "num_workers"}
    defaults = {
        "train": {**to_plain(TrainConfig()), **LMLETask.train_defaults},
        "task": to_plain(LMLEConfig()),
    }
    out = []
    for section in ("train", "task"):
        for key, value in sorted(config[section].items()):
            if key not in skip and defaults[section].get(key) != value:
                out.append(f"--set {section}.{key}={json.dumps(value)}")
    return out


def export_run(run_dir: str | Path, celeba_root: str | None = None, out: str | Path | None = None) -> Path:
    """Write the run's model to ``out`` (default ``resources/models/lmle_celeba_{head,triplet}.pt``)."""
    model, config = model_from_run(run_dir, celeba_root)
    task_cfg = config["task"]
    name = HEAD_MODEL if model.method == "lmle" else TRIPLET_MODEL
    path = Path(out) if out else MODELS_DIR / f"{name}.pt"
    head = model.head
    assert head is not None
    what = (
        f"LMLE: per-attribute {head.dim}-d unit-norm embeddings (a head on frozen face-api trunk features), "
        "k-means centroids per class, cluster-wise kNN"
        if model.method == "lmle"
        else "Triplet baseline for LMLE: the same head trained with a triplet loss (kNN over training embeddings)"
    )
    regenerate = " ".join(
        [
            f"python main.py train lmle --celeba-root {shown_root(task_cfg['celeba_root'])}",
            f"--train-range {task_cfg['train_range']} --val-range {task_cfg['val_range']}",
            *_changed_options(config),
            "--out RUN && python tools/export_lmle.py RUN && python tools/make_notice.py",
        ]
    )
    model.save(path, model_sidecar(what, task_cfg["train_range"], regenerate))
    return path


def export_linear(
    celeba_root: str | Path,
    train_range: str = "1-7000",
    weight_decay: float = 0.01,
    out: str | Path | None = None,
    cache_dir: str = "",
    flip: bool = True,
) -> Path:
    """Fit the class-weighted linear baseline on ``train_range`` (and the mirrored images, the
    same training data LMLE sees) and write it."""
    split = load_split(CelebA.open(celeba_root), train_range, cache_dir, flip)
    views = split.views()  # (N, V, D): every view is a training row with the image's labels
    labels = np.repeat(split.labels, views.shape[1], axis=0)
    linear = fit_linear(
        torch.from_numpy(views.reshape(-1, views.shape[2])),
        torch.from_numpy(labels),
        weight_decay=weight_decay,
    )
    # the same protocol as LMLE: trained on both views, decides on both (mean logit)
    meta = {"train_range": train_range, "weight_decay": weight_decay, "flip": int(flip), "tta": int(flip)}
    model = AttributeModel("linear", CELEBA_ATTRIBUTES, linear=linear, meta=meta)
    path = Path(out) if out else MODELS_DIR / f"{BASELINE_MODEL}.pt"
    regenerate = (
        f"python tools/export_lmle.py --linear --celeba-root {shown_root(celeba_root)} --train-range {train_range} "
        f"--weight-decay {weight_decay}{'' if flip else ' --no-flip'} && python tools/make_notice.py"
    )
    what = (
        "Class-weighted linear baseline for LMLE: one logistic regression per attribute on the same features"
    )
    model.save(path, model_sidecar(what, train_range, regenerate))
    return path
