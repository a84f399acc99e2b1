"""Atomic text writes: a reader never sees a half-written label or prediction file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str, *, fsync: bool = True) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends kept as given) to ``path`` atomically.

    The data goes to a temporary file in the same directory, is flushed (and
    fsync'ed when ``fsync``), then ``os.replace``d over the target, so a crash
    leaves either the old file or the new one, never a truncated mix. Label
    files use ``fsync=True``; prediction folders (thousands of small files that
    can be regenerated) use ``fsync=False`` and keep only the rename guarantee.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target
