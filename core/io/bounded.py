"""Reading a file the user named without trusting it: regular files only, and a size cap.

A path can name a FIFO (the read never returns), a character device such as
``/dev/zero`` (the read never ends), or a sparse file of gigabytes (the read
exhausts memory). :func:`read_bytes_bounded` looks at what the path is before
opening it and refuses anything but a regular file under the cap, with a
sentence that names the file, what it is, and how to raise the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import UserError

MIB = 1024 * 1024


class InputFileError(UserError, OSError):
    """A file the user named cannot be read safely: not a regular file, or over its size cap."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def describe_size(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size} bytes"


def read_bytes_bounded(
    path: str | os.PathLike, max_bytes: int, *, what: str = "file", hint: str = ""
) -> bytes:
    """The bytes of ``path``, a regular file (symlinks followed) of at most ``max_bytes``.

    what: how the message names the file ("prediction file").
    hint: how the user raises the cap (e.g. ``"--max-prediction-mb"``), added to the message.
    Raises :class:`InputFileError` (a ``UserError`` and an ``OSError``); a missing
    file raises ``FileNotFoundError`` as ``open`` would.
    """
    path = Path(path)
    info = os.stat(path)  # follows a symlink: a link to /dev/zero is judged by its target
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(path, f"the {what} is {_kind(info.st_mode)}; expected a regular file")
    limit = f"the limit is {describe_size(max_bytes)}" + (f" (raise it with {hint})" if hint else "")
    if info.st_size > max_bytes:
        raise InputFileError(path, f"the {what} is {describe_size(info.st_size)}; {limit}")
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew between the stat and the read
        raise InputFileError(path, f"the {what} is larger than {describe_size(max_bytes)}; {limit}")
    return data
