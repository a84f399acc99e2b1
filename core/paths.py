"""Where FaceScope keeps things: bundled resources and the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"
MODELS_DIR = RESOURCES / "models"
SAMPLES_DIR = RESOURCES / "samples"
SHARED_DIR = REPO_ROOT.parent / "shared"


def user_data_dir() -> Path:
    """Per-user writable directory (logs, templates, recovery journals).

    ``FACESCOPE_DATA_DIR`` overrides it (tests point it into ``tmp_path``);
    otherwise ``$XDG_DATA_HOME/facescope`` or ``~/.local/share/facescope``.
    Created on first use.
    """
    override = os.environ.get("FACESCOPE_DATA_DIR")
    if override:
        path = Path(override)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "facescope"
    path.mkdir(parents=True, exist_ok=True)
    return path
