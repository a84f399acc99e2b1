"""A parsed-ground-truth cache: the columnar arrays of a :class:`WiderGroundTruth`, kept as ``.npz``.

Parsing the eval_tools ``.mat`` files (MATLAB v5, read in pure Python) takes
most of a full-val ``wider-eval``, although the evaluation itself takes a
fraction of a second. The parsed arrays are stored under the user data dir,
keyed by the source files' contents (SHA-1), so an edited or replaced ground
truth is parsed afresh, and a cache file that fails to load or to validate
(truncated, tampered) is ignored with a log line and rewritten. The source
files are only ever read.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from core.atomic import atomic_write
from core.paths import user_data_dir

log = logging.getLogger(__name__)

#: bump when the arrays' meaning changes: old cache files are then never read
CACHE_VERSION = "wider-gt-v1"


class ArrayBacked(Protocol):
    """What the cache stores: an object that is its arrays (``WiderGroundTruth``)."""

    def to_arrays(self) -> dict[str, np.ndarray]: ...


def default_cache_dir() -> Path:
    return user_data_dir() / "cache" / "wider_ground_truth"


def source_digest(sources: Sequence[Path]) -> str:
    """SHA-1 of the cache version and each source file's absolute path and bytes (the path: the
    ground truth names its source)."""
    digest = hashlib.sha1(CACHE_VERSION.encode())
    for path in sources:
        digest.update(str(path.resolve()).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def cached_ground_truth(
    sources: Sequence[str | os.PathLike],
    parse: Callable[[], ArrayBacked],
    from_arrays: Callable[[dict[str, np.ndarray]], ArrayBacked],
    cache_dir: str | os.PathLike | None = None,
):
    """``parse()``'s ground truth, or ``from_arrays`` of the cached arrays when ``sources`` are unchanged.

    sources: every file ``parse`` reads. from_arrays: rebuilds and validates (``ValueError``
    for arrays that do not fit together). A failure to write the cache is logged and
    ignored: the parsed ground truth is returned either way.
    """
    paths = [Path(s) for s in sources]
    try:
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache_file = folder / f"{source_digest(paths)}.npz"
    except OSError as exc:  # no user data dir, or a source unreadable: parsing says what is wrong
        log.debug("ground-truth cache unavailable: %s", exc)
        return parse()
    if cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as data:
                return from_arrays({name: data[name] for name in data.files})
        except Exception as exc:  # a damaged or foreign file: the source is still there to parse
            log.warning("%s: unreadable cached ground truth (%s); parsing the source again", cache_file, exc)
    gt = parse()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache_file, "wb", fsync=False) as handle:  # a cache: rebuilt if lost
            np.savez(handle, **gt.to_arrays())
    except OSError as exc:
        log.warning("could not cache the parsed ground truth in %s: %s", folder, exc)
    return gt
