"""The ScaleFace training scenes: real WIDER crops interleaved with composites.

:class:`SceneMix` numbers its scenes so that every ``wider_every``-th one is a
random ``size``² crop of a labelled WIDER training image (scaled at random, so
its small faces also reach the small branch's range) and the others are
:class:`~core.detect.training.composite.CompositeScenes`. Interleaving keeps
any prefix of the numbering a fair mix, which matters when a feature pool is
built only partly. A scene depends only on ``(seed, index)``.

:func:`build_scene_mix` gathers the inputs: face photos and background photos
(their faces found by the teacher, see :mod:`core.detect.training.photo_index`)
and the WIDER training images, which also serve as backgrounds with their own
labels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.detect.training.composite import BackgroundPhoto, CompositeConfig, CompositeScenes
from core.detect.training.data import AugmentConfig, DetectionAugment, WiderSource
from core.detect.training.photo_index import background_photos, face_photos, list_photos, scan
from core.errors import UserError
from core.paths import user_data_dir
from core.progress import Progress
from core.wider.attributes import ATTRIBUTE_NAMES

log = logging.getLogger(__name__)


class SceneMix:
    """``count`` scenes of ``size``² pixels (see the module docstring); ``load(i)`` like any source."""

    def __init__(
        self,
        composites: CompositeScenes | None,
        wider: WiderSource | None,
        *,
        count: int,
        size: int,
        wider_share: float,
        wider_scale: tuple[float, float] = (1.0, 3.0),
        seed: int = 0,
    ) -> None:
        if composites is None and wider is None:
            raise ValueError("a scene mix needs composites or WIDER images")
        self.composites, self.wider = composites, wider
        self.count, self.size, self.seed = count, size, seed
        share = 1.0 if composites is None else (0.0 if wider is None else wider_share)
        self.wider_every = 0 if share <= 0 else max(1, round(1 / share))
        self.augment = DetectionAugment(
            AugmentConfig(crop_size=size, min_scale=wider_scale[0], max_scale=wider_scale[1])
        )

    def __len__(self) -> int:
        return self.count

    def is_wider(self, index: int) -> bool:
        return self.wider_every > 0 and index % self.wider_every == 0

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.is_wider(index):
            rng = np.random.default_rng([self.seed, 1, index])
            image, boxes, invalid = self.wider.load(int(rng.integers(len(self.wider))))
            return self.augment(image, boxes, np.asarray(invalid, dtype=bool), rng)
        return self.composites.load(index)


def wider_backgrounds(wider: WiderSource) -> list[BackgroundPhoto]:
    """The WIDER images as composite backgrounds, with their own labels (invalid faces ignored)."""
    out = []
    column = ATTRIBUTE_NAMES.index("invalid")
    for i in range(len(wider)):
        sample = wider.index[i]
        out.append(
            BackgroundPhoto(
                str(sample.path),
                sample.boxes_xyxy.astype(np.float32),
                sample.attributes[:, column].astype(bool),
            )
        )
    return out


def build_scene_mix(
    *,
    photo_roots: Sequence[str],
    background_roots: Sequence[str],
    wider: WiderSource | None,
    teacher_factory: Callable[[bool], Callable],
    cache_dir: Path,
    count: int,
    size: int,
    wider_share: float,
    wider_scale: tuple[float, float],
    photo_limit: int = 0,
    distill: bool = True,
    seed: int = 0,
    progress: Callable[[Progress], None] | None = None,
) -> SceneMix:
    """Scan the photos once (cached in ``cache_dir``) and assemble the mix."""
    composites = None
    if photo_roots:
        paths = list_photos(photo_roots, photo_limit)
        if not paths:
            raise UserError(f"no face photos (jpg/png) under {', '.join(photo_roots)}")
        found = scan(paths, teacher_factory(False), cache_dir / "face_photos.json", progress=progress)
        photos = face_photos(paths, found)
        backgrounds: list[BackgroundPhoto] = []
        if distill and background_roots:
            bg_paths = list_photos(background_roots)
            scanned = scan(bg_paths, teacher_factory(True), cache_dir / "backgrounds.json")
            backgrounds += background_photos(bg_paths, scanned)
        if wider is not None:
            backgrounds += wider_backgrounds(wider)
        log.info(
            "composites: %d face photos of %d, %d backgrounds", len(photos), len(paths), len(backgrounds)
        )
        if not photos:
            raise UserError("the teacher found no clear face in any of the face photos")
        composites = CompositeScenes(
            photos, backgrounds, count=count, seed=seed, config=CompositeConfig(size=size)
        )
    return SceneMix(
        composites, wider, count=count, size=size, wider_share=wider_share, wider_scale=wider_scale, seed=seed
    )


def cache_root(cache_dir: str) -> Path:
    """The folder for photo scans and feature pools: ``cache_dir`` or the user's cache."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    return user_data_dir() / "cache" / "scaleface"
