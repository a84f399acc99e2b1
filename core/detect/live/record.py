"""Keeping what a live session saw: JSON lines per frame, and snapshots into a WIDER split.

Session recording (:class:`SessionRecorder`): one JSON object per detected
frame, appended and flushed as results arrive (a crash loses at most the line
being written)::

    {"source": "clip.avi", "frame": 42, "time_s": 1.68, "model": "centerface",
     "width": 640, "height": 480, "ms": {"forward": 41.0, ...},
     "faces": [{"box": [x1, y1, x2, y2], "score": s, "branch": "medium",
                "landmarks": [[x, y], ...] | null, "track": 3}]}

``track`` is present only when tracking was on. Boxes are original-frame pixels.

Snapshots (:func:`save_snapshot`): the frame goes to
``<root>/images/<event>/<name>.jpg`` and its faces (score ≥ the given
threshold) are added to ``<root>/wider_face_<split>_bbx_gt.txt`` in the
official label layout with default attributes, ready to be opened in the
annotation editor (``AnnotationSplit.open_wider(label_file, root / "images")``)
and corrected. The label file is rewritten atomically; concurrent snapshots
into the same split are serialised.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from core.detect.live.loop import LiveResult
from core.types import Detection
from core.wider.labels import FaceBox, ImageLabels, read_labels, write_labels

log = logging.getLogger(__name__)

DEFAULT_EVENT = "0--Live"
DEFAULT_SPLIT = "live"
JPEG_QUALITY = 95
_split_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


class SessionRecorder:
    """Appends one JSON line per :class:`~core.detect.live.loop.LiveResult` to ``path`` (thread-safe)."""

    def __init__(self, path: str | os.PathLike, source: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.lines = 0
        self._lock = threading.Lock()
        self._handle: IO[str] | None = self.path.open("a", encoding="utf-8")

    def write(self, result: LiveResult) -> None:
        record = {"source": self.source, **result.to_json()}
        text = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            if self._handle is None:
                return
            self._handle.write(text)
            self._handle.flush()
            self.lines += 1

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Snapshot:
    """Where a snapshot went: the image, the label file, the image's name in it, faces written."""

    image_path: Path
    label_path: Path
    name: str
    faces: int


def label_path_for(root: str | os.PathLike, split: str = DEFAULT_SPLIT) -> Path:
    return Path(root) / f"wider_face_{split}_bbx_gt.txt"


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _split_locks.setdefault(path.resolve(), threading.Lock())


def save_snapshot(
    root: str | os.PathLike,
    image: np.ndarray,
    faces: Sequence[Detection],
    name: str,
    *,
    event: str = DEFAULT_EVENT,
    split: str = DEFAULT_SPLIT,
    min_score: float = 0.0,
) -> Snapshot:
    """Add one frame (RGB uint8 ``(H, W, 3)``) and its faces to a WIDER-format split under ``root``.

    name: file stem (``"clip_000042"``); a name already in the split gets a
        ``_2``, ``_3`` ... suffix rather than overwriting an annotated image.
    Boxes are clipped to the frame and written as ``x y w h`` with default
    attributes (clear, typical, normal, valid, no occlusion, typical pose).
    """
    root = Path(root)
    label_path = label_path_for(root, split)
    folder = root / "images" / event
    folder.mkdir(parents=True, exist_ok=True)
    height, width = image.shape[:2]
    boxes = []
    for face in faces:
        if face.score < min_score:
            continue
        x1, y1, x2, y2 = face.box
        x1, y1 = max(0.0, x1), max(0.0, y1)
        x2, y2 = min(float(width), x2), min(float(height), y2)
        if x2 - x1 >= 1 and y2 - y1 >= 1:
            boxes.append(FaceBox(round(x1, 1), round(y1, 1), round(x2 - x1, 1), round(y2 - y1, 1)))
    with _lock_for(label_path):
        images = read_labels(label_path) if label_path.exists() else []
        taken = {item.name for item in images}
        stem, counter = name, 1
        while f"{event}/{stem}.jpg" in taken or (folder / f"{stem}.jpg").exists():
            counter += 1
            stem = f"{name}_{counter}"
        image_path = folder / f"{stem}.jpg"
        bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(image_path), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"could not write {image_path}")
        images.append(ImageLabels(f"{event}/{stem}.jpg", boxes))
        write_labels(label_path, images)
    log.info("snapshot %s with %d faces into %s", image_path, len(boxes), label_path)
    return Snapshot(image_path, label_path, f"{event}/{stem}.jpg", len(boxes))
