"""CFP embeddings of a stem other than face-api's, cached on disk beside the feature cache.

The feature cache (:mod:`core.cfp.features`) holds each image's detector box,
5 points, 68 landmarks and face-api descriptor. A 5-point aligned stem
(``faceres``) needs only the image and its points, so its embeddings are a
second cache: ``<cache_dir>/stems/<key>.npz``, where ``key`` hashes the CFP
root, the stem's weights file and its alignment settings (a changed model or
setting means a new file). :func:`with_stem` returns the feature table with
its ``embeddings`` replaced, so every evaluation and DREAM reads it unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Generator
from pathlib import Path

import numpy as np

from core.atomic import atomic_write
from core.cfp.features import FeatureTable, default_cache_dir
from core.io.imageio import ImageLoadError, load_image
from core.progress import Progress, drain
from core.recognize.faceres_embedder import FaceResEmbedder, alignment_points, views_name
from core.recognize.stems import stem_spec
from core.zoo.weights import read_sidecar, resolve

log = logging.getLogger(__name__)

#: images embedded between two writes of the cache file (an interrupted run resumes there)
SAVE_EVERY = 400
BATCH = 16


def stem_cache_path(root: Path, embedder: FaceResEmbedder, point_source: str, cache_dir: Path) -> Path:
    weights = embedder.weights_file
    settings = {
        "root": str(Path(root).resolve()),
        "weights": read_sidecar(resolve(weights)).get("sha256", weights),
        "preprocessing": embedder.preprocessing,
        "points": point_source,
    }
    views = embedder.views
    if len(views) == 1 and not views[0].mirrored:
        settings["looseness"] = views[0].looseness  # the key of single-chip caches made before views
    else:
        settings["views"] = views_name(views)
    blob = json.dumps(settings, sort_keys=True)
    return Path(cache_dir) / "stems" / f"{hashlib.sha1(blob.encode()).hexdigest()[:16]}.npz"


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            return {str(k): row for k, row in zip(z["keys"], z["embeddings"], strict=True)}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("recomputing stem embeddings: unreadable %s (%s)", path, exc)
        return {}


def _write(path: Path, known: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(known)
    with atomic_write(path, fsync=False) as handle:  # a cache: rebuilt if lost
        np.savez(handle, keys=np.array(keys), embeddings=np.stack([known[k] for k in keys]))


def stem_embeddings(
    root: str | Path,
    table: FeatureTable,
    embedder: FaceResEmbedder,
    point_source: str = "detector",
    cache_dir: str | Path | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """Generator: yields :class:`Progress`, returns ``(N, dim)`` float32 embeddings of ``table``'s rows."""
    root = Path(root)
    path = stem_cache_path(root, embedder, point_source, Path(cache_dir or default_cache_dir()))
    known = _read(path)
    todo = [i for i, k in enumerate(table.keys) if k not in known]
    log.info("stem embeddings: %d cached, %d to compute into %s", len(table) - len(todo), len(todo), path)
    done = len(table) - len(todo)
    yield Progress(done, len(table))
    unsaved = 0
    for start in range(0, len(todo), BATCH):
        rows = todo[start : start + BATCH]
        stacks = []
        for i in rows:
            try:
                image = load_image(root / table.keys[i])
            except ImageLoadError as exc:
                raise ImageLoadError(f"CFP image {table.keys[i]}: {exc}") from exc
            points = alignment_points(table.points5[i], table.landmarks68[i], point_source)
            stacks.append(embedder.view_chips(image, points[None])[0])
        for i, row in zip(rows, embedder.embed_views(np.stack(stacks)), strict=True):
            known[table.keys[i]] = row
        done, unsaved = done + len(rows), unsaved + len(rows)
        if unsaved >= SAVE_EVERY:
            _write(path, known)
            unsaved = 0
        yield Progress(done, len(table))
    if unsaved:
        _write(path, known)
    return np.stack([known[k] for k in table.keys]).astype(np.float32)


def with_stem(
    root: str | Path,
    table: FeatureTable,
    stem: str,
    cache_dir: str | Path | None = None,
    embedder: FaceResEmbedder | None = None,
    point_source: str = "detector",
) -> FeatureTable:
    """``table`` with the embeddings of ``stem`` (face-api's are the table's own)."""
    if stem_spec(stem).name == "faceapi":
        return table
    embedder = embedder or FaceResEmbedder()
    emb = drain(stem_embeddings(root, table, embedder, point_source, cache_dir))
    return dataclasses.replace(table, embeddings=emb)
