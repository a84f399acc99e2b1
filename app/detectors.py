"""One cache of loaded detectors for the whole workbench (weights load once, in a worker),
and the detector menu every panel offers (names from the detector table, labels as tooltips)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.settings import Keys, Settings
from core.detect.protocol import Detector
from core.detect.registry import DETECTORS, detector_spec
from core.keyed_cache import KeyedCache


def fill_detector_box(box: QComboBox) -> None:
    """Offer every detector of the table in ``box``, by name, its one-line label as the tooltip."""
    for spec in DETECTORS.values():
        box.addItem(spec.name)
        box.setItemData(box.count() - 1, spec.label, Qt.ItemDataRole.ToolTipRole)


class DetectorCache:
    """Detectors built on first use (call :meth:`get` from a worker: loading is slow) and reused.

    settings: where checkpoints of detectors that need one are looked up
    (``Keys.DETECTION_CHECKPOINT(name)``); a new checkpoint builds a new detector. The
    networks behind the detectors are shared further through the network cache.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._detectors: KeyedCache[tuple[str, str | None], Detector] = KeyedCache()

    def checkpoint(self, name: str) -> str | None:
        if not detector_spec(name).needs_checkpoint or self._settings is None:
            return None
        return self._settings.get(Keys.DETECTION_CHECKPOINT(name)) or None

    def get(self, name: str) -> Detector:
        checkpoint = self.checkpoint(name)
        return self._detectors.get(
            (name, checkpoint), lambda: detector_spec(name).create(checkpoint=checkpoint)
        )
