"""Help ▸ About: what FaceScope is and which version runs, for bug reports."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QMessageBox, QWidget

import core

DISTRIBUTION = "facescope"


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's); the source tree's when not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a plain checkout (`python main.py`)
        return core.__version__


def about_text() -> str:
    return (
        f"<b>FaceScope {package_version()}</b> — a workbench for face analysis research.<br>"
        "ScaleFace-style detection per scale branch, DREAM pose-robust recognition, "
        "LMLE imbalanced attributes, WIDER FACE evaluation.<br>"
        "Bundled models: see resources/models/NOTICE.md.<br>"
        f"<small>Python {platform.python_version()}, PySide6 {pyside_version}</small>"
    )


def about_box(parent: QWidget) -> QMessageBox:
    """The About box, not yet shown (the caller opens it window-modal, so tests can read it)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About FaceScope", about_text(), parent=parent)
    box.setObjectName("about_box")
    return box
