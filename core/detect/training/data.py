"""Face-detection training data: sources, augmentation, batching.

A *source* gives ``load(i) -> (image (H, W, 3) uint8 RGB, boxes (K, 4) x1 y1 x2 y2
float pixels, invalid (K,) bool)``: :class:`WiderSource` (a WIDER FACE split
through :mod:`core.wider.dataset`) or :class:`core.detect.training.synthetic.SyntheticFaces`.

:class:`DetectionAugment` draws everything from the generator it is given (the
engine seeds it from (run seed, epoch, index), see :mod:`core.train.sampler`):

* random scale, log-uniform in ``[min_scale, max_scale]`` — moves faces between
  the ScaleFace ranges, so every branch sees enough faces;
* with ``crop_size > 0`` a random ``crop_size``² window (zero padding where the
  scaled image is smaller); faces whose centre leaves the window are dropped,
  the others clipped; with ``crop_size == 0`` the whole image, its longer side
  capped at ``max_size`` (then :meth:`DetectionTrainSet.group_ids` groups
  landscape and portrait images: aspect-ratio grouping);
* horizontal flip; photometric jitter (brightness, contrast, saturation).

Invalid faces stay in the targets with their flag set: the model turns them
into ignore regions rather than negatives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from core.io.imageio import load_image
from core.wider.attributes import ATTRIBUTE_NAMES
from core.wider.dataset import WiderDataset
from core.wider.dev_split import in_part
from core.wider.locate import AUTO, locate_split


@dataclass
class AugmentConfig:
    crop_size: int = 640
    min_scale: float = 0.5
    max_scale: float = 2.0
    max_size: int = 1024
    flip: bool = True
    photometric: bool = True


class WiderSource:
    """A WIDER FACE split as a detection source (``invalid`` = the label file's invalid flag).

    ``root`` and ``split`` are resolved by :func:`core.wider.locate.locate_split`:
    a WIDER folder (official layout or a copied split) or a label file, and
    ``"auto"`` (train if present, else val), a split name or a label file path;
    ``part`` keeps one part of :func:`core.wider.dev_split.dev_part` (``"all"``, ``"train"``, ``"val"``).
    Raises :class:`core.wider.locate.SplitNotFoundError` (a user error) naming
    what was looked for when nothing fits.
    """

    def __init__(self, root: str | Path, split: str = AUTO, part: str = "all") -> None:
        self.location = locate_split(root, split)
        index = WiderDataset.open(self.location.labels, self.location.images_dir)
        if part != "all":  # one part of the fixed train/val split of a labelled folder
            ids = [i for i, name in enumerate(index.labels.names) if in_part(name, part)]
            index = WiderDataset(index.labels, index.images_dir, image_ids=np.asarray(ids, dtype=np.int64))
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:

        sample = self.index[i]
        invalid = sample.attributes[:, ATTRIBUTE_NAMES.index("invalid")].astype(bool)
        return load_image(sample.path), sample.boxes_xyxy.astype(np.float32), invalid

    def image_size(self, i: int) -> tuple[int, int]:
        """``(w, h)`` from the file header (no decoding)."""
        from PIL import Image

        with Image.open(self.index[i].path) as im:
            return im.size


def _photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = image.astype(np.float32)
    if rng.random() < 0.5:
        out += rng.uniform(-32, 32)
    if rng.random() < 0.5:
        out = (out - out.mean()) * rng.uniform(0.6, 1.4) + out.mean()
    out = np.clip(out, 0, 255)
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.4), 0, 255)
        out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    return out.astype(np.uint8)


class DetectionAugment:
    """``(image, boxes, invalid, rng) -> (image, boxes, invalid)``; see the module docstring."""

    def __init__(self, cfg: AugmentConfig) -> None:
        self.cfg = cfg

    def __call__(self, image: np.ndarray, boxes: np.ndarray, invalid: np.ndarray, rng: np.random.Generator):
        cfg = self.cfg
        h, w = image.shape[:2]
        scale = math.exp(rng.uniform(math.log(cfg.min_scale), math.log(cfg.max_scale)))
        if cfg.crop_size <= 0:
            scale = min(scale, cfg.max_size / max(h, w))
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        boxes = boxes.astype(np.float32) * np.float32([nw / w, nh / h, nw / w, nh / h])
        if cfg.crop_size > 0:
            image, boxes, invalid = self._crop(image, boxes, invalid, rng)
        if cfg.flip and rng.random() < 0.5:
            image = image[:, ::-1].copy()
            width = image.shape[1]
            boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1)
        if cfg.photometric:
            image = _photometric(image, rng)
        return image, boxes.reshape(-1, 4).astype(np.float32), invalid

    def _crop(self, image, boxes, invalid, rng):
        size = self.cfg.crop_size
        h, w = image.shape[:2]
        x0 = int(rng.integers(0, max(0, w - size) + 1))
        y0 = int(rng.integers(0, max(0, h - size) + 1))
        canvas = np.zeros((size, size, 3), dtype=np.uint8)
        patch = image[y0 : y0 + size, x0 : x0 + size]
        canvas[: patch.shape[0], : patch.shape[1]] = patch
        boxes = boxes - np.float32([x0, y0, x0, y0])
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        limit = np.float32([patch.shape[1], patch.shape[0]])
        keep = np.all((centres >= 0) & (centres < limit), axis=1)
        boxes = boxes[keep]
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, patch.shape[1])
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, patch.shape[0])
        invalid = invalid[keep]
        sizes_ok = np.all(boxes[:, 2:] - boxes[:, :2] >= 1, axis=1)
        return canvas, boxes[sizes_ok], invalid[sizes_ok]


class DetectionTrainSet:
    """A source + augmentation, as an engine dataset (``sample(index, rng)``).

    Items: ``(image (3, H, W) uint8 tensor, boxes (K, 4) float32, invalid (K,) bool)``.
    """

    def __init__(self, source, augment: DetectionAugment | None) -> None:
        self.source, self.augment = source, augment

    def __len__(self) -> int:
        return len(self.source)

    def sample(self, index: int, rng: np.random.Generator):
        image, boxes, invalid = self.source.load(index)
        if self.augment is not None:
            image, boxes, invalid = self.augment(image, boxes, np.asarray(invalid, dtype=bool), rng)
        return (
            torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1),
            torch.from_numpy(np.asarray(boxes, dtype=np.float32)).reshape(-1, 4),
            torch.from_numpy(np.asarray(invalid, dtype=bool)),
        )

    def __getitem__(self, index: int):
        return self.sample(index, np.random.default_rng(index))

    def group_ids(self) -> list[int] | None:
        """Landscape (0) / portrait (1) when images keep their aspect ratio (no fixed crop)."""
        if self.augment is None or self.augment.cfg.crop_size > 0 or not hasattr(self.source, "image_size"):
            return None
        return [int(h > w) for w, h in (self.source.image_size(i) for i in range(len(self.source)))]


def collate_detection(items: list, multiple: int = 32) -> dict:
    """Pad a list of items to one ``(N, 3, H, W)`` uint8 batch (H, W multiples of ``multiple``).

    Returns ``{"images", "image_sizes" [(h, w)], "boxes" [(K, 4)], "invalid" [(K,)]}``.
    """
    heights = [int(item[0].shape[1]) for item in items]
    widths = [int(item[0].shape[2]) for item in items]
    H = math.ceil(max(heights) / multiple) * multiple
    W = math.ceil(max(widths) / multiple) * multiple
    images = torch.zeros((len(items), 3, H, W), dtype=torch.uint8)
    for i, item in enumerate(items):
        images[i, :, : heights[i], : widths[i]] = item[0]
    return {
        "images": images,
        "image_sizes": list(zip(heights, widths, strict=True)),
        "boxes": [item[1] for item in items],
        "invalid": [item[2] for item in items],
    }
