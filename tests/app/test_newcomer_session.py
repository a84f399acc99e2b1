"""A newcomer's first hour, scripted: one session through every stumble a test can reach.

Each step names what a first-time user met before it was fixed; the per-item tests beside
this file go deeper. The session shares one window, as a user's hour does, so a fix that
only works on a fresh window (or breaks the next panel) shows up here.
"""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.detectors import select_detector
from app.dialogs import about
from app.main_window import MainWindow
from app.settings import Settings
from core.annotate.review import sidecar_path
from core.wider.labels import read_labels
from tests.app.test_annotation_helpers import drag, open_split
from tests.app.test_evaluation_panel import _evaluate, _split
from tests.app.test_folder_opening import _display_names, _wait_image, _wider_like_images
from tests.app.test_training_data_plan import _point_at, _val_only
from tests.core.annotate.wider_fixture import make_split

CTRL = Qt.KeyboardModifier.ControlModifier


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _samples_and_detection(qtbot, window: MainWindow) -> None:
    """Open the bundled samples, detect, read the groups, pick a face in the list."""
    window.actions["open_samples"].trigger()
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    assert window.file_model.rowCount() >= 3 and window.size_label.text()
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    assert select_detector(panel.model_box, "centerface")
    assert panel.model_box.currentText() == "CenterFace (WIDER, 5 landmarks)"  # a name, not an id
    panel.run_detection()
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=60000)
    assert panel.branch_group.title() == "Size bins" and panel.face_list.count() > 0
    # a face picked in the list is outlined on the image, and its layer is listed in the legend
    item = panel.face_list.item(0)
    qtbot.mouseClick(
        panel.face_list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=panel.face_list.visualItemRect(item).center(),
    )
    assert window.view.layers.highlighted == pytest.approx(item.data(Qt.ItemDataRole.UserRole))
    assert window.view.layers.active == "detection" and "Detection" in window.view.legend.titles()
    assert select_detector(panel.model_box, "ssd")  # SSD's groups are layers, not face sizes
    assert panel.branch_group.title() == "Layer groups"
    assert not any("px" in box.text() for box in panel.branch_boxes.values())
    assert select_detector(panel.model_box, "centerface")


def _folders(qtbot, window: MainWindow, tmp_path) -> None:
    """A WIDER images/ folder opens through its event sub-folders; an empty one clears the status."""
    images = _wider_like_images(tmp_path)
    window.open_folder(images)
    _wait_image(qtbot, window, "a.jpg")
    assert _display_names(window) == ["0--Parade/a.jpg", "1--Handshaking/b.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_folder(empty)
    assert window.workbench.current is None and window.size_label.text() == ""
    assert window.statusBar().currentMessage().startswith("No images in")


def _annotation(qtbot, window: MainWindow, tmp_path) -> None:
    """Edits go to a working copy; Ctrl+Z undoes and Ctrl+Y redoes."""
    label_path, images_root = make_split(tmp_path / "annotate")
    before = _sha(label_path)
    panel = open_split(qtbot, window, label_path, images_root)
    stack = panel.editor.undo_stack
    drag(window, (250, 150), (290, 200))  # an empty area: draws a box
    assert stack.index() == 1 and window.view.layers.active == "annotation"
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(window.view, Qt.Key.Key_Y, CTRL)
    assert stack.index() == 1
    qtbot.keyClick(window.view, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: panel.save_label.text() == "saved", timeout=5000)
    assert _sha(label_path) == before
    assert len(read_labels(sidecar_path(label_path, "edit.txt"))[0].faces) == 4
    panel.editor.close_split()


def _evaluation(qtbot, window: MainWindow, tmp_path) -> None:
    """Evaluate; an error picked in the list is highlighted over the dimmed other layers."""
    window.show_panel("evaluation")
    panel = window.panel("evaluation")
    label_file, pred, images = _split(tmp_path / "eval", drop_prediction=("0--Parade/0_Parade_a.jpg", 1))
    before = _sha(label_file)
    _evaluate(qtbot, panel, label_file, pred, images)
    assert panel.run.result.ap()["hard"] < 1.0
    panel.queue_list.setFocus()
    panel.queue_list.setCurrentRow(0)
    qtbot.waitUntil(lambda: panel.error_list.count() > 0, timeout=5000)
    qtbot.waitUntil(lambda: bool(panel._review_items), timeout=5000)
    panel.error_list.setCurrentRow(0)
    x1, y1, x2, y2 = panel.errors[0][1]
    assert window.view.layers.highlighted == pytest.approx((x1, y1, x2, y2))
    assert window.view.layers.names()[-1] == "evaluation"
    assert window.view.legend.titles()[0] == "Evaluation"
    assert _sha(label_file) == before
    # a closed panel lets go of its run and leaves the canvas
    window.close_panel("evaluation")
    assert panel.run is None and "Evaluation" not in window.view.legend.titles()


def _training_and_about(qtbot, window: MainWindow, tmp_path) -> None:
    """A val-only WIDER folder gives a plan, not a traceback; About names the version."""
    window.show_panel("training")
    panel = window.panel("training")
    _point_at(panel, _val_only(tmp_path / "wider"))
    qtbot.waitUntil(lambda: panel.data_plan.text().startswith("WIDER val split: 1 images"), timeout=10000)
    assert not window.error_dialog.isVisible()
    window.actions["about"].trigger()
    box = window.findChild(QMessageBox, "about_box")
    assert box is not None and f"FaceScope {about.package_version()}" in box.text()
    box.close()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "about_box") is None, timeout=2000)


def test_a_newcomers_first_hour(qtbot, window, settings, tmp_path):
    screen = window.screen().availableGeometry()
    _samples_and_detection(qtbot, window)
    _folders(qtbot, window, tmp_path)
    _annotation(qtbot, window, tmp_path)
    _evaluation(qtbot, window, tmp_path)
    _training_and_about(qtbot, window, tmp_path)
    assert window.frameGeometry().height() <= screen.height()  # every panel opened, still on screen
    window.panel("detection").score_slider.setValue(37)
    settings.sync()
    restarted = MainWindow(Settings(settings.path))  # the min score is shown after a restart
    qtbot.addWidget(restarted)
    try:
        assert restarted.panel("detection").score_label.text() == "0.37"
    finally:
        restarted.close()
