"""End-to-end workbench tests through pytest-qt (settings isolated in tmp_path)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence

from app.main_window import MainWindow
from core.paths import SAMPLES_DIR


def _make_folder(tmp_path: Path, count: int = 3, corrupt_at: int | None = None) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(count):
        path = folder / f"img{i}.png"
        if i == corrupt_at:
            path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        else:
            Image.fromarray(np.full((60 + i, 80, 3), 40 * i, np.uint8)).save(path)
    return folder


def _wait_image(qtbot, window: MainWindow, name: str):
    qtbot.waitUntil(
        lambda: window.workbench.current is not None and window.workbench.current.path.name == name,
        timeout=5000,
    )


def test_open_folder_and_navigate(qtbot, window, tmp_path):
    folder = _make_folder(tmp_path)
    window.open_folder(folder)
    _wait_image(qtbot, window, "img0.png")
    assert window.file_model.rowCount() == 3
    assert window.view.image_size == (80, 60)
    assert window.size_label.text() == "80×60"
    window.next_image()
    _wait_image(qtbot, window, "img1.png")
    assert window.view.image_size == (80, 61)
    window.next_image()
    window.next_image()  # past the end: stays on the last
    _wait_image(qtbot, window, "img2.png")
    window.previous_image()
    _wait_image(qtbot, window, "img1.png")
    assert "2/3" in window.position_label.text()
    assert window.settings.recent_paths()[0] == str(folder.resolve())


def test_keyboard_shortcuts_navigate(qtbot, window, tmp_path):
    window.open_folder(_make_folder(tmp_path))
    _wait_image(qtbot, window, "img0.png")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_D)
    _wait_image(qtbot, window, "img1.png")
    qtbot.keyClick(window.view, Qt.Key.Key_A)
    _wait_image(qtbot, window, "img0.png")


def test_zoom_fit_and_actual_size(qtbot, window):
    window.open_samples()
    _wait_image(qtbot, window, "faceapi_demo_1.jpg")
    window.view.actual_size()
    assert window.view.zoom == 1.0
    assert window.zoom_label.text() == "100 %"
    window.view.zoom_in()
    assert abs(window.view.zoom - 1.25) < 1e-9
    window.view.zoom_out()
    window.view.zoom_out()
    assert window.view.zoom < 1.0
    window.view.fit()
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.width() >= 1280 - 1 or visible.height() >= 853 - 1  # the whole image fits


def test_corrupt_file_shows_error_in_place_and_navigation_continues(qtbot, window, tmp_path):
    window.open_folder(_make_folder(tmp_path, count=3, corrupt_at=1))
    _wait_image(qtbot, window, "img0.png")
    window.next_image()
    qtbot.waitUntil(lambda: "Cannot show img1.png" in window.view.message_text, timeout=5000)
    assert window.workbench.current is None
    index = window.file_model.index(1)
    assert "img1.png" in window.file_model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert window.file_model.data(index, Qt.ItemDataRole.ForegroundRole) is not None
    window.next_image()
    _wait_image(qtbot, window, "img2.png")
    assert window.view.message_text == ""


def test_large_folder_opens_lazily(qtbot, window, tmp_path):
    # Timing lives in bench/browse.py; here: 50,000 rows, and only the shown file is decoded.
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(50_000):
        (folder / f"f{i:05d}.jpg").touch()  # empty files: an error appears only for the one opened
    window.open_folder(folder)
    assert window.file_model.rowCount() == 50_000
    qtbot.waitUntil(lambda: "Cannot show f00000.jpg" in window.view.message_text, timeout=5000)


def test_drop_files_onto_window(qtbot, window, tmp_path):
    folder = _make_folder(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "img2.png")), QUrl.fromLocalFile(str(folder / "img0.png"))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    _wait_image(qtbot, window, "img2.png")
    assert [p.name for p in window.file_model.paths()] == ["img2.png", "img0.png"]


def test_error_handler_shows_dialog_and_status(qtbot, window):
    def failing():
        raise OSError("disk on fire")

    window.runner.submit(failing, name="test job")
    qtbot.waitUntil(lambda: window.error_dialog.isVisible(), timeout=5000)
    assert "disk on fire" in window.error_dialog.summary.text()
    assert "test job failed" in window.statusBar().currentMessage()
    assert not window.error_dialog.isModal()
    window.error_dialog.hide()


def test_close_with_a_job_running(qtbot, settings):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()

    def endless():
        while True:
            time.sleep(0.01)
            yield None

    job = window.runner.submit(endless, name="endless")
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    start = time.perf_counter()
    window.close()
    assert time.perf_counter() - start < 5
    assert job.state == "cancelled"
    assert window.runner.running_count() == 0


def test_remapped_shortcut_persists(qtbot, settings, tmp_path):
    settings.set_shortcut("next_image", "N")
    window = MainWindow(settings)
    qtbot.addWidget(window)
    assert window.actions["next_image"].shortcut() == QKeySequence("N")
    window.close()
    settings.set_shortcut("next_image", "D")
    assert settings.shortcut("next_image") == "D"


def test_shortcuts_dialog_lists_and_saves(qtbot, window):
    from app.dialogs.shortcuts import ShortcutsDialog
    from app.settings import SHORTCUTS

    dialog = ShortcutsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == len(SHORTCUTS)
    dialog.editors["zoom_fit"].setKeySequence(QKeySequence("Ctrl+F"))
    dialog.accept()
    window.apply_shortcuts()
    assert window.actions["zoom_fit"].shortcut() == QKeySequence("Ctrl+F")


def test_window_geometry_restored(qtbot, settings):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(760, 590)  # the offscreen screen is 800x600
    qtbot.waitUntil(lambda: first.width() == 760)
    wanted = (first.width(), first.height())  # the docks' minimum heights may round the height up
    first.close()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == wanted
    second.close()


def test_bundled_samples_open(qtbot, window):
    window.open_samples()
    _wait_image(qtbot, window, "faceapi_demo_1.jpg")
    assert window.file_model.rowCount() == len(list(SAMPLES_DIR.glob("*.jpg")))
