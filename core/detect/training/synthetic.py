"""Synthetic face images for tests, smoke runs and benchmarks (no real data needed).

Each image is a smooth random background with non-face distractors (rectangles,
plain discs) and drawn face-like blobs: a skin-toned ellipse with two dark eyes,
eyebrows, a nose mark and a mouth. Face heights are drawn from the three
ScaleFace ranges (:mod:`core.scale_ranges`) by a per-image layout, so a
set of a few dozen images exercises every branch:

* layout 0: one large face (≥ 140 px, when the image is big enough) and small ones;
* layout 1: medium faces (40–140 px) and small ones;
* layout 2: mostly small faces (10–40 px).

Images are a pure function of ``(seed, index)``. Boxes are ``x1 y1 x2 y2``
float32 pixels of the face ellipse's bounding box (height / width = 1.25).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.scale_ranges import SCALE_RANGES

FACE_ASPECT = 1.25  # height / width


@dataclass(frozen=True)
class SyntheticImage:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    boxes: np.ndarray  # (K, 4) float32 x1 y1 x2 y2
    invalid: np.ndarray  # (K,) bool (always False here)


def draw_face(image: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator) -> None:
    """Draw a face-like blob filling ``box`` (in place)."""
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    skin = np.array([rng.uniform(150, 240), rng.uniform(100, 190), rng.uniform(70, 160)])
    cv2.ellipse(
        image,
        (round(cx), round(cy)),
        (max(1, round(w / 2)), max(1, round(h / 2))),
        0,
        0,
        360,
        skin.tolist(),
        -1,
        cv2.LINE_AA,
    )
    dark = (rng.uniform(10, 60),) * 3
    eye_r = max(1, round(w * 0.09))
    for side in (-1, 1):
        ex, ey = cx + side * w * 0.2, cy - h * 0.1
        cv2.circle(image, (round(ex), round(ey)), eye_r, dark, -1, cv2.LINE_AA)
        brow = (round(ex - w * 0.12), round(ey - h * 0.1)), (round(ex + w * 0.12), round(ey - h * 0.12))
        cv2.line(image, *brow, dark, max(1, round(h * 0.03)), cv2.LINE_AA)
    cv2.line(
        image,
        (round(cx), round(cy - h * 0.02)),
        (round(cx), round(cy + h * 0.12)),
        (skin * 0.7).tolist(),
        max(1, round(w * 0.04)),
        cv2.LINE_AA,
    )
    mouth = (rng.uniform(120, 200), rng.uniform(30, 80), rng.uniform(30, 80))
    cv2.ellipse(
        image,
        (round(cx), round(cy + h * 0.27)),
        (max(1, round(w * 0.18)), max(1, round(h * 0.05))),
        0,
        0,
        360,
        mouth,
        -1,
        cv2.LINE_AA,
    )


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 8, size=image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 6))):  # distractors: boxes and plain discs, never face-like
        color = rng.uniform(0, 255, size=3).tolist()
        x, y = (int(v) for v in rng.integers(0, size, size=2))
        r = int(rng.integers(4, max(5, size // 6)))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + r, y + int(r * rng.uniform(0.5, 2))), color, -1)
        else:
            cv2.circle(image, (x, y), r // 2, color, -1, cv2.LINE_AA)
    return image


def _heights_for_layout(layout: int, size: int, rng: np.random.Generator) -> list[float]:
    """Face heights of one image; ranges that do not fit in ``size`` are left out."""
    small, medium, large = SCALE_RANGES["small"], SCALE_RANGES["medium"], SCALE_RANGES["large"]

    def smalls(n: int) -> list[float]:
        return [rng.uniform(small[0] + 2, small[1] - 4) for _ in range(n)]

    def mediums(n: int, share: float) -> list[float]:
        top = min(medium[1] - 10, size * share)
        return [rng.uniform(medium[0] + 5, top) for _ in range(n)] if top > medium[0] + 5 else []

    if layout == 0 and size * 0.92 >= large[0] + 8:
        return [rng.uniform(large[0] + 8, min(size * 0.92, 2.5 * large[0]))] + smalls(2)
    if layout in (0, 1):
        return mediums(2, 0.6) + smalls(2)
    return mediums(1, 0.4) + smalls(5)


def make_synthetic_image(index: int, size: int = 256, seed: int = 0) -> SyntheticImage:
    """Image ``index`` of the synthetic set (``size`` × ``size``)."""
    rng = np.random.default_rng([seed, index, 0xFACE])
    image = _background(size, rng)
    boxes: list[tuple[float, float, float, float]] = []
    for height in _heights_for_layout(index % 3, size, rng):
        width = height / FACE_ASPECT
        for _ in range(30):  # rejection sampling: faces do not overlap
            x1 = rng.uniform(1, size - width - 1)
            y1 = rng.uniform(1, size - height - 1)
            box = (x1, y1, x1 + width, y1 + height)
            if all(
                box[2] + 2 < b[0] or b[2] + 2 < box[0] or box[3] + 2 < b[1] or b[3] + 2 < box[1]
                for b in boxes
            ):
                boxes.append(box)
                draw_face(image, box, rng)
                break
    arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return SyntheticImage(image, arr, np.zeros(len(arr), dtype=bool))


class SyntheticFaces:
    """A fixed set of ``num_images`` synthetic images: ``load(i)`` → (image, boxes, invalid)."""

    def __init__(self, num_images: int = 64, size: int = 256, seed: int = 0) -> None:
        self.num_images, self.size, self.seed = num_images, size, seed

    def __len__(self) -> int:
        return self.num_images

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        item = make_synthetic_image(index, self.size, self.seed)
        return item.image, item.boxes, item.invalid
