"""Batch detection inputs: files, folders (optionally recursive), glob patterns and videos.

:func:`expand_batch_inputs` turns command-line paths into an ordered list of
:class:`WorkItem` s. The order is part of the contract: outputs are written and
merged in it, so two runs over the same inputs (one process or many, fresh or
resumed) produce the same file.

* a file is kept as given (even without a known suffix, so that a mis-named
  file reports its own error); a video suffix makes it a video;
* a folder contributes its image and video files, naturally sorted
  (``img2`` before ``img10``), hidden files skipped;
* a path that does not exist and contains ``* ? [`` is a glob pattern
  (``**`` descends into sub-folders); it contributes the matching image and
  video files, naturally sorted.

Duplicates are dropped (first occurrence kept). The engine's batch run is in
:mod:`core.detect.batch.run`, resumability in :mod:`core.detect.batch.ledger`.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.io.files import natural_key
from core.io.imageio import IMAGE_SUFFIXES
from core.io.video.reader import VIDEO_SUFFIXES, has_glob

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


@dataclass(frozen=True)
class WorkItem:
    """One input of a batch: an image file, or a video file whose frames are detected."""

    path: Path
    kind: str  # "image" | "video"

    @property
    def key(self) -> str:
        """The path as written in records (and matched on resume)."""
        return str(self.path)


def item_for(path: Path) -> WorkItem:
    return WorkItem(path, "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image")


def list_media(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image and video files in ``folder`` (by suffix, nothing opened), naturally sorted by relative path."""
    root = Path(folder)
    found: list[tuple[tuple, Path]] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")] if recursive else []
        base = Path(current)
        for name in files:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in MEDIA_SUFFIXES:
                continue
            path = base / name
            found.append((natural_key(path.relative_to(root).as_posix()), path))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def expand_batch_inputs(paths: Iterable[str | os.PathLike], recursive: bool = False) -> list[WorkItem]:
    """Work items for command-line paths (see the module docstring)."""
    seen: set[Path] = set()
    items: list[WorkItem] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_dir():
            found = list_media(path, recursive)
            if not found:
                log.warning("no image or video files in folder %s", path)
        elif not path.exists() and has_glob(text):
            found = [
                Path(p)
                for p in sorted(glob.glob(text, recursive=True), key=natural_key)
                if Path(p).suffix.lower() in MEDIA_SUFFIXES and Path(p).is_file()
            ]
            if not found:
                log.warning("no image or video files match %s", text)
        else:
            found = [path]
        for item in found:
            if item not in seen:
                seen.add(item)
                items.append(item_for(item))
    return items
