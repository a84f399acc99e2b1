"""Turn an ``lmle`` training run (or the linear baseline) into a shipped :class:`AttributeModel`.

``export_run(RUN_DIR)`` rebuilds the task from the checkpoint's own
configuration, loads the head, clusters the final training embeddings
(deterministically) and writes ``resources/models/lmle_celeba.pt`` (or
``lmle_celeba_triplet.pt`` for a triplet run) with a sidecar stating that
FaceScope trained it on CelebA, for research use. ``export_linear`` fits and
writes the class-weighted baseline on the same cached features.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from core.attributes.baselines import fit_linear
from core.attributes.celeba import CELEBA_ATTRIBUTES, CelebA
from core.attributes.model import BASELINE_MODEL, DEFAULT_MODEL, TRIPLET_MODEL, AttributeModel
from core.paths import MODELS_DIR
from core.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from core.train.config import from_dict

log = logging.getLogger(__name__)

LICENCE = (
    "research use only: trained on CelebA (MMLAB, CUHK), whose images and labels are for "
    "non-commercial research; the frozen trunk it reads is face-api 1.7.15 (MIT)"
)
AUTHORS = "FaceScope; method by Chen Huang, Yining Li, Chen Change Loy, Xiaoou Tang (LMLE, CVPR 2016)"


def _sidecar(description: str, train_range: str, regenerate: str) -> dict:
    return {
        "description": description,
        "authors": AUTHORS,
        "licence": LICENCE,
        "source_package": "trained by FaceScope (core/train/tasks/lmle.py, core/attributes/export.py)",
        "training_data": f"CelebA aligned images {train_range} (half-resolution dev copy, 40 attribute labels); "
        "features of face-api 1.7.15's FaceRecognitionNet",
        "regenerate": regenerate,
    }


def model_from_run(run_dir: str | Path, celeba_root: str | None = None) -> tuple[AttributeModel, dict]:
    """``(model, task config dict)`` of a run's ``last.pt`` (clusters of the final embeddings)."""
    from core.train.tasks.lmle import LMLEConfig, LMLETask

    ckpt = load_checkpoint(Path(run_dir) / CHECKPOINT_NAME, task="lmle")
    task_cfg = dict(ckpt["config"]["task"])
    if celeba_root:
        task_cfg["celeba_root"] = celeba_root
    cfg = from_dict(LMLEConfig, task_cfg)
    task = LMLETask()
    core = task.build_model(cfg)
    task.build_dataset(cfg, None)
    core.load_state_dict(ckpt["model"])
    layout = core.final_layout() if cfg.method == "lmle" else None
    meta = {"train_range": cfg.train_range, "steps": int(ckpt["step"]), "task_config": json.dumps(task_cfg)}
    model = AttributeModel(
        cfg.method, CELEBA_ATTRIBUTES, head=core.head, layout=layout, knn_k=cfg.knn_k, meta=meta
    )
    return model, task_cfg


def export_run(run_dir: str | Path, celeba_root: str | None = None, out: str | Path | None = None) -> Path:
    """Write the run's model to ``out`` (default ``resources/models/lmle_celeba[_triplet].pt``)."""
    model, task_cfg = model_from_run(run_dir, celeba_root)
    name = DEFAULT_MODEL if model.method == "lmle" else TRIPLET_MODEL
    path = Path(out) if out else MODELS_DIR / f"{name}.pt"
    what = (
        "LMLE: per-attribute 16-d unit-norm embeddings (a linear head on frozen face-api trunk features), "
        "k-means centroids per class, cluster-wise kNN"
        if model.method == "lmle"
        else "Triplet baseline for LMLE: the same head trained with a triplet loss (kNN over training embeddings)"
    )
    method_flag = "" if model.method == "lmle" else " --set task.method=triplet"
    regenerate = (
        f"python main.py train lmle --celeba-root CELEBA --train-range {task_cfg['train_range']} "
        f"--val-range {task_cfg['val_range']}{method_flag} --out RUN && python tools/export_lmle.py RUN "
        "&& python tools/make_notice.py"
    )
    model.save(path, _sidecar(what, task_cfg["train_range"], regenerate))
    return path


def export_linear(
    celeba_root: str | Path,
    train_range: str = "1-7000",
    weight_decay: float = 0.01,
    out: str | Path | None = None,
    cache_dir: str = "",
) -> Path:
    """Fit the class-weighted linear baseline on ``train_range`` and write it."""
    from core.train.tasks.lmle import load_split

    split = load_split(CelebA.open(celeba_root), train_range, cache_dir)
    linear = fit_linear(
        torch.from_numpy(split.features), torch.from_numpy(split.labels), weight_decay=weight_decay
    )
    meta = {"train_range": train_range, "weight_decay": weight_decay}
    model = AttributeModel("linear", CELEBA_ATTRIBUTES, linear=linear, meta=meta)
    path = Path(out) if out else MODELS_DIR / f"{BASELINE_MODEL}.pt"
    regenerate = (
        f"python tools/export_lmle.py --linear --celeba-root CELEBA --train-range {train_range} "
        f"--weight-decay {weight_decay} && python tools/make_notice.py"
    )
    what = (
        "Class-weighted linear baseline for LMLE: one logistic regression per attribute on the same features"
    )
    model.save(path, _sidecar(what, train_range, regenerate))
    return path
