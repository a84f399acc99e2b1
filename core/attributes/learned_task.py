"""Training task ``lmle_learned``: LMLE as the paper trains it, on a fine-tuned trunk stage.

``python main.py train lmle_learned --celeba-root DIR --train-range 1-7000 --val-range 7001-8000 --out RUN``

What differs from the head-only ``lmle`` task (docs/adr/0011-lmle.md):

* the representation is learned: face-api's last trunk stage is fine-tuned on
  cached ``conv128_2`` maps (:mod:`core.attributes.learned`);
* quintuplets are mined from a memory bank of every training face's
  embedding (:mod:`core.attributes.bank`), refreshed with the clusters every
  ``refresh_every`` steps; the loss back-propagates through the batch only;
* k-means clusters of about ``cluster_size`` faces per class (tens per class);
* batches are faces drawn attribute-class balanced (:class:`BalancedFaces`),
  and each attribute's loss gives each class half its weight;
* ``method = "linear"`` trains the class-weighted baseline on exactly the same
  stage, batches and steps.

The bank is rebuilt, not checkpointed: a resumed run refreshes it at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.attributes.bank import MemoryBank, balanced_bank_loss, mine_all_attributes
from core.attributes.baselines import weighted_bce
from core.attributes.celeba import CelebA
from core.attributes.clustering import ClusterLayout, cluster_attributes
from core.attributes.conv_cache import ConvMapCache
from core.attributes.features import FLIP_SUFFIX, FeatureCache
from core.attributes.knn import cluster_knn
from core.attributes.learned import FRAME_DIM, FRAME_SLICE, LearnedAttributeNet
from core.attributes.loss import Margins
from core.attributes.metrics import evaluate_predictions
from core.models.face_descriptor import FaceRecognitionNet
from core.zoo.weights import load_weights

log = logging.getLogger(__name__)


@dataclass
class LearnedConfig:
    """Options of the ``lmle_learned`` task (TOML ``[task]``; ``--set task.NAME=VALUE``).

    method: ``"lmle"`` or ``"linear"`` (the class-weighted baseline, same stage).
    shared: one embedding for all attributes (the paper) or one per attribute.
    dim: embedding size. stage_ratio: the stage's step relative to the head's.
    cluster_size: faces per k-means cluster (a class of n faces gets
        ``n // cluster_size`` clusters, at most ``max_clusters``).
    refresh_every: steps between refreshes of the memory bank and the clusters.
    knn_k: centroids the cluster-wise kNN looks at (validation).
    embedding_bn: batch-normalise the embedding before its unit normalisation (without it the
        embedding collapses to a point: docs/adr/0011-lmle.md).
    mining: ``"bank"`` (quintuplets from every training face, the paper) or ``"batch"``
        (from the batch's own faces only: the ablation of the bank).
    frame: also feed the frozen whole-frame features (needs them in the feature cache).
    """

    celeba_root: str = ""
    train_range: str = "1-7000"
    val_range: str = "7001-8000"
    method: str = "lmle"
    shared: bool = True
    dim: int = 64
    stage_ratio: float = 0.1
    cluster_size: int = 50
    max_clusters: int = 256
    kmeans_iters: int = 10
    refresh_every: int = 200
    knn_k: int = 10
    mining: str = "bank"
    embedding_bn: bool = True
    g1: float = 0.05
    g2: float = 0.1
    g3: float = 0.2
    flip: bool = True
    tta: bool = True
    frame: bool = True
    feature_cache: str = ""
    conv_cache: str = ""

    def __post_init__(self) -> None:
        if self.method not in ("lmle", "linear"):
            raise ValueError(f"method must be lmle or linear, got {self.method!r}")
        if self.mining not in ("bank", "batch"):
            raise ValueError(f"mining must be bank or batch, got {self.mining!r}")
        if self.dim < 2 or self.cluster_size < 1 or self.max_clusters < 1 or self.refresh_every < 1:
            raise ValueError("dim >= 2, cluster_size >= 1, max_clusters >= 1, refresh_every >= 1")


@dataclass
class LearnedSplit:
    """One split's inputs: ``maps`` ``(N, V, 128, h, w)`` float16, ``frame`` ``(N, V, 1536)``
    float32 (view 0 the original, view 1 the mirror when loaded), ``labels`` ``(N, A)`` bool."""

    names: tuple[str, ...]
    maps: torch.Tensor
    frame: torch.Tensor
    labels: np.ndarray


def load_learned_split(
    dataset: CelebA,
    id_range: str,
    flipped: bool,
    conv_cache: str = "",
    feature_cache: str = "",
    frame: bool = True,
) -> LearnedSplit:
    """A split's cached inputs; ``frame = False``: an empty ``(N, V, 0)`` frame input."""
    table = dataset.select(id_range)
    if len(table) == 0:
        raise ValueError(f"{dataset.root}: no images in range {id_range}")
    views = [list(table.images)] + ([[n + FLIP_SUFFIX for n in table.images]] if flipped else [])
    maps_cache = ConvMapCache(dataset.images_dir, conv_cache or None)
    maps = torch.stack([torch.from_numpy(maps_cache.get(v)) for v in views], dim=1)
    if frame:
        feats_cache = FeatureCache(dataset.images_dir, feature_cache or None)
        frames = torch.stack([torch.from_numpy(feats_cache.get(v)[:, FRAME_SLICE]) for v in views], dim=1)
    else:
        frames = torch.zeros(len(table), len(views), 0)
    return LearnedSplit(table.images, maps, frames, table.labels)


class BalancedFaces:
    """Item -> ``(face, view)``: a random attribute, a random class of it, a random face of that
    class, and a random view; so every attribute's minority class appears in most batches."""

    def __init__(self, labels: np.ndarray, views: int) -> None:
        self.labels = np.asarray(labels, dtype=bool)
        self.views = views
        self.members = [
            [np.flatnonzero(~self.labels[:, a]), np.flatnonzero(self.labels[:, a])]
            for a in range(self.labels.shape[1])
        ]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def sample(self, index: int, rng: np.random.Generator) -> np.ndarray:
        attribute = int(rng.integers(self.labels.shape[1]))
        classes = [m for m in self.members[attribute] if len(m)]
        faces = classes[int(rng.integers(len(classes)))]
        return np.array([faces[rng.integers(len(faces))], rng.integers(self.views)], dtype=np.int64)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.sample(index, np.random.default_rng(index))


class LearnedLMLE(nn.Module):
    """The net plus LMLE's training-set state: cluster buffers (checkpointed) and the bank."""

    def __init__(self, net: LearnedAttributeNet, cfg: LearnedConfig, num_train: int) -> None:
        super().__init__()
        self.net, self.cfg = net, cfg
        a, slots = 40, 2 * cfg.max_clusters
        self.register_buffer("assign", torch.zeros(num_train, a, dtype=torch.int64))
        self.register_buffer("centroids", torch.zeros(a, slots, cfg.dim))
        self.register_buffer("centroid_label", torch.full((a, slots), -1, dtype=torch.int8))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.int64))
        self.bank = MemoryBank(torch.zeros(0))
        self.split: LearnedSplit | None = None

    def forward(self, maps: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        return self.net(maps, frame)

    def cluster(self, embeddings: torch.Tensor, seed: int) -> ClusterLayout:
        assert self.split is not None
        return cluster_attributes(
            embeddings,
            torch.from_numpy(self.split.labels),
            max_clusters=self.cfg.max_clusters,
            min_size=self.cfg.cluster_size,
            iters=self.cfg.kmeans_iters,
            generator=torch.Generator().manual_seed(seed),
        )

    def train_embeddings(self) -> torch.Tensor:
        """``(N, A, d)`` current embeddings of the training originals (eval mode)."""
        assert self.split is not None
        return self.net.infer(self.split.maps[:, 0], self.split.frame[:, 0])

    @torch.no_grad()
    def refresh(self) -> None:
        """Memory bank and clusters from the current embedding (seeded by the step)."""
        step = int(self.steps_done)
        self.bank.refresh(self.train_embeddings(), step)
        layout = self.cluster(self.bank.embeddings, 1_000_003 + step)
        self.assign.copy_(layout.assign)
        self.centroids.copy_(layout.centroids)
        self.centroid_label.copy_(layout.centroid_label)
        log.debug("bank and clusters refreshed at step %d", step)


def lmle_bank_loss(
    emb: torch.Tensor, faces: torch.Tensor, core: LearnedLMLE, labels: torch.Tensor, margins: Margins
) -> torch.Tensor:
    """Class-balanced quintuplet loss of ``(B, A, d)`` live anchors, mean over attributes: members
    mined from the memory bank, or (``mining = "batch"``) from the batch's own detached embeddings
    (the clusters still come from the whole training set)."""
    if core.cfg.mining == "batch":
        rows = torch.arange(len(faces))
        own = emb.detach()
        q = mine_all_attributes(emb, rows, own, labels[faces], core.assign[faces], shared=core.cfg.shared)
        return balanced_bank_loss(emb, q, own, labels[faces], margins)
    bank = core.bank.embeddings
    q = mine_all_attributes(emb, faces, bank, labels, core.assign, shared=core.cfg.shared)
    return balanced_bank_loss(emb, q, bank, labels[faces], margins)


class LearnedTask:
    """The engine contract for the learned LMLE and its same-capacity linear baseline."""

    name = "lmle_learned"
    config_cls = LearnedConfig
    train_defaults = {
        "max_steps": 1200,
        "batch_size": 64,
        "lr": 1e-3,
        "optimizer": "adamw",
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "grad_clip": 0.0,
        "checkpoint_every": 200,
        "log_every": 50,
        "eval_every": 0,
        "amp": False,
    }

    def __init__(self) -> None:
        self.cfg: LearnedConfig | None = None
        self.model: LearnedLMLE | None = None
        self.celeba: CelebA | None = None
        self.train_split: LearnedSplit | None = None
        self.val_split: LearnedSplit | None = None

    def _open(self, cfg: LearnedConfig, data_dir: Path | None = None) -> None:
        root = cfg.celeba_root or (str(data_dir) if data_dir is not None else "")
        if not root:
            raise ValueError("the lmle_learned task needs --celeba-root DIR (or task.celeba_root)")
        if self.celeba is None or str(self.celeba.root) != root:
            self.celeba = CelebA.open(root)
            self.train_split = load_learned_split(
                self.celeba, cfg.train_range, cfg.flip, cfg.conv_cache, cfg.feature_cache, cfg.frame
            )
            self.val_split = (
                load_learned_split(
                    self.celeba, cfg.val_range, cfg.tta, cfg.conv_cache, cfg.feature_cache, cfg.frame
                )
                if cfg.val_range
                else None
            )

    def build_model(self, cfg: LearnedConfig) -> nn.Module:
        self.cfg = cfg
        self._open(cfg)
        assert self.train_split is not None
        tensors, _ = load_weights("faceapi_face_recognition")
        net = LearnedAttributeNet(
            FaceRecognitionNet.from_tfjs(tensors),
            cfg.method,
            40,
            cfg.dim,
            cfg.shared,
            cfg.stage_ratio,
            FRAME_DIM if cfg.frame else 0,
            cfg.embedding_bn,
        )
        split = self.train_split
        net.fit_norm(split.maps[:, 0], split.frame[:, 0])  # deterministic; restored anyway on resume
        self.model = LearnedLMLE(net, cfg, len(split.names))
        self.model.split = split
        return self.model

    def build_dataset(self, cfg: LearnedConfig, data_dir: Path | None) -> BalancedFaces:
        self._open(cfg, data_dir)
        assert self.train_split is not None
        return BalancedFaces(self.train_split.labels, self.train_split.maps.shape[1])

    def collate(self, items: list) -> torch.Tensor:
        return torch.from_numpy(np.stack(items))

    def compute_losses(
        self, model: nn.Module, batch: torch.Tensor, device: torch.device
    ) -> dict[str, torch.Tensor]:
        core: LearnedLMLE = model.module if hasattr(model, "module") else model  # type: ignore[assignment]
        cfg, split = self.cfg, self.train_split
        assert cfg is not None and split is not None
        faces, views = batch[:, 0], batch[:, 1]
        labels = torch.from_numpy(split.labels)
        maps, frame = split.maps[faces, views].to(device), split.frame[faces, views].to(device)
        if cfg.method == "linear":
            return {"class_weighted": weighted_bce(model(maps, frame), labels[faces].to(device))}
        if int(core.steps_done) % cfg.refresh_every == 0 or core.bank.step < 0:
            core.refresh()
        core.steps_done += 1
        emb = model(maps, frame)
        margins = Margins(cfg.g1, cfg.g2, cfg.g3)
        return {"quintuplet": lmle_bank_loss(emb, faces, core, labels, margins)}

    def evaluate(self, model: nn.Module, step: int) -> dict[str, float]:
        if self.val_split is None or self.cfg is None or self.celeba is None:
            return {}
        core: LearnedLMLE = model.module if hasattr(model, "module") else model  # type: ignore[assignment]
        positive, _ = decide_split(core, self.val_split, self.cfg.knn_k)
        report = evaluate_predictions(
            self.val_split.labels, positive, self.celeba.table.names, self.cfg.method
        )
        return {
            "mean_balanced_accuracy": report.mean_balanced_accuracy,
            "mean_accuracy": report.mean_accuracy,
        }


def query_outputs(core: LearnedLMLE, split: LearnedSplit) -> torch.Tensor:
    """Embeddings (unit mean of image and mirror) or logits (mean) of a split's faces."""
    out = core.net.infer(split.maps[:, 0], split.frame[:, 0])
    if split.maps.shape[1] > 1:  # test-time flip
        mirrored = core.net.infer(split.maps[:, 1], split.frame[:, 1])
        out = F.normalize(out + mirrored, dim=-1) if core.net.method == "lmle" else (out + mirrored) / 2
    return out


def decide_split(
    core: LearnedLMLE, split: LearnedSplit, k: int, layout: ClusterLayout | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(positive (Q, A), score (Q, A))`` of a split: the cluster-wise kNN (clusters of the final
    training embeddings unless given) or the logits."""
    out = query_outputs(core, split)
    if core.net.method == "linear":
        return (out > 0).numpy(), out.numpy()
    layout = layout or core.cluster(core.train_embeddings(), 999_983)
    d = cluster_knn(out, layout.centroids, layout.centroid_label, k)
    return d.positive.numpy(), d.margin.numpy()
