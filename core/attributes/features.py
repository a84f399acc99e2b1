"""Frozen attribute features: CelebA frames -> face-api descriptor trunk + AgeGenderNet -> 3712 floats.

Every method of this package (LMLE, the class-weighted linear baseline, the
triplet baseline) reads the same features, computed once per image and
cached, because the trunk is frozen (docs/adr/0011-lmle.md): training then
touches only small heads and runs in minutes on two CPU cores.

Pipeline: CelebA frame ``(109, 89, 3)`` (:mod:`core.attributes.align`) ->
:data:`~core.attributes.align.FACE_SQUARE` crop -> face-api's centered pad
and legacy resize to 150 -> :class:`~core.models.lmle.TrunkFeatures`
(2176); and the whole frame -> centered pad, resize to 112 ->
:class:`~core.models.lmle.FrameFeatures` (1536). Layout of a feature row:
``[trunk conv128 maps (2048) | frame features (1536) | identity descriptor (128)]``
(the descriptor stays last: the first k-means of LMLE runs on it).

:class:`FeatureCache` keeps one ``.npz`` per (image folder, feature version)
holding names and float16 features; asking for names it lacks computes and
appends them, so the cache grows with use and never recomputes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Generator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.atomic import atomic_write
from core.attributes.align import face_square, to_frame
from core.io.imageio import load_image
from core.models.age_gender import AgeGenderNet
from core.models.face_descriptor import FaceRecognitionNet
from core.models.lmle import FrameFeatures, TrunkFeatures
from core.paths import user_data_dir
from core.progress import Progress, drain
from core.recognize.runner import FaceModelRunner

log = logging.getLogger(__name__)

#: a cache name ending with this is the image mirrored left-right (a training augmentation view)
FLIP_SUFFIX = "#flip"
#: bump when the crop, the trunk taps or the pooling change: old caches are then ignored.
FEATURE_VERSION = "faceapi-frnet-conv128x4x4+agnet-frame-exit2x2+pool512+desc128-square18.40.51-v2"
FEATURE_DIM = TrunkFeatures.DIM + FrameFeatures.DIM
DESCRIPTOR_DIM = 128
#: one face's ``conv128_2`` maps ``(channels, h, w)`` on the 150 px face square
MAPS_SHAPE = (128, 8, 8)


class FrameFeatureRunner(FaceModelRunner):
    """Frozen AgeGenderNet on the whole CelebA frame (:class:`~core.models.lmle.FrameFeatures`)."""

    weights_name = "faceapi_age_gender"
    input_size = AgeGenderNet.INPUT_SIZE
    # oneDNN's fused adaptive pooling needs the map side divisible by the pooled side (7 -> 2 is not)
    fusable = False

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FrameFeatures(AgeGenderNet.from_tfjs(tensors))


class FeatureExtractor(FaceModelRunner):
    """The frozen trunks behind the per-face runner (weights, device, batches of 32, inference
    mode): the descriptor net on the face square, and :class:`FrameFeatureRunner` on the frame.

    Why two nets: the descriptor's face square leaves out the hair, neck and
    hats that a third of CelebA's attributes describe. AgeGenderNet on the
    whole frame added about 0.6 points of mean balanced accuracy to both LMLE
    and the linear baseline on the inner split (docs/adr/0011-lmle.md).
    """

    weights_name = "faceapi_face_recognition"
    input_size = FaceRecognitionNet.INPUT_SIZE
    dim = FEATURE_DIM

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.frame_runner = FrameFeatureRunner(device=self.device)

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return TrunkFeatures(FaceRecognitionNet.from_tfjs(tensors))

    def from_frames(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """``(109, 89, 3)`` CelebA frames -> ``(N, 3712)`` float32 features (layout: module docstring)."""
        return self._forward(frames)[0]

    def from_frames_with_maps(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Frames -> ``((N, 3712) float32 features, (N, 128, 8, 8) float16 conv128_2 maps)``: the maps
        are what a learned attribute model's stage reads, from the same forward pass and rounded
        as the training cache stores them (:mod:`core.attributes.conv_cache`)."""
        features, maps = self._forward(frames)
        return features, maps.numpy().astype(np.float16)

    def _forward(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, torch.Tensor]:
        """Both nets on ``frames``: the feature rows and the float32 maps tensor."""
        if len(frames) == 0:
            return np.zeros((0, self.dim), dtype=np.float32), torch.zeros(0, *MAPS_SHAPE)
        face, maps = self.forward_crops([face_square(f) for f in frames])
        frame = self.frame_runner.forward_crops(list(frames))
        d = DESCRIPTOR_DIM
        return torch.cat([face[:, :-d], frame, face[:, -d:]], dim=1).numpy(), maps

    def iter_paths(self, paths: Sequence[Path], batch: int = 64) -> Generator[Progress, None, np.ndarray]:
        """Generator over image files (aligned CelebA images of any size): yields a :class:`Progress`
        after each batch, returns ``(N, 3712)`` float32. A path ending with :data:`FLIP_SUFFIX`
        is that file mirrored. ``ImageLoadError`` names a bad file."""
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        for start in range(0, len(paths), batch):
            chunk = paths[start : start + batch]
            out[start : start + len(chunk)] = self.from_frames(frames_of(chunk))
            yield Progress(start + len(chunk), len(paths))
        return out


def frames_of(paths: Sequence[str | os.PathLike]) -> list[np.ndarray]:
    """The CelebA frames of image files, a path ending with :data:`FLIP_SUFFIX` mirrored.

    Each file is decoded once however many of its views are asked for, so an
    image and its mirror in one batch cost one decode.
    """
    decoded: dict[str, np.ndarray] = {}
    frames = []
    for path in paths:
        text = str(path)
        flip = text.endswith(FLIP_SUFFIX)
        source = text[: -len(FLIP_SUFFIX)] if flip else text
        if source not in decoded:
            decoded[source] = to_frame(load_image(source))
        frame = decoded[source]
        frames.append(np.ascontiguousarray(frame[:, ::-1]) if flip else frame)
    return frames


def default_cache_dir() -> Path:
    """``FACESCOPE_FEATURE_CACHE`` or ``<user data dir>/cache/attribute_features``."""
    override = os.environ.get("FACESCOPE_FEATURE_CACHE")
    return Path(override) if override else user_data_dir() / "cache" / "attribute_features"


class FeatureCache:
    """Features of the images of one folder, on disk (see module docstring).

    images_dir: the folder the names are relative to. cache_dir: where the
    ``.npz`` lives (``None``: :func:`default_cache_dir`).
    """

    def __init__(self, images_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> None:
        self.images_dir = Path(images_dir)
        key = hashlib.sha1(f"{self.images_dir.resolve()}|{FEATURE_VERSION}".encode()).hexdigest()[:16]
        self.path = Path(cache_dir or default_cache_dir()) / f"{self.images_dir.name}-{key}.npz"
        self._names: list[str] = []
        self._feats = np.zeros((0, FEATURE_DIM), dtype=np.float16)
        self._index: dict[str, int] = {}
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as blob:
                    if str(blob["version"]) == FEATURE_VERSION:
                        self._names = [str(n) for n in blob["names"]]
                        self._feats = blob["features"]
            except (OSError, KeyError, ValueError) as exc:  # a torn write: recompute
                log.warning("ignoring unreadable feature cache %s: %s", self.path, exc)
                self._names, self._feats = [], np.zeros((0, FEATURE_DIM), dtype=np.float16)
            self._index = {n: i for i, n in enumerate(self._names)}

    def missing(self, names: Sequence[str]) -> list[str]:
        return [n for n in dict.fromkeys(names) if n not in self._index]

    def iter_get(
        self,
        names: Sequence[str],
        extractor: FeatureExtractor | Callable[[], FeatureExtractor] | None = None,
        batch: int = 64,
    ) -> Generator[Progress, None, np.ndarray]:
        """Generator: computes the missing names (yielding :class:`Progress`), saves, and returns
        ``(N, 3712)`` float32 features of ``names`` in order. ``extractor`` may be a factory
        (built only when something is missing)."""
        todo = self.missing(names)
        if todo:
            if extractor is None:
                extractor = FeatureExtractor
            # a class or factory is called; anything with ``iter_paths`` (an extractor) is used as is
            runner = (
                extractor()
                if isinstance(extractor, type) or not hasattr(extractor, "iter_paths")
                else extractor
            )
            log.info("extracting attribute features of %d images in %s", len(todo), self.images_dir)
            new = yield from runner.iter_paths([self.images_dir / n for n in todo], batch)
            self._append(todo, new)
        rows = np.array([self._index[n] for n in names], dtype=np.int64)
        return self._feats[rows].astype(np.float32)

    def get(self, names: Sequence[str], extractor: FeatureExtractor | None = None) -> np.ndarray:
        """Blocking :meth:`iter_get`."""
        return drain(self.iter_get(names, extractor))

    def _append(self, names: list[str], feats: np.ndarray) -> None:
        start = len(self._names)
        self._names.extend(names)
        self._feats = np.concatenate([self._feats, feats.astype(np.float16)])
        self._index.update({n: start + i for i, n in enumerate(names)})
        with atomic_write(self.path, fsync=False) as handle:  # a cache: rebuilt if lost
            np.savez(handle, version=FEATURE_VERSION, names=np.array(self._names), features=self._feats)
