"""The Training panel's ScaleFace model preset: a combo box of :mod:`core.detect.training.presets`."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from core.detect.training.presets import PRESET_TITLES, SCALEFACE_PRESETS


def preset_box() -> QComboBox:
    box = QComboBox()
    for key, title in PRESET_TITLES.items():
        box.addItem(title, key)
    box.setToolTip(
        "ScaleFace's starting point; a Config file replaces it, Overrides change any of it "
        "(the CPU model needs a few GB of memory, the paper's ResNet-50 many more)"
    )
    return box


def preset_overrides(box: QComboBox, config_file: str) -> list[str]:
    """The preset's overrides, none when a config file is chosen (the file is the starting point)."""
    return [] if config_file.strip() else list(SCALEFACE_PRESETS[box.currentData()])
