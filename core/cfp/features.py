"""Stem features of CFP images, computed once and cached on disk.

Extracting a CFP image (CenterFace → face-api landmarks → face-api
descriptor) costs ~0.2–1 s on a small CPU, so every evaluation, the DREAM
training and the GUI read the per-image results from a cache instead:
``<cache_dir>/<key>/shard_NNNN.npz``, where ``key`` hashes the CFP root, the
pipeline settings and the sha256 of the three weight files (a changed model
means a new folder). Shards hold ``SHARD_SIZE`` images each and are written
atomically as extraction goes, so an interrupted extraction resumes where it
stopped. Images are addressed by their key (path relative to the CFP root).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import atomic_write
from core.detect.registry import DEFAULT_DETECTOR, FACE_PIPELINE_MIN_SCORE
from core.io.imageio import ImageLoadError, load_image
from core.paths import user_data_dir
from core.progress import Progress, drain
from core.recognize.faces import FacePipeline, FaceRecord
from core.recognize.pose import estimate_yaws
from core.recognize.yaw_cues import WEIGHTS_NAME as YAW_CUES_WEIGHTS
from core.zoo.weights import read_sidecar, resolve

log = logging.getLogger(__name__)

SHARD_SIZE = 200
CACHE_VERSION = 1
#: CFP images are loose face crops (≈150–700 px): a small working size finds them all, fast.
CFP_MAX_SIDE = 320
WEIGHTS = ("centerface", "faceapi_face_landmark_68", "faceapi_face_recognition")


@dataclass
class FeatureTable:
    """Per-image stem outputs, row ``i`` for ``keys[i]``.

    boxes ``(N, 4)`` x1 y1 x2 y2 float64; scores ``(N,)``; detected ``(N,)`` bool
    (False = whole image used); points5 ``(N, 5, 2)`` (NaN when absent);
    landmarks68 ``(N, 68, 2)``; embeddings ``(N, 128)`` float32 raw descriptors;
    image_sizes ``(N, 2)`` (width, height); yaw / yaw_confidence ``(N,)``: the
    fused pose estimate (:mod:`core.recognize.pose`), filled by :func:`attach_yaw`.
    """

    keys: list[str]
    boxes: np.ndarray
    scores: np.ndarray
    detected: np.ndarray
    points5: np.ndarray
    landmarks68: np.ndarray
    embeddings: np.ndarray
    image_sizes: np.ndarray
    yaw: np.ndarray | None = None
    yaw_confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._index = {k: i for i, k in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, keys: Iterable[str]) -> np.ndarray:
        """Row indices of ``keys`` (``KeyError`` names a missing one)."""
        try:
            return np.array([self._index[k] for k in keys], dtype=np.int64)
        except KeyError as exc:
            raise KeyError(f"image {exc.args[0]!r} is not in the feature table") from None

    def record(self, i: int) -> FaceRecord:
        return FaceRecord(
            tuple(float(v) for v in self.boxes[i]),
            float(self.scores[i]),
            self.points5[i],
            self.landmarks68[i],
            self.embeddings[i],
            bool(self.detected[i]),
        )

    def subset(self, keys: Iterable[str]) -> FeatureTable:
        idx = self.rows(keys)
        return FeatureTable(
            [self.keys[i] for i in idx],
            self.boxes[idx],
            self.scores[idx],
            self.detected[idx],
            self.points5[idx],
            self.landmarks68[idx],
            self.embeddings[idx],
            self.image_sizes[idx],
            None if self.yaw is None else self.yaw[idx],
            None if self.yaw_confidence is None else self.yaw_confidence[idx],
        )

    @staticmethod
    def concat(tables: list[FeatureTable]) -> FeatureTable:
        if not tables:
            return FeatureTable([], *_empty_arrays())
        return FeatureTable(
            [k for t in tables for k in t.keys],
            *(
                np.concatenate([getattr(t, name) for t in tables])
                for name in (
                    "boxes",
                    "scores",
                    "detected",
                    "points5",
                    "landmarks68",
                    "embeddings",
                    "image_sizes",
                )
            ),
        )


def _empty_arrays() -> tuple[np.ndarray, ...]:
    return (
        np.zeros((0, 4)),
        np.zeros(0),
        np.zeros(0, bool),
        np.zeros((0, 5, 2)),
        np.zeros((0, 68, 2)),
        np.zeros((0, 128), np.float32),
        np.zeros((0, 2), np.int64),
    )


def default_cache_dir() -> Path:
    return user_data_dir() / "cache" / "cfp"


def cache_key(root: Path, max_side: int = CFP_MAX_SIDE, min_score: float = FACE_PIPELINE_MIN_SCORE) -> str:
    """Hash of what determines the features: root, pipeline settings, weight files."""
    weights = {name: read_sidecar(resolve(name)).get("sha256", "?") for name in WEIGHTS}
    blob = json.dumps(
        {
            "version": CACHE_VERSION,
            "root": str(Path(root).resolve()),
            "detector": DEFAULT_DETECTOR,  # the stem's detector (FacePipeline's default)
            "max_side": max_side,
            "min_score": min_score,
            "weights": weights,
        },
        sort_keys=True,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _write_shard(folder: Path, table: FeatureTable) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("shard_*.npz"))
    number = 1 + max((int(p.stem.split("_")[1]) for p in existing), default=-1)
    path = folder / f"shard_{number:04d}.npz"
    with atomic_write(path, fsync=False) as handle:  # a cache: rebuilt if lost
        np.savez(
            handle,
            keys=np.array(table.keys),
            boxes=table.boxes,
            scores=table.scores,
            detected=table.detected,
            points5=table.points5,
            landmarks68=table.landmarks68,
            embeddings=table.embeddings,
            image_sizes=table.image_sizes,
        )
    return path


def load_cached(folder: Path) -> FeatureTable:
    """Every shard of a cache folder as one table (later shards win on duplicate keys)."""
    tables = []
    for path in sorted(Path(folder).glob("shard_*.npz")):
        try:
            with np.load(path, allow_pickle=False) as z:
                tables.append(
                    FeatureTable(
                        [str(k) for k in z["keys"]],
                        z["boxes"],
                        z["scores"],
                        z["detected"],
                        z["points5"],
                        z["landmarks68"],
                        z["embeddings"],
                        z["image_sizes"],
                    )
                )
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable feature shard %s: %s", path, exc)
    table = FeatureTable.concat(tables)
    if len(set(table.keys)) != len(table.keys):
        last = {k: i for i, k in enumerate(table.keys)}
        table = _dedupe(table, last)
    return table


def _dedupe(table: FeatureTable, last: dict[str, int]) -> FeatureTable:
    idx = np.array(sorted(last.values()))
    return FeatureTable(
        [table.keys[i] for i in idx],
        table.boxes[idx],
        table.scores[idx],
        table.detected[idx],
        table.points5[idx],
        table.landmarks68[idx],
        table.embeddings[idx],
        table.image_sizes[idx],
    )


def _records_table(keys: list[str], records: list[FaceRecord], sizes: list[tuple[int, int]]) -> FeatureTable:
    return FeatureTable(
        list(keys),
        np.array([r.box for r in records], dtype=np.float64).reshape(-1, 4),
        np.array([r.score for r in records], dtype=np.float64),
        np.array([r.detected for r in records], dtype=bool),
        np.array([r.points5 for r in records], dtype=np.float64).reshape(-1, 5, 2),
        np.array([r.landmarks68 for r in records], dtype=np.float64).reshape(-1, 68, 2),
        np.array([r.embedding for r in records], dtype=np.float32).reshape(-1, 128),
        np.array(sizes, dtype=np.int64).reshape(-1, 2),
    )


def extract_features(
    root: str | Path,
    keys: list[str],
    cache_dir: str | Path | None = None,
    pipeline: FacePipeline | None = None,
    token=None,
) -> Generator[Progress, None, FeatureTable]:
    """Generator: yields :class:`Progress`, returns the :class:`FeatureTable` of ``keys`` (in order).

    Cached images are not recomputed; new ones are appended to the cache
    every :data:`SHARD_SIZE` images. An unreadable image is an error naming
    it. ``token`` (a cancel flag with ``.cancelled``) stops after the current
    image, keeping what was computed.
    """
    root = Path(root)
    folder = Path(cache_dir or default_cache_dir()) / cache_key(root)
    cached = load_cached(folder)
    have = set(cached.keys)
    todo = [k for k in dict.fromkeys(keys) if k not in have]
    total, done = len(keys), len(keys) - len(todo)
    log.info("CFP features: %d cached, %d to extract into %s", done, len(todo), folder)
    yield Progress(done, total)
    # the cache holds face-api's descriptor; other stems embed from its points (core.cfp.stem_features)
    pipeline = pipeline or FacePipeline(max_side=CFP_MAX_SIDE, stem="faceapi")
    pending_keys: list[str] = []
    pending: list[FaceRecord] = []
    sizes: list[tuple[int, int]] = []
    new_tables: list[FeatureTable] = []
    try:
        for key in todo:
            if token is not None and getattr(token, "cancelled", False):
                break
            try:
                image = load_image(root / key)
            except ImageLoadError as exc:
                raise ImageLoadError(f"CFP image {key}: {exc}") from exc
            record = pipeline.records(image, max_faces=1, whole_image_fallback=True)[0]
            pending_keys.append(key)
            pending.append(record)
            sizes.append((image.shape[1], image.shape[0]))
            done += 1
            if len(pending) >= SHARD_SIZE:
                table = _records_table(pending_keys, pending, sizes)
                _write_shard(folder, table)
                new_tables.append(table)
                pending_keys, pending, sizes = [], [], []
            yield Progress(done, total)
    finally:
        if pending:
            table = _records_table(pending_keys, pending, sizes)
            _write_shard(folder, table)
            new_tables.append(table)
    full = FeatureTable.concat([cached, *new_tables])
    have = set(full.keys)
    table = full.subset([k for k in keys if k in have])
    return attach_yaw(table, folder)


def yaw_file() -> str:
    """The yaw memo's name: it depends on the shipped yaw cue model, so a new model means a new file."""
    digest = str(read_sidecar(resolve(YAW_CUES_WEIGHTS)).get("sha256", "none"))[:12]
    return f"yaw_v2_{digest}.npz"


def attach_yaw(table: FeatureTable, folder: Path | None = None) -> FeatureTable:
    """Fill ``table.yaw`` / ``yaw_confidence`` (:func:`~core.recognize.pose.estimate_yaw`, ~2 ms a face),
    memoised in ``folder/`` :func:`yaw_file`."""
    known: dict[str, tuple[float, float]] = {}
    path = Path(folder) / yaw_file() if folder is not None else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                known = {
                    str(k): (float(y), float(c))
                    for k, y, c in zip(z["keys"], z["yaw"], z["confidence"], strict=True)
                }
        except (OSError, ValueError, KeyError) as exc:
            log.warning("recomputing yaw: unreadable %s (%s)", path, exc)
    missing = [i for i, k in enumerate(table.keys) if k not in known]
    if missing:
        idx = np.array(missing)
        yaw, conf = estimate_yaws(table.landmarks68[idx], table.points5[idx])
        for i, y, c in zip(missing, yaw, conf, strict=True):
            known[table.keys[i]] = (float(y), float(c))
        if path is not None:
            keys = sorted(known)
            with atomic_write(path, fsync=False) as handle:  # a cache: rebuilt if lost
                np.savez(
                    handle,
                    keys=np.array(keys),
                    yaw=np.array([known[k][0] for k in keys]),
                    confidence=np.array([known[k][1] for k in keys]),
                )
    table.yaw = np.array([known[k][0] for k in table.keys], dtype=np.float64)
    table.yaw_confidence = np.array([known[k][1] for k in table.keys], dtype=np.float64)
    return table


def load_features(
    root: str | Path,
    keys: list[str],
    cache_dir: str | Path | None = None,
    pipeline: FacePipeline | None = None,
) -> FeatureTable:
    """:func:`extract_features` run to the end (for the CLI and benchmarks)."""
    return drain(extract_features(root, keys, cache_dir, pipeline))
