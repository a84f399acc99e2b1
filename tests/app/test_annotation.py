"""Annotation editor end to end: open, draw, move, resize, delete, flags, undo/redo across images."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsView

from core.annotate.review import ReviewState
from tests.app.test_annotation_helpers import click, drag, open_split, rows, wait_index
from tests.core.annotate.wider_fixture import make_split


def test_open_split_lists_images_with_review_marks(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    assert window.file_model.rowCount() == 4
    text = window.file_model.data(window.file_model.index(0), Qt.ItemDataRole.DisplayRole)
    assert text == "○ 0--Parade/0_Parade_a_1.jpg  [3]"
    assert len(panel.editor.canvas.items) == 3
    assert "4 images, 6 faces" in panel.split_label.text()
    assert "unreviewed 4" in panel.review_label.text()
    # the editor owns left-drag while active; leaving the split gives panning back
    assert window.view.dragMode() == QGraphicsView.DragMode.NoDrag
    window.open_folder(images_root / "0--Parade")
    qtbot.waitUntil(lambda: window.view.dragMode() == QGraphicsView.DragMode.ScrollHandDrag, timeout=5000)
    assert (
        window.file_model.data(window.file_model.index(0), Qt.ItemDataRole.DisplayRole) == "0_Parade_a_1.jpg"
    )
    assert panel.editor.canvas.items == []


def test_draw_move_resize_delete_one_undo_step_each(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    editor, stack = panel.editor, panel.editor.undo_stack
    original = rows(panel)

    drag(window, (250, 150), (290, 200))  # empty area: draws a box
    assert stack.count() == 1 and stack.undoText() == "Draw box"
    assert rows(panel)[3] == [250, 150, 40, 50, 0, 0, 0, 0, 0, 0]
    assert editor.canvas.selection == {3}

    drag(window, (40, 55), (52, 47), steps=30)  # inside face 0: a 30-event drag is one move
    assert stack.count() == 2 and stack.undoText() == "Move 1 box"
    assert rows(panel)[0][:4] == [32, 22, 40, 50]

    drag(window, (72, 72), (80, 90))  # face 0's bottom-right handle (32+40, 22+50)
    assert stack.count() == 3 and stack.undoText() == "Resize box"
    assert rows(panel)[0][:4] == [32, 22, 48, 68]

    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert stack.count() == 4 and len(rows(panel)) == 3
    assert len(editor.canvas.items) == 3

    for _ in range(4):
        editor.undo()
    assert rows(panel) == original
    editor.redo()
    assert len(rows(panel)) == 4
    assert editor.split.dirty


def test_tiny_box_stays_selectable_and_nudges_merge(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    window.view.set_zoom(0.5)  # the 6x7 face is 3 screen pixels wide now
    window.view.centerOn(203, 63)
    click(window, 203, 63)
    assert panel.editor.canvas.selection == {2}
    window.view.setFocus()
    for _ in range(3):
        qtbot.keyClick(window.view, Qt.Key.Key_Right)
    qtbot.keyClick(window.view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert rows(panel)[2][:2] == [203, 70]
    assert panel.editor.undo_stack.count() == 1  # a burst of nudges is one step
    panel.editor.undo()
    assert rows(panel)[2][:2] == [200, 60]


def test_selection_band_and_ctrl_click(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    drag(window, (5, 5), (140, 90), modifier=Qt.KeyboardModifier.ShiftModifier)  # rubber band
    assert panel.editor.canvas.selection == {0, 1}
    assert panel.editor.undo_stack.count() == 0
    click(window, 203, 63, Qt.KeyboardModifier.ControlModifier)
    assert panel.editor.canvas.selection == {0, 1, 2}
    click(window, 115, 58, Qt.KeyboardModifier.ControlModifier)
    assert panel.editor.canvas.selection == {0, 2}
    assert panel.attributes.summary.text() == "2 boxes selected (bulk edit)"


def test_attribute_shortcuts_and_bulk_edit(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert panel.editor.canvas.selection == {0, 1, 2}
    assert panel.attributes.checked_code("blur") is None  # mixed values
    qtbot.keyClick(window.view, Qt.Key.Key_B)  # cycle blur from the first box's value (0 -> 1) for all
    assert [r[4] for r in rows(panel)] == [1, 1, 1]
    assert panel.attributes.checked_code("blur") == 1
    qtbot.keyClick(window.view, Qt.Key.Key_V)  # toggle invalid
    assert [r[7] for r in rows(panel)] == [1, 1, 1]
    qtbot.keyClick(window.view, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)  # blur heavy
    assert [r[4] for r in rows(panel)] == [2, 2, 2]
    panel.attributes.buttons["occlusion"][2].click()  # bulk edit from the editor widget
    assert [r[8] for r in rows(panel)] == [2, 2, 2]
    assert panel.editor.undo_stack.count() == 4
    assert panel.editor.undo_stack.undoText() == "Set occlusion=heavy on 3 box(es)"
    click(window, 115, 58)  # one box: the editor shows its values
    assert panel.attributes.checked_code("occlusion") == 2 and panel.attributes.checked_code("pose") == 0


def test_undo_redo_survive_image_switches(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    editor = panel.editor
    first = rows(panel, 0)
    drag(window, (250, 150), (290, 200))
    window.next_image()
    window.next_image()
    wait_index(qtbot, panel, 2)
    click(window, 50, 50)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert len(rows(panel, 2)) == 1
    editor.undo()  # the edit on this image
    assert len(rows(panel, 2)) == 2
    editor.undo()  # the edit on image 0: the editor goes back there
    wait_index(qtbot, panel, 0)
    assert rows(panel, 0) == first
    editor.redo()
    assert len(rows(panel, 0)) == 4 and editor.canvas.selection == {3}
    editor.redo()
    wait_index(qtbot, panel, 2)
    assert len(rows(panel, 2)) == 1


def test_review_marks_counts_and_next_unreviewed(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    assert panel.editor.split.review[0] == ReviewState.REVIEWED
    text = window.file_model.data(window.file_model.index(0), Qt.ItemDataRole.DisplayRole)
    assert text.startswith("✓ ") and text.endswith("•")  # reviewed, not yet saved
    assert "reviewed 1" in panel.review_label.text()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    wait_index(qtbot, panel, 1)
    qtbot.keyClick(window.view, Qt.Key.Key_T)
    assert panel.editor.split.review[1] == ReviewState.NEEDS_ATTENTION
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    wait_index(qtbot, panel, 2)
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    wait_index(qtbot, panel, 3)
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    assert "Every image has been reviewed" in panel.banner.text()
    before = label_path.read_bytes()
    panel.editor.autosaver.flush()
    assert label_path.read_bytes() == before  # review state never touches the official txt
    assert (tmp_path / "labels.txt.facescope-review.json").exists()


def test_remapped_annotation_shortcut(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    window.settings.set_shortcut("ann_toggle_invalid", "X")
    window.apply_shortcuts()
    click(window, 40, 50)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_X)
    assert rows(panel)[0][7] == 1


def test_switching_image_mid_drag_edits_nothing(qtbot, window, tmp_path):
    from PySide6.QtTest import QTest

    from tests.app.test_annotation_helpers import LEFT, NO_MOD, screen

    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    viewport = window.view.viewport()
    QTest.mousePress(viewport, LEFT, NO_MOD, screen(window, 40, 55))
    QTest.mouseMove(viewport, screen(window, 60, 70))
    window.next_image()
    wait_index(qtbot, panel, 1)
    QTest.mouseRelease(viewport, LEFT, NO_MOD, screen(window, 80, 90))
    assert panel.editor.undo_stack.count() == 0
    assert rows(panel, 0)[0][:4] == [20, 30, 40, 50] and rows(panel, 1) == []
