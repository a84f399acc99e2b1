"""Synthetic test videos: a face photo moving over a background, frame index written in pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.io.imageio import load_image

DEMO = Path(__file__).resolve().parents[2] / "data" / "faceapi_demo"
# sample1.jpg: the left woman's face is about (419, 372)-(594, 594); the crop keeps hair and chin
FACE_CROP = (329, 262, 684, 664)
INDEX_BITS = 10  # frame index encoded as 10 black/white blocks along the bottom edge
BLOCK = 16


def face_patch(width: int) -> np.ndarray:
    """The demo face as an RGB patch ``width`` pixels wide."""
    image = load_image(DEMO / "sample1.jpg")
    x1, y1, x2, y2 = FACE_CROP
    crop = image[y1:y2, x1:x2]
    height = round(width * crop.shape[0] / crop.shape[1])
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def face_position(index: int, frames: int, size: tuple[int, int], patch: np.ndarray) -> tuple[int, int]:
    """Top-left corner of the patch in frame ``index``: left to right, slight bob."""
    width, height = size
    span = width - patch.shape[1]
    x = round(span * index / max(1, frames - 1))
    y = round((height - BLOCK - patch.shape[0]) / 2 + 6 * np.sin(index / 3))
    return x, max(0, y)


def make_frame(index: int, frames: int, size: tuple[int, int], patch: np.ndarray) -> np.ndarray:
    """RGB frame: grey gradient, the face patch, the index as blocks on the bottom row."""
    width, height = size
    ramp = np.linspace(60, 160, width, dtype=np.float32)
    frame = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2).astype(np.uint8)
    x, y = face_position(index, frames, size, patch)
    frame[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    for bit in range(INDEX_BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[height - BLOCK :, bit * BLOCK : (bit + 1) * BLOCK] = value
    return frame


def read_index(frame: np.ndarray) -> int:
    """The index written by :func:`make_frame` (survives JPEG/MJPG compression)."""
    height = frame.shape[0]
    index = 0
    for bit in range(INDEX_BITS):
        block = frame[height - BLOCK + 4 : height - 4, bit * BLOCK + 4 : (bit + 1) * BLOCK - 4]
        if block.mean() > 128:
            index |= 1 << bit
    return index


def write_video(
    path: Path, frames: int = 40, size: tuple[int, int] = (320, 240), fps: float = 25.0, patch_width: int = 90
) -> Path:
    """An MJPG ``.avi`` (or ``mp4v`` for ``.mp4``) of the moving face; returns ``path``."""
    patch = face_patch(patch_width)
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {path.suffix} here"
    try:
        for index in range(frames):
            writer.write(cv2.cvtColor(make_frame(index, frames, size, patch), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def write_sequence(folder: Path, frames: int = 12, size: tuple[int, int] = (320, 240)) -> Path:
    """The same frames as PNG files ``frame_1.png`` ... (natural order differs from lexical)."""
    folder.mkdir(parents=True, exist_ok=True)
    patch = face_patch(90)
    for index in range(frames):
        frame = make_frame(index, frames, size, patch)
        cv2.imwrite(str(folder / f"frame_{index}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder
