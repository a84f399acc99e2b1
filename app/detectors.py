"""One cache of loaded detectors for the whole workbench (weights load once, in a worker),
and the detector menu every panel offers (titles from the detector table, labels as tooltips).

A detector menu shows each detector's readable title and keeps its registry name as
the item's data: panels read and set it with :func:`selected_detector` and
:func:`select_detector`, never through the shown text, so settings and jobs keep
the names the engine and the command line know."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from app.settings import Keys, Settings
from core.detect.protocol import Detector
from core.detect.registry import DETECTORS, FAST, detector_spec
from core.keyed_cache import KeyedCache

MIN_TITLE_CHARS = 12  # "CenterFace (…" still names the detector
POPUP_MARGIN_PX = 24  # room for the list's frame and scroll bar


def fill_detector_box(box: QComboBox) -> None:
    """Offer every detector of the table in ``box``: its title shown, its name as the item's data."""
    for spec in DETECTORS.values():
        box.addItem(spec.title, spec.name)
        tooltip = f"{spec.label}\n(named {spec.name} in settings and on the command line)"
        box.setItemData(box.count() - 1, tooltip, Qt.ItemDataRole.ToolTipRole)
    # Titles are longer than ids: the box may shrink to an elided title instead of widening its
    # dock, and its list opens wide enough to read every title in full.
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(MIN_TITLE_CHARS)
    box.view().setMinimumWidth(box.view().sizeHintForColumn(0) + POPUP_MARGIN_PX)


def selected_detector(box: QComboBox) -> str:
    """The registry name of the detector chosen in a box filled by :func:`fill_detector_box`."""
    return str(box.currentData())


def select_detector(box: QComboBox, name: str) -> bool:
    """Choose the detector named ``name``; False (the choice unchanged) for a name the box lacks."""
    index = box.findData(name)
    if index >= 0:
        box.setCurrentIndex(index)
    return index >= 0


class DetectorCache:
    """Detectors built on first use (call :meth:`get` from a worker: loading is slow) and reused.

    settings: where checkpoints of detectors that need one are looked up
    (``Keys.DETECTION_CHECKPOINT(name)``); a new checkpoint builds a new detector. The
    networks behind the detectors are shared further through the network cache.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._detectors: KeyedCache[tuple[str, str | None, str], Detector] = KeyedCache()

    def checkpoint(self, name: str) -> str | None:
        if not detector_spec(name).takes_checkpoint or self._settings is None:
            return None
        return self._settings.get(Keys.DETECTION_CHECKPOINT(name)) or None

    def get(self, name: str, mode: str = FAST) -> Detector:
        """The detector ``name`` in ``mode`` (fast, or accurate: scales + mirror + box voting)."""
        checkpoint = self.checkpoint(name)
        return self._detectors.get(
            (name, checkpoint, mode), lambda: detector_spec(name).create(mode, checkpoint=checkpoint)
        )
