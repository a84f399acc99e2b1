"""Composite training scenes made on the fly from real face photos.

Each scene is a canvas of ``size``² pixels: a background (a procedural texture,
or a real photo with its own labelled or distilled faces), then tiles of real
face photos pasted at log-uniform face heights, as a scattered group, a row or a
crowd (rows whose faces grow towards the viewer and overlap). Every tile is the
photo's face box widened by a random context factor, flipped, relit and blurred
at random, and pasted through a feathered elliptical mask so no tile edge
teaches the detector a shortcut.

Labels come from the photos, never from the picture: a pasted face's box is its
source box (:class:`FacePhoto`) moved and scaled by the paste. An *owner map*
records which tile is on top at each pixel; a face whose box is less than
``min_visible`` its own is an ignore box (``invalid``), one below
``drop_visible`` is removed — so partial occlusion is labelled, heavy occlusion
is neither face nor background.

Boxes are ``x1 y1 x2 y2`` float pixels of the canvas. A scene depends only on
``(seed, index)``: :meth:`CompositeScenes.load` draws everything from
``numpy.random.default_rng([seed, index])``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.io.imageio import load_image


@dataclass(frozen=True)
class FacePhoto:
    """A real photo and the box of its main face (``x1 y1 x2 y2`` photo pixels)."""

    path: str
    box: tuple[float, float, float, float]

    @property
    def face_height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class BackgroundPhoto:
    """A real photo used as a background, with its faces: ``boxes (K, 4)``, ``invalid (K,)``."""

    path: str
    boxes: np.ndarray
    invalid: np.ndarray


@dataclass
class CompositeConfig:
    """size: canvas side; min_face/max_face: face-height range (log-uniform);
    max_upscale: a photo is never enlarged more than this (faces stay sharp);
    photo_background: share of scenes on a real background photo (when any are given);
    layouts: relative weights of the scatter, row and crowd layouts."""

    size: int = 512
    min_face: float = 8.0
    max_face: float = 500.0
    max_upscale: float = 2.5
    max_faces: int = 60
    photo_background: float = 0.5
    layouts: tuple[float, float, float] = (0.4, 0.2, 0.4)
    min_visible: float = 0.5
    drop_visible: float = 0.2


@dataclass
class _Placed:
    box: np.ndarray  # (4,) canvas pixels
    owner: int  # tile id in the owner map (0 = background)
    invalid: bool


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(max(high, low * 1.0001))))


def procedural_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered texture: a two-colour gradient, low-frequency noise and random shapes."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    t = ramp[None, :] if rng.random() < 0.5 else ramp[:, None]
    t = np.broadcast_to(t, (size, size))[..., None]
    canvas = (c0 * (1 - t) + c1 * t).astype(np.float32)
    cells = int(rng.integers(2, 12))
    noise = cv2.resize(rng.normal(0, 40, (cells, cells, 3)).astype(np.float32), (size, size))
    canvas = np.clip(canvas + noise, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 25))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(0, size, 2))
        extent = int(rng.integers(4, max(5, size // 3)))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(canvas, (x, y), (x + extent, y + int(rng.integers(4, extent + 5))), colour, -1)
        elif kind == 1:
            cv2.ellipse(canvas, (x, y), (extent, int(rng.integers(2, extent + 3))), 0, 0, 360, colour, -1)
        else:
            end = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.line(canvas, (x, y), end, colour, int(rng.integers(1, 8)))
    if rng.random() < 0.5:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 3.0))
    return canvas


def _relight(tile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = tile.astype(np.float32)
    out = (out - 128.0) * rng.uniform(0.6, 1.3) + 128.0 + rng.uniform(-45, 35)
    out += rng.uniform(-15, 15, 3)
    if rng.random() < 0.3:
        out = 255.0 * (np.clip(out, 0, 255) / 255.0) ** rng.uniform(0.6, 1.6)
    return np.clip(out, 0, 255).astype(np.uint8)


def _degrade(tile: np.ndarray, face_height: float, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.3:  # a low-resolution look: down, then back up
        h, w = tile.shape[:2]
        f = rng.uniform(0.3, 0.8)
        small = cv2.resize(tile, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        tile = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.35:
        sigma = rng.uniform(0.3, 1.0 + face_height / 60.0)
        tile = cv2.GaussianBlur(tile, (0, 0), sigma)
    return tile


def _feather_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """``(h, w)`` float alpha: 1 inside an ellipse filling the tile, falling to 0 at its rim."""
    y = (np.arange(h, dtype=np.float32) + 0.5) / h * 2 - 1
    x = (np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1
    r = np.sqrt(y[:, None] ** 2 + x[None, :] ** 2)
    feather = rng.uniform(0.12, 0.35)
    return np.clip((1.0 - r) / feather, 0.0, 1.0)


class CompositeScenes:
    """A detection source of ``count`` composite scenes (see the module docstring).

    photos: face photos to paste; backgrounds: real background photos (may be empty);
    load_photo: reads a photo (RGB uint8), injectable for tests.
    """

    def __init__(
        self,
        photos: Sequence[FacePhoto],
        backgrounds: Sequence[BackgroundPhoto] = (),
        *,
        count: int = 1000,
        seed: int = 0,
        config: CompositeConfig | None = None,
        load_photo: Callable[[str], np.ndarray] = load_image,
    ) -> None:
        if not photos:
            raise ValueError("composite scenes need at least one face photo")
        self.photos = list(photos)
        self.backgrounds = list(backgrounds)
        self.count, self.seed = count, seed
        self.cfg = config or CompositeConfig()
        self.load_photo = load_photo
        # photos sorted by face height, so a target height picks among photos big enough for it
        self._by_height = sorted(range(len(self.photos)), key=lambda i: self.photos[i].face_height)
        self._heights = np.array([self.photos[i].face_height for i in self._by_height], dtype=np.float64)

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        cfg = self.cfg
        canvas, placed = self._background(rng)
        owner = np.zeros((cfg.size, cfg.size), dtype=np.int32)
        for tile_id, (height, cx, cy) in enumerate(self._layout(rng), start=1):
            box = self._paste(canvas, owner, tile_id, height, cx, cy, rng)
            if box is not None:
                placed.append(_Placed(box, tile_id, False))
        canvas = self._finish(canvas, rng)
        return (canvas, *self._labels(placed, owner))

    def _background(self, rng: np.random.Generator) -> tuple[np.ndarray, list[_Placed]]:
        size = self.cfg.size
        if self.backgrounds and rng.random() < self.cfg.photo_background:
            bg = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
            image = self.load_photo(bg.path)
            h, w = image.shape[:2]
            # any scale from "the photo is a small patch" to "the canvas is a crop of it"
            scale = size / min(h, w) * _log_uniform(rng, 0.35, 1.6)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            image = cv2.resize(
                image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            )
            x0 = int(rng.integers(min(0, nw - size), max(0, nw - size) + 1))
            y0 = int(rng.integers(min(0, nh - size), max(0, nh - size) + 1))
            crop = procedural_background(size, rng)
            sx1, sy1, sx2, sy2 = max(0, x0), max(0, y0), min(nw, x0 + size), min(nh, y0 + size)
            crop[sy1 - y0 : sy2 - y0, sx1 - x0 : sx2 - x0] = image[sy1:sy2, sx1:sx2]
            boxes = np.asarray(bg.boxes, dtype=np.float64).reshape(-1, 4) * scale
            boxes -= [x0, y0, x0, y0]
            placed = [
                _Placed(b, 0, bool(v)) for b, v in zip(boxes, np.asarray(bg.invalid, bool), strict=True)
            ]
            return crop, placed
        return procedural_background(size, rng), []

    def _layout(self, rng: np.random.Generator) -> list[tuple[float, float, float]]:
        """``(face height, centre x, centre y)`` per face, in paste order (back to front)."""
        cfg = self.cfg
        top = min(cfg.max_face, 0.9 * cfg.size)
        kind = rng.choice(3, p=np.asarray(cfg.layouts) / sum(cfg.layouts))
        if kind == 0:  # scattered faces, each its own size
            n = int(rng.integers(1, min(cfg.max_faces, 12) + 1))
            return [(_log_uniform(rng, cfg.min_face, top), *rng.uniform(0, cfg.size, 2)) for _ in range(n)]
        if kind == 1:  # a row of faces of about one size
            h = _log_uniform(rng, cfg.min_face, top / 1.5)
            y = rng.uniform(0.2, 0.8) * cfg.size
            n = max(1, min(cfg.max_faces, int(cfg.size / (h * rng.uniform(0.8, 1.6)))))
            xs = np.sort(rng.uniform(0, cfg.size, n))
            return [(h * rng.uniform(0.85, 1.15), float(x), y + rng.normal(0, 0.1 * h)) for x in xs]
        # a crowd: rows from the back (small, high) to the front (large, low), overlapping
        h = _log_uniform(rng, cfg.min_face, min(60.0, top))
        y = rng.uniform(0.05, 0.4) * cfg.size
        out: list[tuple[float, float, float]] = []
        while y < cfg.size * 1.05 and len(out) < cfg.max_faces and h <= top:
            step = h * rng.uniform(0.85, 1.6)
            for x in np.arange(rng.uniform(0, step), cfg.size, step):
                out.append((h * rng.uniform(0.85, 1.15), float(x + rng.normal(0, 0.1 * h)), y))
            y += h * rng.uniform(0.6, 1.1)
            h *= rng.uniform(1.05, 1.5)
        return out[: cfg.max_faces]

    def _pick_photo(self, height: float, rng: np.random.Generator) -> FacePhoto:
        smallest = height / self.cfg.max_upscale
        first = int(np.searchsorted(self._heights, smallest))
        first = min(first, len(self._heights) - 1)
        return self.photos[self._by_height[int(rng.integers(first, len(self._heights)))]]

    def _paste(self, canvas, owner, tile_id, height, cx, cy, rng) -> np.ndarray | None:
        photo = self._pick_photo(height, rng)
        image = self.load_photo(photo.path)
        x1, y1, x2, y2 = photo.box
        fw, fh = x2 - x1, y2 - y1
        context = rng.uniform(1.25, 2.2)
        ph, pw = image.shape[:2]
        tx1, ty1 = max(0, int(x1 - fw * (context - 1) / 2)), max(0, int(y1 - fh * (context - 1) / 2))
        tx2, ty2 = (
            min(pw, int(math.ceil(x2 + fw * (context - 1) / 2))),
            min(ph, int(math.ceil(y2 + fh * (context - 1) / 2))),
        )
        tile = image[ty1:ty2, tx1:tx2]
        face = np.array([x1 - tx1, y1 - ty1, x2 - tx1, y2 - ty1], dtype=np.float64)
        if rng.random() < 0.5:
            tile = tile[:, ::-1]
            face = np.array([tile.shape[1] - face[2], face[1], tile.shape[1] - face[0], face[3]])
        scale = height / fh
        th, tw = max(1, round(tile.shape[0] * scale)), max(1, round(tile.shape[1] * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        tile = cv2.resize(np.ascontiguousarray(tile), (tw, th), interpolation=interp)
        tile = _degrade(_relight(tile, rng), height, rng)
        face *= [tw / (tx2 - tx1), th / (ty2 - ty1), tw / (tx2 - tx1), th / (ty2 - ty1)]
        # place the tile so the face centre lands on (cx, cy)
        ox = round(cx - (face[0] + face[2]) / 2)
        oy = round(cy - (face[1] + face[3]) / 2)
        alpha = _feather_mask(th, tw, rng)
        size = canvas.shape[0]
        cx1, cy1, cx2, cy2 = max(0, ox), max(0, oy), min(size, ox + tw), min(size, oy + th)
        if cx2 <= cx1 or cy2 <= cy1:
            return None
        region = (slice(cy1, cy2), slice(cx1, cx2))
        local = (slice(cy1 - oy, cy2 - oy), slice(cx1 - ox, cx2 - ox))
        a = alpha[local][..., None]
        canvas[region] = (tile[local] * a + canvas[region] * (1 - a)).astype(np.uint8)
        owner[region][alpha[local] > 0.5] = tile_id
        return face + [ox, oy, ox, oy]

    def _finish(self, canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < 0.3:
            canvas = np.clip(canvas + rng.normal(0, rng.uniform(2, 10), canvas.shape), 0, 255).astype(
                np.uint8
            )
        if rng.random() < 0.3:
            ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
            if ok:
                canvas = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        return canvas

    def _labels(self, placed: list[_Placed], owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = owner.shape[0]
        boxes, invalid = [], []
        for item in placed:
            clipped = np.clip(item.box, 0, size)
            x1, y1, x2, y2 = (int(round(v)) for v in clipped)
            full = max(1e-6, (item.box[2] - item.box[0]) * (item.box[3] - item.box[1]))
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            visible = float((owner[y1:y2, x1:x2] == item.owner).sum()) / full
            if visible < self.cfg.drop_visible:
                continue
            boxes.append(clipped)
            invalid.append(item.invalid or visible < self.cfg.min_visible)
        return (
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(invalid, dtype=bool),
        )
