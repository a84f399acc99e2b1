"""Help ▸ About names the version; redo answers to Ctrl+Y and Ctrl+Shift+Z; a command keeps two shortcuts."""

from __future__ import annotations

from importlib import metadata

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

import core
from app.dialogs import about
from core.paths import REPO_ROOT
from tests.app.test_annotation_helpers import drag, open_split
from tests.core.annotate.wider_fixture import make_split

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def test_about_box_shows_the_package_version(qtbot, window):
    window.actions["about"].trigger()
    box = window.findChild(QMessageBox, "about_box")
    assert box is not None and box.isVisible()
    assert f"FaceScope {about.package_version()}" in box.text()
    assert about.package_version()[:1].isdigit()
    box.close()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "about_box") is None, timeout=2000)


def test_version_falls_back_to_the_source_tree_when_not_installed(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(about.metadata, "version", not_installed)
    assert about.package_version() == core.__version__


def test_source_tree_version_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")
    with open(REPO_ROOT / "pyproject.toml", "rb") as handle:
        assert tomllib.load(handle)["project"]["version"] == core.__version__


@pytest.mark.parametrize("redo_key, modifiers", [(Qt.Key.Key_Y, CTRL), (Qt.Key.Key_Z, CTRL_SHIFT)])
def test_redo_keys_in_the_annotation_editor(qtbot, window, tmp_path, redo_key, modifiers):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    stack = panel.editor.undo_stack
    drag(window, (250, 150), (290, 200))  # empty area: draws a box
    assert stack.count() == 1 and stack.index() == 1
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, CTRL)
    assert stack.index() == 0
    qtbot.keyClick(window.view, redo_key, modifiers)
    assert stack.index() == 1


def test_shortcuts_dialog_keeps_an_alternative(qtbot, window):
    from app.dialogs.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.editors["ann_redo"].keySequence() == QKeySequence("Ctrl+Shift+Z")
    assert dialog.alternative_editors["ann_redo"].keySequence() == QKeySequence("Ctrl+Y")
    dialog.alternative_editors["zoom_fit"].setKeySequence(QKeySequence("Ctrl+F"))
    dialog.accept()
    window.apply_shortcuts()
    assert window.actions["zoom_fit"].shortcuts() == [QKeySequence("F"), QKeySequence("Ctrl+F")]
    assert window.settings.shortcut("zoom_fit") == "F; Ctrl+F"
    assert window.settings.shortcut("ann_redo") == "Ctrl+Shift+Z; Ctrl+Y"  # the default, unchanged
