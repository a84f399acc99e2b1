"""The composite training set of a ScaleFace run: scenes, and their cached trunk features.

:func:`composite_training_set` turns a ``[task.data]`` table with ``source =
"composite"`` into the engine's dataset: the :class:`~core.detect.training.scenes.SceneMix`
itself (images, augmented on the fly), or — with ``cache_features`` and a frozen
trunk — a :class:`~core.detect.training.feature_pool.PooledScenes` over the pool
the model's own :meth:`~core.models.scaleface.model.ScaleFace.features` filled.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from core.detect.centerface import CenterFaceDetector
from core.detect.training.data import DetectionTrainSet, WiderSource
from core.detect.training.feature_pool import PooledScenes, PoolInfo, build_pool, level_shapes
from core.detect.training.photo_index import centerface_teacher
from core.detect.training.scenes import build_scene_mix, cache_root
from core.errors import UserError
from core.models.centerface import NECK_CHANNELS
from core.models.scaleface.model import ScaleFace
from core.progress import Progress
from core.train.config import to_plain

log = logging.getLogger(__name__)

POOL_VERSION = 1
# what the teacher's photo scans and the pools depend on beyond the data table
_MODEL_KEYS = ("backbone", "width_mult", "init_from_centerface", "input_norm", "fusion")


def _teacher(thorough: bool):
    return centerface_teacher(CenterFaceDetector(device="cpu", min_score=0.2), thorough=thorough)


def _log_progress(progress: Progress) -> None:
    if progress.done == progress.total or progress.done % 200 == 0:
        log.info("%s: %d/%d", progress.message, progress.done, progress.total)


def pool_fingerprint(data_cfg, model: ScaleFace, **model_overrides) -> str:
    model_part = {k: model_overrides.get(k, getattr(model.cfg, k)) for k in _MODEL_KEYS}
    data_part = {k: v for k, v in to_plain(data_cfg).items() if k not in ("cache_features", "cache_dir")}
    text = json.dumps({"v": POOL_VERSION, "model": model_part, "data": data_part}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def composite_training_set(data_cfg, data_dir: Path | None, model: ScaleFace, seed: int, should_stop=None):
    """``(dataset, cached)`` for ``data_cfg`` (see the module docstring)."""
    wider = WiderSource(data_dir, data_cfg.split, data_cfg.part) if data_dir is not None else None
    if wider is not None:
        log.info("WIDER training images: %d (%s, part %s)", len(wider), wider.location.labels, data_cfg.part)
    cache = cache_root(data_cfg.cache_dir)
    mix = build_scene_mix(
        photo_roots=data_cfg.photos,
        background_roots=data_cfg.backgrounds,
        wider=wider,
        teacher_factory=_teacher,
        cache_dir=cache,
        count=data_cfg.scenes,
        size=data_cfg.crop_size,
        wider_share=data_cfg.wider_share,
        wider_scale=(data_cfg.min_scale, data_cfg.max_scale),
        photo_limit=data_cfg.photo_limit,
        distill=data_cfg.distill,
        seed=seed,
        progress=_log_progress,
    )
    if not data_cfg.cache_features:
        return DetectionTrainSet(mix, None), False
    if not model.cfg.freeze_trunk:
        raise UserError("cache_features needs a frozen trunk (task.model.freeze_trunk = true)")
    channels = tuple(branch.reduce[0].in_channels for branch in model.branches)
    strides = tuple(spec.stride for spec in model.specs)
    info = PoolInfo(
        pool_fingerprint(data_cfg, model),
        data_cfg.scenes,
        data_cfg.crop_size,
        level_shapes(channels, data_cfg.crop_size, strides),
    )
    folder = cache / f"pool-{info.fingerprint}"
    twin = _fused_twin(data_cfg, model, cache, info)
    if twin is not None:
        return twin, True
    was_training = model.training
    model.eval()
    try:
        build_pool(folder, info, mix.load, model.features, progress=_log_progress, should_stop=should_stop)
    finally:
        model.train(was_training)
    return PooledScenes(folder, info), True


def _fused_twin(data_cfg, model: ScaleFace, cache: Path, info: PoolInfo) -> PooledScenes | None:
    """A finished pool of the same scenes with the small branch fused, for a fusion-free model.

    Its stride-8 map starts with the trunk's own channels, which are all such a model
    reads (:meth:`ScaleFace.from_pool`), so the trunk need not run over the scenes again."""
    if model.cfg.fusion != "none" or not model.cfg.init_from_centerface:
        return None
    fingerprint = pool_fingerprint(data_cfg, model, fusion="small")
    shapes = list(info.shapes)
    shapes[0] = (shapes[0][0] + NECK_CHANNELS, *shapes[0][1:])
    fused = PoolInfo(fingerprint, info.count, info.size, tuple(shapes))
    try:
        pooled = PooledScenes(cache / f"pool-{fingerprint}", fused)
    except (OSError, ValueError):
        return None
    if len(pooled) < info.count:
        return None
    log.info("fusion-free model: reading the trunk channels of fused pool %s", fingerprint)
    return pooled
