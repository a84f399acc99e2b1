"""Cached ``conv128_2`` maps of face-api's descriptor trunk, for training its last stage.

The learned LMLE (docs/adr/0011-lmle.md) fine-tunes only the trunk's last
stage (:class:`~core.models.lmle_trunk.TrunkStage`); everything before it is
frozen, so its output maps are computed once per image and kept on disk as
float16 in the user cache folder.

A cache is a folder of parts (``part-00000.npz``, names + maps), one per
:meth:`ConvMapCache.iter_get` chunk, each written atomically: a build that
is stopped keeps every finished part and continues where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.atomic import atomic_write
from core.attributes.align import face_square
from core.attributes.features import frames_of
from core.models.face_descriptor import FaceRecognitionNet
from core.models.lmle_trunk import STEM_TAP, TrunkStem
from core.paths import user_data_dir
from core.progress import Progress, drain
from core.recognize.runner import FaceModelRunner

log = logging.getLogger(__name__)

#: bump when the crop or the tap changes: old caches are then ignored
CONV_CACHE_VERSION = f"faceapi-frnet-{STEM_TAP}-square18.40.51-fp16-v1"


class StemRunner(FaceModelRunner):
    """The frozen stem on CelebA face squares -> ``(N, 128, h, w)`` float32 maps."""

    weights_name = "faceapi_face_recognition"
    input_size = FaceRecognitionNet.INPUT_SIZE

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return TrunkStem(FaceRecognitionNet.from_tfjs(tensors))

    def maps_of(self, paths: Sequence[Path]) -> np.ndarray:
        frames = frames_of(paths)
        return self.forward_crops([face_square(f) for f in frames]).float().numpy()


def default_conv_cache_dir() -> Path:
    """``FACESCOPE_CONV_CACHE`` or ``<user data dir>/cache/attribute_conv128``."""
    override = os.environ.get("FACESCOPE_CONV_CACHE")
    return Path(override) if override else user_data_dir() / "cache" / "attribute_conv128"


class ConvMapCache:
    """Stem maps of the images of one folder (see module docstring)."""

    def __init__(self, images_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> None:
        self.images_dir = Path(images_dir)
        key = hashlib.sha1(f"{self.images_dir.resolve()}|{CONV_CACHE_VERSION}".encode()).hexdigest()[:16]
        self.folder = Path(cache_dir or default_conv_cache_dir()) / f"{self.images_dir.name}-{key}"
        self._parts: list[np.ndarray] = []
        self._index: dict[str, tuple[int, int]] = {}
        for path in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(path) as data:
                    names, maps = [str(n) for n in data["names"]], data["maps"]
            except (OSError, KeyError, ValueError) as exc:  # a torn part: recomputed
                log.warning("ignoring unreadable conv-map part %s: %s", path, exc)
                continue
            self._add_part(names, maps)

    def _add_part(self, names: list[str], maps: np.ndarray) -> None:
        part = len(self._parts)
        self._parts.append(maps)
        self._index.update({n: (part, i) for i, n in enumerate(names)})

    def missing(self, names: Sequence[str]) -> list[str]:
        return [n for n in dict.fromkeys(names) if n not in self._index]

    def iter_get(
        self, names: Sequence[str], runner: StemRunner | None = None, chunk: int = 512
    ) -> Generator[Progress, None, np.ndarray]:
        """Generator: computes and saves the missing names a part at a time (yielding
        :class:`Progress`), then returns ``(N, 128, h, w)`` float16 maps of ``names`` in order."""
        todo = self.missing(names)
        if todo:
            runner = runner or StemRunner()
            self.folder.mkdir(parents=True, exist_ok=True)
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                maps = runner.maps_of([self.images_dir / n for n in part]).astype(np.float16)
                path = self.folder / f"part-{len(self._parts):05d}.npz"
                with atomic_write(path, fsync=False) as handle:
                    np.savez(handle, version=CONV_CACHE_VERSION, names=np.array(part), maps=maps)
                self._add_part(part, maps)
                yield Progress(start + len(part), len(todo), "conv128 maps")
        return np.stack([self._parts[p][i] for p, i in (self._index[n] for n in names)])

    def get(self, names: Sequence[str], runner: StemRunner | None = None) -> np.ndarray:
        """Blocking :meth:`iter_get`."""
        return drain(self.iter_get(names, runner))
