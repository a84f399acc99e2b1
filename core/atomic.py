"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every write goes to a temporary file in the target's folder, is flushed (and
fsync'ed when asked), then ``os.replace``d over the target, so the target is
either the old file or the new one, never a truncated mix. Used for label
files, prediction files, checkpoints, weight containers and caches alike.

A target that is a symbolic link is written through: the link's resolved
target is replaced and the link stays, so a label file kept as a link into a
shared folder really changes. A writer killed between creating its temporary
file and the rename leaves ``.<name>.<8 random chars>.tmp`` behind;
:func:`remove_stale_temporaries` clears those of one target.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# a temporary file older than this cannot belong to a write in progress in this process
PROCESS_STARTED = time.time()
# tempfile.mkstemp's random part: 8 characters of this alphabet
_RANDOM_PART = r"[a-z0-9_]{8}"


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}."


def _default_mode(target: Path) -> int:
    """Keep an existing file's permissions; new files get the umask's default."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "wb", *, fsync: bool = True, permissions: int | None = None
) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces ``path``.

    mode: ``"wb"`` or ``"w"`` (text is UTF-8, line ends written as given).
    fsync: flush to disk before the rename (label files, checkpoints); caches
        that can be rebuilt may skip it and keep only the rename guarantee.
    permissions: the file's mode bits; by default those of the file being
        replaced, else what the umask gives a new file (``mkstemp``'s 0600 is
        never left behind).
    On an exception the temporary file is removed and the target is untouched.
    """
    target = Path(os.path.realpath(path))  # a symlink is written through, never replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    chmod = _default_mode(target) if permissions is None else permissions
    fd, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(target), suffix=".tmp", dir=target.parent)
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if text else {})) as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, chmod)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str, *, fsync: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", fsync=fsync) as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb", fsync=fsync) as handle:
        handle.write(data)
    return Path(path)


def remove_stale_temporaries(path: str | os.PathLike, older_than: float = PROCESS_STARTED) -> list[Path]:
    """Remove the temporary files that killed atomic writes of ``path`` left in its folder.

    Only names this module makes for ``path`` (``.<name>.<8 random chars>.tmp``)
    and only those last modified before ``older_than`` (by default when this
    process started, so no write of ours is in progress on them). Returns what
    was removed; a file that cannot be removed is logged and left.
    """
    target = Path(os.path.realpath(path))
    pattern = re.compile(re.escape(_temporary_prefix(target)) + _RANDOM_PART + r"\.tmp")
    removed: list[Path] = []
    try:
        candidates = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return removed
    for candidate in candidates:
        try:
            if not candidate.is_file() or candidate.is_symlink() or candidate.stat().st_mtime >= older_than:
                continue
            candidate.unlink()
        except OSError as exc:
            log.warning("stale temporary file %s not removed: %s", candidate, exc)
            continue
        removed.append(candidate)
    if removed:
        log.info("removed %d stale temporary file(s) of %s", len(removed), target)
    return removed
