"""The weights error, in a module without torch so the GUI can catch it without importing the engine."""

from __future__ import annotations

from pathlib import Path

from core.errors import FaceScopeError


class WeightsError(FaceScopeError):
    """A bundled weight file is missing, corrupt or of the wrong format.

    An installation fault, not the user's input: the CLI exits 1 and the
    workbench keeps the traceback for the bug report; the message names the
    tool that regenerates the file.
    """

    def __init__(self, path: Path, reason: str, regenerate: str | None = None):
        self.path = path
        self.reason = reason
        self.regenerate = regenerate
        hint = f"; regenerate it with: {regenerate}" if regenerate else ""
        super().__init__(f"model weights {path}: {reason}{hint}")
