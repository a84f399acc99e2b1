"""Reading a file the user named without trusting it: regular files only, and a size cap.

A path can name a FIFO (the read never returns), a character device such as
``/dev/zero`` (the read never ends), or a sparse file of gigabytes (the read
exhausts memory). :func:`read_bytes_bounded` opens the path without blocking,
looks at what it opened before reading, and refuses anything but a regular
file under the cap, with a
sentence that names the file, what it is, and how to raise the cap.
"""

from __future__ import annotations

import os
import stat

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


def _read_at_most(fd: int, expected: int, max_bytes: int) -> bytes:
    """The bytes of ``fd`` up to EOF, stopping once past ``max_bytes`` (a file that grows);
    the first read asks for the ``expected`` size, so a small file costs no large buffer."""
    parts: list[bytes] = []
    total = 0
    while total <= max_bytes:
        part = os.read(fd, max(expected - total, 1 << 16))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def read_bytes_bounded(
    path: str | os.PathLike, max_bytes: int, *, what: str = "file", hint: str = ""
) -> bytes:
    """The bytes of ``path``, a regular file (symlinks followed) of at most ``max_bytes``.

    what: how the message names the file ("prediction file").
    hint: how the user raises the cap (e.g. ``"--max-prediction-mb"``), added to the message.
    Raises :class:`InputFileError` (a ``UserError`` and an ``OSError``); a missing
    file raises ``FileNotFoundError`` as ``open`` would.
    """
    # O_NONBLOCK: opening a FIFO returns at once (a blocking open waits for a writer); the
    # descriptor is then judged by fstat, so what is read is what was checked
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)  # the target of a symlink: a link to /dev/zero is judged as /dev/zero
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(path, f"the {what} is {_kind(info.st_mode)}; expected a regular file")
        limit = f"the limit is {describe_size(max_bytes)}" + (f" (raise it with {hint})" if hint else "")
        if info.st_size > max_bytes:
            raise InputFileError(path, f"the {what} is {describe_size(info.st_size)}; {limit}")
        data = _read_at_most(fd, min(info.st_size, max_bytes) + 1, max_bytes)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew between the fstat and the read
        raise InputFileError(path, f"the {what} is larger than {describe_size(max_bytes)}; {limit}")
    return data
