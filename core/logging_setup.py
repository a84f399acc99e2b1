"""Logging to the console and to a rotating file in the user's data directory."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from core.paths import user_data_dir

_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO, log_dir: Path | None = None) -> Path:
    """Install a console handler and a rotating file handler (1 MB x 5).

    Idempotent: calling it twice does not duplicate handlers. Returns the log
    file path so the GUI can offer to open it.
    """
    log_dir = log_dir or (user_data_dir() / "logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "facescope.log"
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_facescope", False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler()
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    for handler in (console, file_handler):
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._facescope = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    return log_file
