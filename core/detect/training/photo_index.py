"""Face boxes of unlabelled photos, found once with a teacher detector and cached.

Composite scenes (:mod:`core.detect.training.composite`) need each source
photo's face box, and real background photos need their faces marked so they
are not taught as background. Neither has labels, so a teacher — the bundled
CenterFace — finds them (*distillation*): at the photo's size and, for small
photos, twice that, each also mirrored; the detections are merged by NMS.

* :func:`face_photos`: the photo's main face (largest confident box); photos
  without one, or with a second face nearly as large, are left out.
* :func:`background_photos`: every teacher face, ``>= target_score`` as a
  target and ``[ignore_score, target_score)`` as an ignore box.

Results are cached in a JSON file keyed by path, size and modification time,
written atomically every ``save_every`` photos, so an interrupted scan resumes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from core.atomic import write_text_atomic
from core.detect.training.composite import BackgroundPhoto, FacePhoto
from core.io.imageio import load_image
from core.models.box_ops import nms
from core.progress import Progress

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
CACHE_VERSION = 1
# teacher detections: (boxes (K, 4) x1 y1 x2 y2, scores (K,))
Teacher = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def list_photos(roots: Iterable[str | os.PathLike], limit: int = 0) -> list[Path]:
    """Image files under ``roots`` (recursive, sorted); ``limit`` > 0 keeps an evenly spaced subset."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            found.append(root)
            continue
        found += sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if 0 < limit < len(found):
        found = [found[int(i)] for i in np.linspace(0, len(found) - 1, limit)]
    return found


def centerface_teacher(
    detector, small_side: int = 400, nms_iou: float = 0.4, thorough: bool = True
) -> Teacher:
    """A teacher over a CenterFace detector: the photo, mirrored, and ×2 when its shorter side is small.

    ``thorough=False`` (a portrait's one main face): the photo alone, ×2 only when it finds nothing.
    """

    def run(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not thorough:
            found = detector.detect(image).faces
            if not found and min(image.shape[:2]) < small_side:
                detector.upscale = 2.0
                found = detector.detect(image).faces
                detector.upscale = 1.0
            return (
                np.asarray([f.box for f in found], dtype=np.float64).reshape(-1, 4),
                np.asarray([f.score for f in found], dtype=np.float64),
            )
        boxes, scores = [], []
        w = image.shape[1]
        scales = (1.0, 2.0) if min(image.shape[:2]) < small_side else (1.0,)
        for scale in scales:
            detector.upscale = scale
            for flipped in (False, True):
                source = image[:, ::-1].copy() if flipped else image
                result = detector.detect(source)
                for face in result.faces:
                    x1, y1, x2, y2 = face.box
                    boxes.append([w - x2, y1, w - x1, y2] if flipped else [x1, y1, x2, y2])
                    scores.append(face.score)
        detector.upscale = 1.0
        if not boxes:
            return np.zeros((0, 4)), np.zeros((0,))
        b, s = np.asarray(boxes, dtype=np.float64), np.asarray(scores, dtype=np.float64)
        keep = nms(b, s, nms_iou)
        return b[keep], s[keep]

    return run


def _key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"


def scan(
    paths: Sequence[Path],
    teacher: Teacher,
    cache_file: Path,
    *,
    progress: Callable[[Progress], None] | None = None,
    save_every: int = 200,
) -> dict[str, list[list[float]]]:
    """Teacher detections ``[[x1, y1, x2, y2, score], ...]`` per photo key, from the cache or computed."""
    cache: dict[str, list[list[float]]] = {}
    if cache_file.exists():
        try:
            stored = json.loads(cache_file.read_text())
            if stored.get("version") == CACHE_VERSION:
                cache = stored["entries"]
        except (OSError, ValueError, KeyError, AttributeError):
            log.warning("teacher cache %s unreadable; scanning again", cache_file)
    keys = [_key(p) for p in paths]
    todo = [(p, k) for p, k in zip(paths, keys, strict=True) if k not in cache]
    for done, (path, key) in enumerate(todo, start=1):
        try:
            boxes, scores = teacher(load_image(path))
        except (OSError, ValueError) as exc:
            log.warning("skipping %s: %s", path, exc)
            cache[key] = []
            continue
        cache[key] = [[*map(float, b), float(s)] for b, s in zip(boxes, scores, strict=True)]
        if progress is not None:
            progress(Progress(done, len(todo), f"finding faces in photos: {path.name}"))
        if done % save_every == 0 or done == len(todo):
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache_file, json.dumps({"version": CACHE_VERSION, "entries": cache}))
    return {k: cache[k] for k in keys}


def face_photos(
    paths: Sequence[Path], detections: dict[str, list[list[float]]], min_score: float = 0.6
) -> list[FacePhoto]:
    """The photos with one clear main face (a second confident face under 0.6× its height)."""
    out = []
    for path in paths:
        faces = [d for d in detections.get(_key(path), []) if d[4] >= min_score]
        if not faces:
            continue
        faces.sort(key=lambda d: d[3] - d[1], reverse=True)
        main = faces[0]
        if len(faces) > 1 and faces[1][3] - faces[1][1] > 0.6 * (main[3] - main[1]):
            continue
        out.append(FacePhoto(str(path), tuple(main[:4])))
    return out


def background_photos(
    paths: Sequence[Path],
    detections: dict[str, list[list[float]]],
    target_score: float = 0.5,
    ignore_score: float = 0.25,
) -> list[BackgroundPhoto]:
    """Every photo, its teacher faces as targets (confident) or ignore boxes (uncertain)."""
    out = []
    for path in paths:
        faces = [d for d in detections.get(_key(path), []) if d[4] >= ignore_score]
        boxes = np.asarray([d[:4] for d in faces], dtype=np.float32).reshape(-1, 4)
        invalid = np.asarray([d[4] < target_score for d in faces], dtype=bool)
        out.append(BackgroundPhoto(str(path), boxes, invalid))
    return out
