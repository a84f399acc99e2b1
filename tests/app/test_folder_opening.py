"""Opening folders: sub-folder trees (WIDER ``images/``), empty folders, and what the status bar says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.main_window import MainWindow
from app.settings import Keys, Settings


def _jpeg(path: Path, width: int = 80, height: int = 60) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(path, format="JPEG")
    return path


def _wider_like_images(tmp_path: Path) -> Path:
    images = tmp_path / "WIDER_val" / "images"
    _jpeg(images / "0--Parade" / "a.jpg")
    _jpeg(images / "1--Handshaking" / "b.jpg", width=90)
    return images


def _wait_image(qtbot, window: MainWindow, name: str) -> None:
    qtbot.waitUntil(
        lambda: window.workbench.current is not None and window.workbench.current.path.name == name,
        timeout=5000,
    )


def _display_names(window: MainWindow) -> list[str]:
    model = window.file_model
    return [model.data(model.index(row), Qt.ItemDataRole.DisplayRole) for row in range(model.rowCount())]


def test_wider_images_folder_opens_through_its_event_sub_folders(qtbot, window, tmp_path):
    images = _wider_like_images(tmp_path)
    window.open_folder(images)
    _wait_image(qtbot, window, "a.jpg")
    assert _display_names(window) == ["0--Parade/a.jpg", "1--Handshaking/b.jpg"]
    assert window.file_model.path_at(1) == images / "1--Handshaking" / "b.jpg"
    assert f"2 images in 2 sub-folders of {images}" in window.statusBar().currentMessage()
    assert "0--Parade/a.jpg" in window.position_label.text()
    assert window.size_label.text() == "80×60"
    window.next_image()
    _wait_image(qtbot, window, "b.jpg")


def test_long_sub_folder_rows_fit_the_list_width(qtbot, window, tmp_path):
    images = tmp_path / "images"
    _jpeg(images / "12--Group" / ("12_Group_Large_Group_" + "x" * 80 + ".jpg"))
    window.layout_manager.set_file_list_width(200)
    window.open_folder(images)
    qtbot.waitUntil(lambda: 0 < window.file_view.viewport().width() < 300)
    # with uniform item sizes the first row's width is every row's: it must not ask for more than the
    # list has (a horizontal scroll bar, other rows clipped); the long name is elided instead
    hint = window.file_view.sizeHintForIndex(window.file_model.index(0))
    assert hint.width() <= window.file_view.viewport().width()
    assert hint.height() > 0


def test_open_folder_with_sub_folders_action_lists_both_levels(qtbot, window, tmp_path, monkeypatch):
    folder = tmp_path / "mixed"
    _jpeg(folder / "top.jpg")
    _jpeg(folder / "event" / "below.jpg")
    window.open_folder(folder)  # plain opening: the folder's own images only
    _wait_image(qtbot, window, "top.jpg")
    assert _display_names(window) == ["top.jpg"]

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    window.actions["open_folder_recursive"].trigger()
    assert _display_names(window) == ["event/below.jpg", "top.jpg"]
    assert f"2 images in {folder} and 1 of its sub-folders" in window.statusBar().currentMessage()


def test_empty_folder_clears_the_last_images_status(qtbot, window, tmp_path):
    _jpeg(tmp_path / "photos" / "a.jpg")
    window.open_folder(tmp_path / "photos")
    _wait_image(qtbot, window, "a.jpg")
    assert window.size_label.text() == "80×60"

    empty = tmp_path / "empty"
    (empty / "nothing_here").mkdir(parents=True)
    window.open_folder(empty)
    assert window.workbench.current is None
    assert window.file_model.rowCount() == 0
    for label in (window.size_label, window.timing_label, window.position_label):
        assert label.text() == ""
    expected = f"No images in {empty} or its sub-folders."
    assert window.statusBar().currentMessage() == expected
    assert window.view.message_text == expected

    window.open_folder(tmp_path / "photos")  # images again: the notice goes
    _wait_image(qtbot, window, "a.jpg")
    assert "No images" not in window.statusBar().currentMessage()


def test_min_score_labels_show_the_stored_value_after_a_restart(qtbot, settings, tmp_path):
    # 0.29 and 0.57 are below a whole hundredth in binary: truncating would show 0.28 / 0.56
    settings.set(Keys.DETECTION_MIN_SCORE, 0.29)
    settings.set(Keys.LIVE_MIN_SCORE, 0.57)
    settings.sync()
    window = MainWindow(Settings(tmp_path / "settings" / "facescope.ini"))  # read back from the file
    qtbot.addWidget(window)
    try:
        assert window.panel("detection").score_label.text() == "0.29"
        assert window.panel("live").score_label.text() == "0.57"
        window.panel("detection").score_slider.setValue(40)
        assert window.panel("detection").score_label.text() == "0.40"
    finally:
        window.close()
