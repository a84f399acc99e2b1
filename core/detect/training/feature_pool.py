"""A fixed pool of training scenes with the frozen trunk's features computed once.

With ``freeze_trunk`` only ScaleFace's branches learn, so the trunk's output for
a scene never changes. Computing it once per scene, instead of once per step,
leaves the CPU to the branches: the pool is built before the first step and
every epoch after that reads it.

On disk (``folder``): ``level<k>.f16`` — one ``float16`` memory map per branch
input, shape ``(count, C_k, S/s_k, S/s_k)`` for scenes of ``S``² pixels;
``labels.jsonl`` — a line per scene, ``{"boxes": [[x1, y1, x2, y2], ...],
"invalid": [...]}`` in scene pixels; ``meta.json`` — the fingerprint of what
was computed (scene source, size, model trunk), the shapes and how many scenes
are done. Building is resumable: an interrupted build continues after the
last scene recorded in ``meta.json``; a different fingerprint starts over.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.atomic import write_text_atomic
from core.progress import Progress

log = logging.getLogger(__name__)

META_VERSION = 1


@dataclass(frozen=True)
class PoolInfo:
    """What a pool holds: ``count`` scenes of ``size``² pixels, per level ``(C, H, W)``."""

    fingerprint: str
    count: int
    size: int
    shapes: tuple[tuple[int, int, int], ...]


def _meta_path(folder: Path) -> Path:
    return folder / "meta.json"


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads(_meta_path(folder).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("version") == META_VERSION else None


def _maps(folder: Path, info: PoolInfo, mode: str) -> list[np.memmap]:
    return [
        np.memmap(folder / f"level{k}.f16", dtype=np.float16, mode=mode, shape=(info.count, *shape))
        for k, shape in enumerate(info.shapes)
    ]


def build_pool(
    folder: Path,
    info: PoolInfo,
    load_scene: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    features: Callable[[torch.Tensor], list[torch.Tensor]],
    *,
    batch: int = 8,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Compute (or finish) the pool; returns the number of scenes done.

    load_scene(i) → (image ``(S, S, 3)`` uint8 RGB, boxes ``(K, 4)``, invalid ``(K,)``);
    features(images ``(N, 3, S, S)`` float in [0, 1]) → one ``(N, C_k, H_k, W_k)`` map per level.
    """
    folder.mkdir(parents=True, exist_ok=True)
    meta = _read_meta(folder)
    done = 0
    if meta and meta.get("fingerprint") == info.fingerprint and meta.get("count") == info.count:
        done = int(meta.get("done", 0))
    else:
        for stale in folder.glob("level*.f16"):
            stale.unlink()
        (folder / "labels.jsonl").write_text("")
    _keep_label_lines(folder / "labels.jsonl", done)
    if done >= info.count:
        return done
    maps = _maps(folder, info, "r+" if (folder / "level0.f16").exists() else "w+")
    log.info("feature pool %s: %d of %d scenes to compute", folder, info.count - done, info.count)
    with open(folder / "labels.jsonl", "a", encoding="utf-8") as labels:
        for start in range(done, info.count, batch):
            if should_stop is not None and should_stop():
                break
            stop = min(info.count, start + batch)
            scenes = [load_scene(i) for i in range(start, stop)]
            images = torch.from_numpy(np.stack([s[0] for s in scenes])).permute(0, 3, 1, 2).float() / 255.0
            with torch.no_grad():
                levels = features(images)
            for m, level in zip(maps, levels, strict=True):
                m[start:stop] = level.to(torch.float16).numpy()
                m.flush()
            for _, boxes, invalid in scenes:
                record = {
                    "boxes": np.asarray(boxes).round(2).tolist(),
                    "invalid": np.asarray(invalid).tolist(),
                }
                labels.write(json.dumps(record) + "\n")
            labels.flush()
            done = stop
            _write_meta(folder, info, done)
            if progress is not None:
                progress(Progress(done, info.count, "computing trunk features of training scenes"))
    return done


def _keep_label_lines(path: Path, count: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    if len(lines) != count:
        path.write_text("".join(lines[:count]), encoding="utf-8")


def _write_meta(folder: Path, info: PoolInfo, done: int) -> None:
    meta = {
        "version": META_VERSION,
        "fingerprint": info.fingerprint,
        "count": info.count,
        "size": info.size,
        "shapes": [list(s) for s in info.shapes],
        "done": done,
    }
    write_text_atomic(_meta_path(folder), json.dumps(meta, indent=1))


class PooledScenes:
    """The finished scenes of a pool as an engine dataset.

    Items: ``(features [(C_k, H_k, W_k) float32], boxes (K, 4) float32, invalid (K,) bool)``.
    """

    def __init__(self, folder: Path, info: PoolInfo) -> None:
        meta = _read_meta(folder)
        if meta is None or meta.get("fingerprint") != info.fingerprint:
            raise ValueError(f"{folder} holds no feature pool for this configuration")
        self.info = info
        self.count = int(meta["done"])
        self.maps = _maps(folder, info, "r")
        lines = (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines()[: self.count]
        self.labels = [json.loads(line) for line in lines]

    def __len__(self) -> int:
        return self.count

    def sample(self, index: int, rng: np.random.Generator):
        record = self.labels[index]
        feats = [torch.from_numpy(np.asarray(m[index], dtype=np.float32)) for m in self.maps]
        boxes = torch.tensor(record["boxes"], dtype=torch.float32).reshape(-1, 4)
        invalid = torch.tensor(record["invalid"], dtype=torch.bool).reshape(-1)
        return feats, boxes, invalid

    def __getitem__(self, index: int):
        return self.sample(index, np.random.default_rng(index))


def collate_pooled(items: list, size: int) -> dict:
    """Pooled items → ``{"features": [(N, C_k, H_k, W_k)], "input_size", "image_sizes", "boxes", "invalid"}``."""
    levels = len(items[0][0])
    return {
        "features": [torch.stack([item[0][k] for item in items]) for k in range(levels)],
        "input_size": (size, size),
        "image_sizes": [(size, size)] * len(items),
        "boxes": [item[1] for item in items],
        "invalid": [item[2] for item in items],
    }


def level_shapes(
    channels: tuple[int, ...], size: int, strides: tuple[int, ...]
) -> tuple[tuple[int, int, int], ...]:
    """``(C, H, W)`` per level for ``size``² scenes (``size`` a multiple of the largest stride)."""
    return tuple(
        (c, math.ceil(size / s), math.ceil(size / s)) for c, s in zip(channels, strides, strict=True)
    )
