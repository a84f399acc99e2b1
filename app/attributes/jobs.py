"""Worker jobs of the Attributes panel (plain functions: no widgets, results are plain data)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.detectors import DetectorCache
from app.worker import CancelToken, JobCancelled
from core.attributes.celeba import CelebA
from core.keyed_cache import KeyedCache
from core.progress import Progress, relabelled

if TYPE_CHECKING:  # the engine modules import torch: loaded in the jobs, not at window start-up
    from core.attributes.conv_cache import ConvMapCache
    from core.attributes.features import FeatureCache
    from core.attributes.recognizer import AttributeRecognizer, FaceAttributes


class ModelCache:
    """Attribute models and their recognizers, loaded once in a worker and reused (name or .pt path)."""

    def __init__(self) -> None:
        self._recognizers: KeyedCache[str, AttributeRecognizer] = KeyedCache()

    def recognizer(self, model: str) -> AttributeRecognizer:
        def build() -> AttributeRecognizer:
            # lazy: the engine (torch) loads in the first job, not at start-up
            from core.attributes.model import AttributeModel
            from core.attributes.recognizer import AttributeRecognizer

            return AttributeRecognizer(AttributeModel.load(model))

        return self._recognizers.get(model, build)

    def clear(self) -> None:
        """Forget every loaded model (a job still running keeps its own until it ends)."""
        self._recognizers.clear()


def analyze_job(
    models: ModelCache, detectors: DetectorCache, model: str, detector: str, image: np.ndarray
) -> list[FaceAttributes]:
    """Detect the faces of ``image`` and predict their attributes."""
    recognizer = models.recognizer(model)
    faces = detectors.get(detector).detect(image).faces
    return recognizer.analyze_faces(image, list(faces))


@dataclass(frozen=True)
class EmbeddingData:
    """A labelled face set embedded by one model.

    paths: N image files; labels ``(N, A)`` bool; embeddings ``(N, A, d)``
    float32; centroids ``(A, C, d)`` and centroid_label ``(A, C)`` (LMLE's
    clusters; label -1 = unused slot); names: the A attributes.
    """

    paths: list[Path]
    labels: np.ndarray
    embeddings: np.ndarray
    centroids: np.ndarray
    centroid_label: np.ndarray
    names: tuple[str, ...]
    source: str


def _cached(cache: FeatureCache | ConvMapCache, names: list[str], what: str, token: CancelToken | None):
    """Sub-generator: cached rows of ``names`` with progress and an ETA; raises JobCancelled when asked."""
    started = time.monotonic()

    def describe(progress: Progress) -> str:
        if token is not None and token.cancelled:
            raise JobCancelled()
        text = f"{what} {progress.done:,}/{progress.total:,}"
        if progress.total and 0 < progress.done < progress.total:
            left_s = (time.monotonic() - started) / progress.done * (progress.total - progress.done)
            text += f" · ETA {_duration(left_s)}"
        return text + " (cached for next time)"

    return (yield from relabelled(cache.iter_get(names), describe))


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def feature_views(
    cache: FeatureCache | ConvMapCache,
    names: list[str],
    mirrored: bool,
    token: CancelToken | None = None,
    what: str = "features",
):
    """Sub-generator: ``(rows, mirrored rows or None)`` of ``names`` in one pass, from the feature
    cache or the conv-map cache (``what`` names the rows in the progress messages).

    Each image and its mirror are asked for side by side, so they land in the same
    extraction batch (one decode per image) and one progress bar covers the job.
    """
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.attributes.features import FLIP_SUFFIX

    if not mirrored:
        return (yield from _cached(cache, names, what, token)), None
    views = [view for name in names for view in (name, name + FLIP_SUFFIX)]
    both = yield from _cached(cache, views, f"{what} of each image and its mirror", token)
    return both[0::2], both[1::2]


def embedding_job(
    models: ModelCache,
    model: str,
    celeba_root: Path,
    id_range: str | None,
    cache_dir: str | None = None,
    token: CancelToken | None = None,
):
    """Generator job: CelebA rows -> cached features (and a learned model's conv128 maps; progress)
    -> embeddings. Returns :class:`EmbeddingData`."""
    yield Progress(message="reading the attribute file")
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.attributes.features import FeatureCache

    dataset = CelebA.open(celeba_root)
    table = dataset.select(id_range or None)
    if len(table) == 0:
        raise ValueError(f"no images in {id_range!r}")
    attr_model = models.recognizer(model).model
    if attr_model.head is None or attr_model.layout is None:
        raise ValueError("the embedding view needs an LMLE model (the linear baseline has no embedding)")
    cache = FeatureCache(dataset.images_dir, cache_dir)
    names = list(table.images)
    # the model decides on the image and its mirror (tta): plot what it decides on
    feats, flipped = yield from feature_views(cache, names, bool(attr_model.tta), token)
    maps = flipped_maps = None
    if attr_model.needs_maps:
        # lazy: the engine (torch) loads in the first job, not at start-up
        from core.attributes.conv_cache import ConvMapCache

        conv = ConvMapCache(dataset.images_dir)
        maps, flipped_maps = yield from feature_views(
            conv, names, bool(attr_model.tta), token, what="conv128 maps"
        )
    yield Progress(message="embedding")
    emb = attr_model.embed(feats, flipped, maps=maps, flipped_maps=flipped_maps).numpy()
    layout = attr_model.layout
    return EmbeddingData(
        paths=[dataset.images_dir / n for n in table.images],
        labels=table.labels,
        embeddings=emb,
        centroids=layout.centroids.numpy(),
        centroid_label=layout.centroid_label.numpy(),
        names=attr_model.names,
        source=f"{dataset.root.name} {id_range or 'all'} ({len(table)} faces)",
    )
