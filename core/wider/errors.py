"""Errors of the WIDER readers: a malformed file, located by path and line.

:class:`WiderFormatError` (label files, re-exported by :mod:`core.wider.labels`)
and :class:`~core.wider.predictions.PredictionFormatError` (prediction files)
share :class:`LocatedFormatError`, so callers can catch either with one clause.
"""

from __future__ import annotations

import os

from core.errors import FormatError


class LocatedFormatError(FormatError, ValueError):
    """A text file is malformed. ``path`` and 1-based ``line`` (or ``None``) say where."""

    def __init__(self, path: str | os.PathLike, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class WiderFormatError(LocatedFormatError):
    """A WIDER label file is malformed."""
