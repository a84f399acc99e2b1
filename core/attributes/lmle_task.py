"""Training task ``lmle``: LMLE embeddings (or the triplet baseline) for CelebA's 40 attributes.

``python main.py train lmle --celeba-root DIR --train-range 1-7000 --val-range 7001-8000 --out RUN``

The frozen trunk features of every image are computed once and cached
(:mod:`core.attributes.features`); the engine then trains only the head.
Validation (``eval_every``) re-clusters the current training embeddings and
classifies the validation images with the cluster-wise kNN rule (LMLE) or a
plain kNN vote (triplet), reporting ``mean_balanced_accuracy``,
``mean_accuracy`` and ``ba/<attribute>`` for each attribute.

``tools/export_lmle.py RUN`` turns the run's ``last.pt`` into the bundled
``resources/models/lmle_*.pt``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.attributes.celeba import CelebA
from core.attributes.features import DESCRIPTOR_DIM, FEATURE_DIM, FLIP_SUFFIX, FeatureCache
from core.attributes.knn import cluster_knn, sample_knn
from core.attributes.loss import Margins
from core.attributes.metrics import evaluate_predictions
from core.attributes.training import (
    AnchorDataset,
    ClusterOptions,
    EmbeddingModel,
    collate_anchors,
    pool_losses,
)
from core.models.lmle import LMLEHead

log = logging.getLogger(__name__)

# the identity descriptor at the end of the features
DESCRIPTOR_SLICE = slice(FEATURE_DIM - DESCRIPTOR_DIM, FEATURE_DIM)


@dataclass
class LMLEConfig:
    """Options of the ``lmle`` task (TOML ``[task]``; ``--set task.NAME=VALUE``).

    celeba_root: CelebA folder (``--celeba-root``/``--data`` fill it when empty).
    train_range / val_range: inclusive image-number ranges; ``val_range = ""``
        disables validation.
    method: ``"lmle"`` or ``"triplet"`` (the baseline: same head, batches and
        pool, hardest-positive/hardest-negative triplet loss, sample kNN).
    hidden: shared hidden layer width, 0 = a linear projection per attribute;
        linear_hidden: that layer without ReLU (a shared low-rank subspace).
    dim: embedding size per attribute. dropout: on the input features.
    max_clusters / min_cluster_size: k-means clusters per class =
        ``n // min_cluster_size`` within ``[1, max_clusters]``.
    refresh_every: re-cluster every this many steps. init_clusters:
        ``"descriptor"`` (first clustering on the face-api identity
        descriptor, as the paper used DeepID2 features) or ``"embedding"``.
    g1, g2, g3: triple-header hinge margins; triplet_margin: the baseline's.
    knn_k: centroids (LMLE) or samples (triplet) the classifier looks at.
    mine_in: where quintuplet members are searched: ``"pool"`` (every image
        of the batch) or ``"anchors"`` (the attribute's balanced anchors only).
    centroid_weight / centroid_margin: an optional extra hinge (not in the
        paper; 0 = off, the shipped setting) pulling each anchor nearer its own
        cluster centroid than the nearest other-class centroid by the margin,
        i.e. training for the nearest-centroid decision the kNN makes
        (docs/adr/0011-lmle.md, session 4).
    flip: also train on the mirrored images (each anchor and pool member
        uses the original or the mirror at random; clusters and validation
        use the originals).
    tta: validation (and the exported model) embed each image and its mirror
        and use the normalised mean (test-time flip).
    feature_cache: folder of the feature cache ("" = the default).
    """

    celeba_root: str = ""
    train_range: str = "1-7000"
    val_range: str = "7001-8000"
    method: str = "lmle"
    hidden: int = 0
    linear_hidden: bool = False
    dim: int = 32
    dropout: float = 0.0
    max_clusters: int = 2
    min_cluster_size: int = 20
    refresh_every: int = 200
    kmeans_iters: int = 20
    init_clusters: str = "descriptor"
    g1: float = 0.05
    g2: float = 0.1
    g3: float = 0.2
    triplet_margin: float = 0.2
    knn_k: int = 1
    mine_in: str = "anchors"
    centroid_weight: float = 0.0
    centroid_margin: float = 0.2
    flip: bool = True
    tta: bool = True
    feature_cache: str = ""

    def __post_init__(self) -> None:
        if self.method not in ("lmle", "triplet"):
            raise ValueError(f"method must be lmle or triplet, got {self.method!r}")
        if self.mine_in not in ("pool", "anchors"):
            raise ValueError(f"mine_in must be pool or anchors, got {self.mine_in!r}")
        if self.init_clusters not in ("descriptor", "embedding"):
            raise ValueError(f"init_clusters must be descriptor or embedding, got {self.init_clusters!r}")
        if self.dim < 2 or self.hidden < 0 or self.max_clusters < 1 or self.refresh_every < 1:
            raise ValueError("dim >= 2, hidden >= 0, max_clusters >= 1, refresh_every >= 1")


@dataclass
class SplitData:
    """Features ``(N, D)`` float32 and labels ``(N, A)`` bool of one split; ``flipped``: the
    features of the mirrored images ``(N, D)`` (a training augmentation) or ``None``."""

    names: tuple[str, ...]
    features: np.ndarray
    labels: np.ndarray
    flipped: np.ndarray | None = None

    def views(self) -> np.ndarray:
        """``(N, V, D)``: the original features, then the mirrored ones when loaded."""
        if self.flipped is None:
            return self.features[:, None]
        return np.stack([self.features, self.flipped], axis=1)


def load_split(dataset: CelebA, id_range: str, cache_dir: str = "", flipped: bool = False) -> SplitData:
    """Features (cached) and labels of the images in ``id_range`` (+ mirrored views when asked)."""
    table = dataset.select(id_range)
    if len(table) == 0:
        raise ValueError(f"{dataset.root}: no images in range {id_range}")
    cache = FeatureCache(dataset.images_dir, cache_dir or None)
    feats = cache.get(list(table.images))
    flips = cache.get([n + FLIP_SUFFIX for n in table.images]) if flipped else None
    return SplitData(table.images, feats, table.labels, flips)


class LMLETask:
    """The engine contract (:class:`core.train.task.TrainTask`) for LMLE and the triplet baseline."""

    name = "lmle"
    config_cls = LMLEConfig
    # chosen on an inner split (train 1-6000, tune 6001-7000; docs/adr/0011-lmle.md)
    train_defaults = {
        "max_steps": 1500,
        "batch_size": 32,
        "lr": 1e-3,
        "optimizer": "adamw",
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "grad_clip": 0.0,
        "checkpoint_every": 500,
        "log_every": 50,
        "eval_every": 500,
        "amp": False,
    }

    def __init__(self) -> None:
        self.cfg: LMLEConfig | None = None
        self.model: EmbeddingModel | None = None
        self.celeba: CelebA | None = None
        self.train_split: SplitData | None = None
        self.val_split: SplitData | None = None

    def _open(self, cfg: LMLEConfig, data_dir: Path | None = None) -> CelebA:
        root = cfg.celeba_root or (str(data_dir) if data_dir is not None else "")
        if not root:
            raise ValueError("the lmle task needs --celeba-root DIR (or task.celeba_root)")
        if self.celeba is None or str(self.celeba.root) != root:
            self.celeba = CelebA.open(root)
            self.train_split = load_split(self.celeba, cfg.train_range, cfg.feature_cache, cfg.flip)
            self.val_split = (
                load_split(self.celeba, cfg.val_range, cfg.feature_cache) if cfg.val_range else None
            )
        return self.celeba

    def build_model(self, cfg: LMLEConfig) -> nn.Module:
        # The engine builds the model before the dataset; the data root is known only from
        # the config here, or from --data in build_dataset, which then sizes the buffers.
        self.cfg = cfg
        num_train = 0
        if cfg.celeba_root:
            self._open(cfg)
            num_train = len(self.train_split.names)
        head = LMLEHead(FEATURE_DIM, 40, cfg.hidden, cfg.dim, cfg.dropout, cfg.linear_hidden)
        options = ClusterOptions(cfg.max_clusters, cfg.min_cluster_size, cfg.kmeans_iters, cfg.refresh_every)
        self.model = EmbeddingModel(head, num_train, options)
        return self.model

    def build_dataset(self, cfg: LMLEConfig, data_dir: Path | None) -> AnchorDataset:
        self._open(cfg, data_dir)
        split, model = self.train_split, self.model
        assert split is not None and model is not None
        if model.assign.shape[0] != len(split.names):  # root came from --data: size the buffers now
            model.assign = torch.zeros(len(split.names), model.assign.shape[1], dtype=torch.int64).to(
                model.assign.device
            )
        feats = torch.from_numpy(split.views())
        model.head.norm.fit(feats.flatten(0, 1))  # deterministic from the data; restored anyway on resume
        init = (
            F.normalize(feats[:, 0, DESCRIPTOR_SLICE], dim=1) if cfg.init_clusters == "descriptor" else None
        )
        model.set_training_data(feats, torch.from_numpy(split.labels), init)
        return AnchorDataset(split.labels)

    def collate(self, items: list) -> torch.Tensor:
        return collate_anchors(items)

    def compute_losses(
        self, model: nn.Module, batch: torch.Tensor, device: torch.device
    ) -> dict[str, torch.Tensor]:
        core = model.module if hasattr(model, "module") else model
        cfg = self.cfg
        assert cfg is not None
        return pool_losses(
            model,
            core,
            batch,
            method=cfg.method,
            margins=Margins(cfg.g1, cfg.g2, cfg.g3),
            triplet_margin=cfg.triplet_margin,
            mine_in=cfg.mine_in,
            centroid_weight=cfg.centroid_weight,
            centroid_margin=cfg.centroid_margin,
        )

    def evaluate(self, model: nn.Module, step: int) -> dict[str, float]:
        if self.val_split is None or self.cfg is None:
            return {}
        core: EmbeddingModel = model.module if hasattr(model, "module") else model  # type: ignore[assignment]
        positive = predict_split(core, self.cfg, self.val_split.features, self.val_split.flipped)
        report = evaluate_predictions(
            self.val_split.labels, positive, self.celeba.table.names, self.cfg.method
        )
        out = {"mean_balanced_accuracy": report.mean_balanced_accuracy, "mean_accuracy": report.mean_accuracy}
        out.update({f"ba/{n}": m.balanced_accuracy for n, m in report.attributes.items()})
        return out


def predict_split(
    core: EmbeddingModel, cfg: LMLEConfig, features: np.ndarray, flipped: np.ndarray | None = None
) -> np.ndarray:
    """``(Q, A)`` bool predictions of ``(Q, D)`` features with the current head (clusters recomputed);
    ``flipped``: the mirrored images' features, averaged in (test-time flip)."""
    device = core.assign.device
    query = core.embed_all(torch.from_numpy(features).to(device)).cpu()
    if flipped is not None:
        query = F.normalize(query + core.embed_all(torch.from_numpy(flipped).to(device)).cpu(), dim=-1)
    if cfg.method == "lmle":
        layout = core.final_layout()
        return cluster_knn(query, layout.centroids, layout.centroid_label, cfg.knn_k).positive.numpy()
    feats, labels = core._on(device)
    bank = core.embed_all(feats[:, 0]).cpu()
    return sample_knn(query, bank, labels.cpu(), cfg.knn_k)[0].numpy()
