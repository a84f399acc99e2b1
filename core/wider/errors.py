"""The one error type of the WIDER label reader (re-exported by :mod:`core.wider.labels`)."""

from __future__ import annotations

import os


class WiderFormatError(ValueError):
    """A WIDER label file is malformed. ``path`` and 1-based ``line`` say where."""

    def __init__(self, path: str | os.PathLike, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")
