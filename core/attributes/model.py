"""A trained attribute model as shipped in ``resources/models`` (LMLE, or a baseline).

``AttributeModel.load("lmle_celeba")`` reads a weights container
(:mod:`core.zoo.weights`) and classifies ``(N, 3712)`` frozen features
(:mod:`core.attributes.features`) into the 40 attributes:

* ``lmle``: :class:`~core.models.lmle.LMLEHead` + per-attribute cluster
  centroids, cluster-wise kNN (:func:`core.attributes.knn.cluster_knn`);
  margins in squared-distance units;
* ``linear``: the class-weighted logistic regression; margins are logits;
* ``triplet``: the triplet baseline's head; its sample kNN needs the training
  embeddings, which are not shipped: :meth:`AttributeModel.set_bank` them
  (``bench/attributes.py`` rebuilds them from the cached training features).

A *learned* model (meta ``representation = "learned"``, the paper's LMLE
trained by the ``lmle_learned`` task) also carries face-api's last trunk
stage, fine-tuned (tensors ``stage.*``): it reads the faces' ``(N, 128, 8, 8)``
``conv128_2`` maps (:attr:`AttributeModel.needs_maps`; pass ``maps=``) and,
from the frozen feature row, only the whole-frame slice.

Container layout: tensors ``head.*`` or ``linear.*`` (state dicts),
``centroids`` ``(A, 2C, d)`` and ``centroid_label`` ``(A, 2C)`` int32 (lmle; int8 in memory);
meta ``method``, ``attributes`` (JSON list), ``feature_version``,
``hidden``, ``dim``, ``knn_k``, ``train_range`` and the validation figures.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.attributes.clustering import ClusterLayout
from core.attributes.features import FEATURE_DIM, FEATURE_VERSION
from core.attributes.knn import cluster_knn, sample_knn
from core.attributes.learned import FRAME_DIM, FRAME_SLICE
from core.models.lmle import LinearAttributeClassifier, LMLEHead
from core.models.lmle_trunk import STEM_TAP, TrunkStage
from core.zoo.weights import WeightsError, load_weights, resolve, save_weights

#: LMLE as the paper trains it (a fine-tuned trunk stage: :mod:`core.attributes.learned_export`)
DEFAULT_MODEL = "lmle_celeba"
#: LMLE's losses and kNN on a head over frozen features (:mod:`core.attributes.export`)
HEAD_MODEL = "lmle_celeba_head"
BASELINE_MODEL = "lmle_celeba_linear"
TRIPLET_MODEL = "lmle_celeba_triplet"
METHOD_MODELS = {
    "lmle": DEFAULT_MODEL,
    "lmle-head": HEAD_MODEL,
    "baseline": BASELINE_MODEL,
    "triplet": TRIPLET_MODEL,
}


@dataclass(frozen=True)
class AttributePrediction:
    """The 40 attributes of one face.

    positive: ``(A,)`` bool. margin: ``(A,)`` float32, signed (> 0 means
    present); its size says how clear the decision is (units depend on the
    method: squared embedding distance for LMLE, logit for the linear baseline).
    """

    names: tuple[str, ...]
    positive: np.ndarray
    margin: np.ndarray

    def present(self) -> list[str]:
        return [n for n, p in zip(self.names, self.positive, strict=True) if p]

    def to_json(self) -> dict[str, dict[str, float | bool]]:
        return {
            n: {"present": bool(p), "margin": round(float(m), 4)}
            for n, p, m in zip(self.names, self.positive, self.margin, strict=True)
        }


class AttributeModel:
    """Classifier of frozen features (see module docstring). Runs on the CPU: it is tiny."""

    def __init__(
        self,
        method: str,
        names: tuple[str, ...],
        *,
        head: LMLEHead | None = None,
        linear: LinearAttributeClassifier | None = None,
        layout: ClusterLayout | None = None,
        knn_k: int = 1,
        meta: dict | None = None,
        stage: TrunkStage | None = None,
    ) -> None:
        if method not in ("lmle", "triplet", "linear"):
            raise ValueError(f"unknown attribute method {method!r}")
        self.method, self.names = method, tuple(names)
        self.head = head.eval() if head is not None else None
        self.linear = linear.eval() if linear is not None else None
        self.stage = stage.eval().requires_grad_(False) if stage is not None else None
        self.layout, self.knn_k = layout, knn_k
        self.meta = dict(meta or {})
        # test-time flip: decide on the image and its mirror together (mean logit / mean embedding)
        self.tta = bool(int(self.meta.get("tta", 0)))
        self.bank: torch.Tensor | None = None
        self.bank_labels: torch.Tensor | None = None

    # ------------------------------------------------------------------ io
    @classmethod
    def load(cls, name_or_path: str | os.PathLike = DEFAULT_MODEL) -> AttributeModel:
        """Read a container; :class:`WeightsError` when missing, corrupt or not an attribute model."""
        tensors, meta = load_weights(name_or_path)
        method = str(meta.get("method", ""))
        path = resolve(name_or_path)
        if meta.get("feature_version") != FEATURE_VERSION:
            raise WeightsError(
                path, f"made for features {meta.get('feature_version')!r}, not {FEATURE_VERSION!r}"
            )
        names = tuple(json.loads(str(meta["attributes"])))
        sub = {
            prefix: {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
            for prefix in ("head", "linear", "stage")
        }
        try:
            stage = _load_stage(sub["stage"], meta)
            frame_dim = FRAME_DIM if int(meta.get("frame_features", 1)) else 0
            in_dim = FEATURE_DIM if stage is None else TrunkStage.DIM + frame_dim
            if method == "linear":
                linear = LinearAttributeClassifier(in_dim, len(names))
                linear.load_state_dict(sub["linear"])
                return cls(method, names, linear=linear, meta=meta, stage=stage)
            head = LMLEHead(
                in_dim,
                len(names),
                int(meta["hidden"]),
                int(meta["dim"]),
                linear_hidden=bool(int(meta.get("linear_hidden", 0))),
                shared=bool(int(meta.get("shared", 0))),
                batch_norm=bool(int(meta.get("embedding_bn", 0))),
            )
            head.load_state_dict(sub["head"])
            layout = None
            if method == "lmle":
                label = tensors["centroid_label"].to(torch.int8)
                layout = ClusterLayout(
                    tensors["centroids"], label, torch.zeros(0, len(names), dtype=torch.int64)
                )
            return cls(
                method, names, head=head, layout=layout, knn_k=int(meta["knn_k"]), meta=meta, stage=stage
            )
        except (KeyError, RuntimeError, ValueError) as exc:
            raise WeightsError(path, f"not a valid {method or 'attribute'} model: {exc}") from None

    def save(self, path: Path, sidecar: dict, extra_meta: dict | None = None) -> str:
        """Write this model as a weights container (float16 weights, float32 statistics)."""
        tensors: dict[str, torch.Tensor] = {}
        module = self.linear if self.method == "linear" else self.head
        prefix = "linear" if self.method == "linear" else "head"
        assert module is not None
        parts = [(prefix, module)] + ([("stage", self.stage)] if self.stage is not None else [])
        for part, part_module in parts:
            for key, value in part_module.state_dict().items():
                keep32 = "norm." in key or value.ndim <= 1
                tensors[f"{part}.{key}"] = value.detach().float() if keep32 else value.detach().half()
        meta = {
            **self.meta,
            **(extra_meta or {}),
            "method": self.method,
            "attributes": json.dumps(list(self.names)),
            "feature_version": FEATURE_VERSION,
            "knn_k": self.knn_k,
            "tta": int(self.tta),
        }
        if self.head is not None:
            meta.update(
                hidden=self.head.hidden,
                dim=self.head.dim,
                linear_hidden=int(self.head.linear_hidden),
                shared=int(self.head.shared),
                embedding_bn=int(self.head.batch_norm),
            )
        if self.stage is not None:
            meta.update(representation="learned", stage_input=STEM_TAP)
        if self.method == "lmle":
            assert self.layout is not None
            tensors["centroids"] = self.layout.centroids.float()
            tensors["centroid_label"] = self.layout.centroid_label.to(torch.int32)  # int8 on load
        return save_weights(path, tensors=tensors, meta=meta, sidecar=sidecar)

    # ----------------------------------------------------------- inference
    @property
    def needs_maps(self) -> bool:
        """A learned model: its callers pass each face's ``conv128_2`` maps (``maps=``)."""
        return self.stage is not None

    def _input(
        self, features: np.ndarray | torch.Tensor, maps: np.ndarray | torch.Tensor | None
    ) -> torch.Tensor:
        """The head's input: the frozen features, or the stage's output on the maps followed by
        the frozen whole-frame features."""
        x = torch.as_tensor(features, dtype=torch.float32)
        if self.stage is None:
            return x
        if maps is None:
            raise ValueError("this learned attribute model needs the faces' conv128 maps (maps=...)")
        m = torch.as_tensor(maps).float()
        if m.shape[0] != x.shape[0]:
            raise ValueError(f"{m.shape[0]} maps for {x.shape[0]} feature rows")
        frame = x[:, FRAME_SLICE] if int(self.meta.get("frame_features", 1)) else x[:, :0]
        return torch.cat([self.stage(m), frame], dim=1)

    @torch.no_grad()
    def embed(
        self,
        features: np.ndarray | torch.Tensor,
        flipped: np.ndarray | torch.Tensor | None = None,
        *,
        maps: np.ndarray | torch.Tensor | None = None,
        flipped_maps: np.ndarray | torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(N, D)`` features -> ``(N, A, d)`` unit-norm embeddings (lmle / triplet); with the
        mirrored images' ``flipped`` features, the normalised mean of both embeddings. A learned
        model also takes the ``(N, 128, 8, 8)`` maps of both views."""
        if self.head is None:
            raise ValueError("the linear baseline has no embedding")
        emb = self.head(self._input(features, maps))
        if flipped is not None:
            emb = F.normalize(emb + self.head(self._input(flipped, flipped_maps)), dim=-1)
        return emb

    def set_bank(self, train_features: np.ndarray, train_labels: np.ndarray) -> None:
        """Training embeddings for the triplet baseline's sample kNN."""
        self.bank = self.embed(train_features)
        self.bank_labels = torch.as_tensor(train_labels, dtype=torch.bool)

    @torch.no_grad()
    def decide(
        self,
        features: np.ndarray | torch.Tensor,
        flipped: np.ndarray | torch.Tensor | None = None,
        *,
        maps: np.ndarray | torch.Tensor | None = None,
        flipped_maps: np.ndarray | torch.Tensor | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(N, D)`` -> ``(positive (N, A) bool, margin (N, A) float32)``. ``flipped``: features of
        the mirrored images, used together with the originals (pass them when :attr:`tta`);
        ``maps`` / ``flipped_maps``: their conv128 maps (when :attr:`needs_maps`)."""
        if self.method == "linear":
            assert self.linear is not None
            logits = self.linear(self._input(features, maps))
            if flipped is not None:
                logits = (logits + self.linear(self._input(flipped, flipped_maps))) / 2
            return (logits > 0).numpy(), logits.numpy().astype(np.float32)
        emb = self.embed(features, flipped, maps=maps, flipped_maps=flipped_maps)
        if self.method == "lmle":
            assert self.layout is not None
            d = cluster_knn(emb, self.layout.centroids, self.layout.centroid_label, self.knn_k)
            return d.positive.numpy(), d.margin.numpy().astype(np.float32)
        if self.bank is None or self.bank_labels is None:
            raise ValueError("the triplet baseline needs set_bank(training features, labels) first")
        positive, frac = sample_knn(emb, self.bank, self.bank_labels, self.knn_k)
        return positive.numpy(), (frac - 0.5).numpy().astype(np.float32)

    def predict(
        self,
        features: np.ndarray,
        flipped: np.ndarray | None = None,
        *,
        maps: np.ndarray | None = None,
        flipped_maps: np.ndarray | None = None,
    ) -> list[AttributePrediction]:
        """One :class:`AttributePrediction` per row of ``(N, D)`` features (+ mirrored, see :meth:`decide`)."""
        positive, margin = self.decide(features, flipped, maps=maps, flipped_maps=flipped_maps)
        return [AttributePrediction(self.names, p, m) for p, m in zip(positive, margin, strict=True)]


def _load_stage(tensors: dict[str, torch.Tensor], meta: dict) -> TrunkStage | None:
    """The fine-tuned trunk stage of a learned model (``None`` for a head on frozen features).

    The stage's structure comes from the bundled face-api descriptor net; every one of its
    weights is then replaced by the model's own, so a missing or extra tensor is an error."""
    if meta.get("representation", "frozen") == "frozen":
        if tensors:
            raise ValueError("stage weights in a model on frozen features")
        return None
    if meta.get("representation") != "learned" or meta.get("stage_input") != STEM_TAP:
        raise ValueError(f"unknown representation {meta.get('representation')!r}")
    # lazy: the descriptor net's weights are read only for a learned model
    from core.models.face_descriptor import FaceRecognitionNet

    base, _ = load_weights("faceapi_face_recognition")
    stage = TrunkStage(FaceRecognitionNet.from_tfjs(base))
    stage.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    return stage
