"""Turn an ``lmle_learned`` training run into a shipped :class:`AttributeModel` (the paper's LMLE).

``learned_model_from_run(RUN_DIR, cluster_size, knn_k)`` rebuilds the task
from the checkpoint's own configuration, folds the fine-tuned deltas into
plain stage weights, clusters the final training embeddings into classes of
about ``cluster_size`` faces (deterministically) and keeps the cluster-wise
kNN's ``knn_k``; both are chosen on an inner fold, never on the reported
images (``bench/lmle_learned.py sweep``). ``export_learned_run`` writes it
with its sidecar, by default as ``resources/models/lmle_celeba.pt``, the shipped LMLE
(any path: ``AttributeModel.load`` and the Attributes panel's *Model…* read
it like a bundled one).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import torch

from core.attributes.celeba import CELEBA_ATTRIBUTES
from core.attributes.clustering import cluster_attributes
from core.attributes.export import model_sidecar, read_run, shown_root
from core.attributes.learned_task import LearnedConfig, LearnedTask
from core.attributes.model import DEFAULT_MODEL, AttributeModel
from core.models.lmle_trunk import TrunkStage
from core.paths import MODELS_DIR
from core.train.config import from_dict

log = logging.getLogger(__name__)

#: k-means seed of the exported clusters (any fixed value: the export is reproducible)
CLUSTER_SEED = 0


def plain_stage(task: LearnedTask) -> TrunkStage:
    """A copy of the run's stage with ``pretrained + ratio * delta`` folded into ordinary weights
    (a copy: folding into the run's own pretrained weights would add the deltas twice there)."""
    assert task.model is not None
    tuned = task.model.net.stage
    stage = copy.deepcopy(tuned.module)
    with torch.no_grad():
        for name, value in tuned.tuned_parameters().items():
            stage.get_parameter(name).copy_(value)
    return stage


def learned_model_from_run(
    run_dir: str | Path, cluster_size: int, knn_k: int, celeba_root: str | None = None
) -> tuple[AttributeModel, dict]:
    """``(model, run config dict)`` of a run's ``last.pt``; LMLE runs only."""
    ckpt, config = read_run(run_dir, "lmle_learned", celeba_root)
    task_cfg = config["task"]
    cfg = from_dict(LearnedConfig, task_cfg)
    if cfg.method != "lmle":
        raise ValueError(f"{run_dir}: a {cfg.method} run; only LMLE runs are exported as learned models")
    task = LearnedTask()
    core = task.build_model(cfg)
    core.load_state_dict(ckpt["model"])
    assert task.train_split is not None
    embeddings = core.train_embeddings()
    layout = cluster_attributes(
        embeddings,
        torch.from_numpy(task.train_split.labels),
        min_size=cluster_size,
        iters=cfg.kmeans_iters,
        generator=torch.Generator().manual_seed(CLUSTER_SEED),
    )
    meta = {
        "train_range": cfg.train_range,
        "steps": int(ckpt["step"]),
        "task_config": json.dumps(task_cfg),
        "tta": int(cfg.tta),
        "frame_features": int(cfg.frame),
        "cluster_size": cluster_size,
    }
    head = core.net.head
    model = AttributeModel(
        "lmle", CELEBA_ATTRIBUTES, head=head, layout=layout, knn_k=knn_k, meta=meta, stage=plain_stage(task)
    )
    return model, config


def export_learned_run(
    run_dir: str | Path,
    cluster_size: int,
    knn_k: int,
    celeba_root: str | None = None,
    out: str | Path | None = None,
) -> Path:
    """Write the run's model to ``out`` (default ``resources/models/lmle_celeba.pt``)."""
    model, config = learned_model_from_run(run_dir, cluster_size, knn_k, celeba_root)
    task_cfg, train_cfg = config["task"], config["train"]
    path = Path(out) if out else MODELS_DIR / f"{DEFAULT_MODEL}.pt"
    head = model.head
    assert head is not None
    what = (
        f"LMLE (the paper's recipe): face-api's last trunk stage fine-tuned, "
        f"{'one shared' if head.shared else 'per-attribute'} {head.dim}-d unit-norm embeddings, "
        f"k-means clusters of about {cluster_size} faces per class, cluster-wise kNN with k = {knn_k}"
    )
    options = [
        f"--set task.{key}={json.dumps(task_cfg[key])}"
        for key in ("shared", "dim", "cluster_size", "refresh_every", "mining", "frame", "flip")
        if key in task_cfg and task_cfg[key] != getattr(LearnedConfig(), key)
    ]
    regenerate = " ".join(
        [
            f"python main.py train lmle_learned --celeba-root {shown_root(task_cfg['celeba_root'])}",
            f"--train-range {task_cfg['train_range']} --val-range {task_cfg['val_range']}",
            f"--max-steps {train_cfg['max_steps']}",
            *options,
            f"--out RUN && python tools/export_lmle.py RUN --learned --cluster-size {cluster_size} --k {knn_k}",
            "&& python tools/make_notice.py",
        ]
    )
    sidecar = model_sidecar(what, task_cfg["train_range"], regenerate)
    sidecar["licence"] = (
        "research use only: trained on CelebA (MMLAB, CUHK), whose images and labels are for non-commercial "
        "research; the trunk it reads is face-api 1.7.15's (MIT), its last stage fine-tuned from those weights"
    )
    sidecar["source_package"] = (
        "trained by FaceScope (core/attributes/learned_task.py, core/attributes/learned_export.py)"
    )
    model.save(path, sidecar)
    log.info("wrote %s", path)
    return path
