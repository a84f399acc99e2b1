"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every write goes to a temporary file in the target's folder, is flushed (and
fsync'ed when asked), then ``os.replace``d over the target, so the target is
either the old file or the new one, never a truncated mix. Used for label
files, prediction files, checkpoints, weight containers and caches alike.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


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
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    chmod = _default_mode(target) if permissions is None else permissions
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
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
