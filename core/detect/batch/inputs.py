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

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.io.files import expand_inputs
from core.io.imageio import IMAGE_SUFFIXES
from core.io.video.reader import VIDEO_SUFFIXES

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


def expand_batch_inputs(paths: Iterable[str | os.PathLike], recursive: bool = False) -> list[WorkItem]:
    """Work items for command-line paths (see the module docstring)."""
    return [item_for(path) for path in expand_inputs(paths, recursive, MEDIA_SUFFIXES, globs=True)]
