"""One cache of loaded detectors for the whole workbench (weights load once, in a worker)."""

from __future__ import annotations

import threading

from app.settings import Keys, Settings
from core.detect.protocol import Detector
from core.detect.registry import NEEDS_CHECKPOINT, create_detector


class DetectorCache:
    """Detectors built on first use (call :meth:`get` from a worker: loading is slow) and reused.

    settings: where checkpoints of detectors that need one are looked up
    (``Keys.DETECTION_CHECKPOINT(name)``); a new checkpoint builds a new detector.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._detectors: dict[tuple[str, str | None], Detector] = {}

    def checkpoint(self, name: str) -> str | None:
        if name not in NEEDS_CHECKPOINT or self._settings is None:
            return None
        return self._settings.get(Keys.DETECTION_CHECKPOINT(name)) or None

    def get(self, name: str) -> Detector:
        checkpoint = self.checkpoint(name)
        key = (name, checkpoint)
        with self._lock:
            if key not in self._detectors:
                kwargs = {"checkpoint": checkpoint} if name in NEEDS_CHECKPOINT else {}
                self._detectors[key] = create_detector(name, **kwargs)
            return self._detectors[key]
