"""The annotation editor edits a working copy: Ctrl+S and "Fix in annotation editor" leave the
source byte-identical; "Save to source" asks first; a read-only source shows a banner."""

from __future__ import annotations

import hashlib
import stat

from PySide6.QtCore import Qt

from app.annotation import dialogs
from core.annotate.review import sidecar_path
from core.wider.labels import read_labels
from tests.app.test_annotation_helpers import drag, open_split, rows
from tests.app.test_evaluation_panel import _evaluate, _split
from tests.core.annotate.wider_fixture import make_split


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ctrl_s_saves_the_working_copy_and_leaves_the_source(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    before = sha(label_path)
    panel = open_split(qtbot, window, label_path, images_root)
    bar = panel.source_bar
    assert bar.isVisibleTo(panel) and "Editing a working copy of labels.txt" in bar.label.text()
    assert "the source is unchanged" in bar.label.text()
    drag(window, (250, 150), (290, 200))  # draw a box
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.save_label.text() == "saved", timeout=5000)
    assert sha(label_path) == before
    working = sidecar_path(label_path, "edit.txt")
    assert len(read_labels(working)[0].faces) == 4
    assert bar.discard_button.isEnabled()
    panel.editor.close_split()
    panel.open_split(label_path, images_root)  # the same source again: its working copy is continued
    qtbot.waitUntil(lambda: panel.editor.current == 0, timeout=5000)
    assert len(rows(panel)) == 4 and "continued from an earlier session" in bar.label.text()
    panel.editor.close_split()
    label_path.write_text(label_path.read_text(encoding="utf-8").replace("20 30 40 50", "21 30 40 50"))
    panel.open_split(label_path, images_root)  # the source changed on disk since the copy was made
    qtbot.waitUntil(lambda: panel.editor.split is not None and panel.editor.current == 0, timeout=5000)
    assert "changed on disk" in bar.label.text() and bar.label.styleSheet()


def test_save_to_source_asks_first(qtbot, window, tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    before = sha(label_path)
    panel = open_split(qtbot, window, label_path, images_root)
    drag(window, (250, 150), (290, 200))
    answers = iter([False, True])
    monkeypatch.setattr(dialogs, "confirm_save_to_source", lambda parent, source, changed: next(answers))
    panel.source_bar.save_button.click()  # cancelled
    assert sha(label_path) == before
    panel.source_bar.save_button.click()  # confirmed
    assert len(read_labels(label_path)[0].faces) == 4
    assert not sidecar_path(label_path, "edit.txt").exists()
    assert "Saved to labels.txt" in panel.banner.text()


def test_discard_working_copy_goes_back_to_the_source(qtbot, window, tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    drag(window, (250, 150), (290, 200))
    monkeypatch.setattr(dialogs, "confirm_discard_working_copy", lambda parent, source: True)
    panel.source_bar.discard_button.click()
    qtbot.waitUntil(lambda: panel.editor.split is not None and panel.editor.current == 0, timeout=5000)
    assert len(rows(panel)) == 3 and not panel.editor.split.working.exists
    assert any("discarded" in p.name for p in tmp_path.iterdir())  # set aside, not deleted


def test_read_only_source_shows_a_banner_and_is_never_written(qtbot, window, tmp_path):
    source_dir = tmp_path / "gt"
    source_dir.mkdir()
    label_path, images_root = make_split(source_dir)
    before = sha(label_path)
    # read-only by its permission bits (root, who runs the tests, could still write it)
    label_path.chmod(label_path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    listing = sorted(p.name for p in source_dir.iterdir())
    panel = open_split(qtbot, window, label_path, images_root)
    bar = panel.source_bar
    assert bar.isVisibleTo(panel) and bar.label.text().startswith("Read-only source:")
    assert "write-protected" in bar.label.text() and bar.label.styleSheet()
    assert not bar.save_button.isEnabled() and "cannot be written" in bar.save_button.toolTip()
    drag(window, (250, 150), (290, 200))  # editing goes on, into the private working copy
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_R)
    assert panel.editor.autosaver.flush()
    assert sha(label_path) == before and sorted(p.name for p in source_dir.iterdir()) == listing
    working = panel.editor.split.working
    assert (
        working.folder.is_relative_to(tmp_path / "user_data") and len(read_labels(working.path)[0].faces) == 4
    )


def test_fix_in_annotation_editor_leaves_the_ground_truth_unchanged(qtbot, window, tmp_path):
    evaluation = window.panel("evaluation")
    label_file, pred, images = _split(tmp_path, drop_prediction=("0--Parade/0_Parade_a.jpg", 1))
    before = sha(label_file)
    _evaluate(qtbot, evaluation, label_file, pred, images)
    evaluation.queue_list.setCurrentRow(0)
    evaluation.error_list.setCurrentRow(0)
    evaluation.fix_in_editor()
    panel = window.panel("annotation")
    qtbot.waitUntil(lambda: panel.editor.split is not None and panel.editor.current == 0, timeout=5000)
    assert panel.editor.canvas.selection == {1}  # the missed face
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_V)  # mark it invalid: a real label edit
    assert rows(panel)[1][7] == 1
    assert panel.editor.autosaver.flush()
    assert sha(label_file) == before
    assert read_labels(panel.editor.split.working.path)[0].faces[1].invalid == 1
