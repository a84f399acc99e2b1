"""Annotation editor: autosave, failed saves, crash recovery, read-only label files, close.

Every save lands in the working copy (``<labels>.facescope-edit.txt``); the source stays as it was.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsView

from core.annotate import saving as saving_module
from core.annotate.review import sidecar_path
from core.annotate.split import AnnotationSplit
from core.wider.labels import FaceBox, read_labels
from tests.app.test_annotation_helpers import drag, open_split, panel_of, rows
from tests.core.annotate.wider_fixture import label_text, make_split


def edited(label_path):
    return sidecar_path(label_path, "edit.txt")


def test_autosave_after_a_short_debounce(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    source = label_path.read_bytes()
    panel = open_split(qtbot, window, label_path, images_root)
    panel.editor.autosaver._timer.setInterval(50)
    drag(window, (250, 150), (290, 200))
    journal = sidecar_path(label_path, "journal.jsonl")
    assert journal.exists()  # the edit is durable before any save
    qtbot.waitUntil(lambda: edited(label_path).exists(), timeout=5000)
    qtbot.waitUntil(lambda: panel.save_label.text() == "saved", timeout=5000)
    assert len(read_labels(edited(label_path))[0].faces) == 4 and label_path.read_bytes() == source
    assert not journal.exists() and not panel.editor.split.dirty
    row = window.file_model.data(window.file_model.index(0), Qt.ItemDataRole.DisplayRole)
    assert row == "○ 0--Parade/0_Parade_a_1.jpg  [4]"


def test_failed_autosave_keeps_the_file_and_shows_one_error(qtbot, window, tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    before = label_path.read_bytes()
    panel = open_split(qtbot, window, label_path, images_root)
    saver = panel.editor.autosaver

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saving_module, "write_text_atomic", disk_full)
    for target in ((250, 150), (250, 100)):
        drag(window, target, (target[0] + 30, target[1] + 30))
        saver.save_now()
        qtbot.waitUntil(lambda: not saver.busy, timeout=5000)
    assert "save failed" in panel.save_label.text() and "No space left" in panel.save_label.text()
    assert window.error_dialog.count == 1  # one error for the streak, not one per attempt
    assert label_path.read_bytes() == before and not edited(label_path).exists()
    assert sidecar_path(label_path, "journal.jsonl").exists()
    window.error_dialog.hide()
    monkeypatch.undo()
    saver.save_now()
    qtbot.waitUntil(lambda: panel.save_label.text() == "saved", timeout=5000)
    assert len(read_labels(edited(label_path))[0].faces) == 5 and saver.error is None
    assert label_path.read_bytes() == before


def test_crash_journal_is_offered_and_restored(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    crashed = AnnotationSplit.open_wider(label_path, images_root)
    crashed.set_faces(0, [FaceBox(1, 2, 30, 40)])
    del crashed  # killed before saving
    panel = open_split(qtbot, window, label_path, images_root)
    assert panel.restore_button.isVisibleTo(panel) and "can be restored" in panel.banner.text()
    assert window.view.dragMode() == QGraphicsView.DragMode.ScrollHandDrag  # no editing until decided
    assert len(rows(panel)) == 3
    panel.restore_button.click()
    assert rows(panel) == [[1, 2, 30, 40, 0, 0, 0, 0, 0, 0]]
    assert window.view.dragMode() == QGraphicsView.DragMode.NoDrag
    assert not panel.restore_button.isVisibleTo(panel)
    panel.editor.autosaver.flush()
    assert len(read_labels(edited(label_path))[0].faces) == 1
    assert label_path.read_text(encoding="utf-8") == label_text()


def test_corrupt_label_file_opens_read_only(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    broken = label_text().replace("\n3\n", "\n3x\n", 1)
    label_path.write_text(broken, encoding="utf-8")
    panel = open_split(qtbot, window, label_path, images_root)
    assert "Read-only" in panel.banner.text() and f"{label_path.name}:2" in panel.banner.text()
    assert "(read-only)" in panel.split_label.text()
    assert window.view.dragMode() == QGraphicsView.DragMode.ScrollHandDrag
    assert panel.editor.push([FaceBox(0, 0, 9, 9)], "Draw box", {0}) is False
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    panel.editor.close_split()
    assert label_path.read_text(encoding="utf-8") == broken
    assert not sidecar_path(label_path, "journal.jsonl").exists()
    assert not sidecar_path(label_path, "review.json").exists() and not edited(label_path).exists()


def test_closing_the_window_saves_pending_edits(qtbot, settings, tmp_path):
    from app.main_window import MainWindow

    label_path, images_root = make_split(tmp_path)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    panel = open_split(qtbot, window, label_path, images_root)
    drag(window, (250, 150), (290, 200))
    assert panel.editor.split.dirty and panel is panel_of(window)
    window.close()
    assert len(read_labels(edited(label_path))[0].faces) == 4
    assert label_path.read_text(encoding="utf-8") == label_text()
    assert not sidecar_path(label_path, "journal.jsonl").exists()
