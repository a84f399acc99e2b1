"""Annotation editor: pre-label suggestions (accept, reject, accept above a score) and COCO round trip."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from core.annotate.faces import face_to_row
from core.types import Detection, DetectionResult
from tests.app.test_annotation_helpers import open_split, panel_of, rows, screen
from tests.core.annotate.wider_fixture import make_split


class FakeDetector:
    name = "fake"
    branch_kind = "scale_range"

    def detect(self, image, min_score=None):
        faces = [
            Detection((21, 29, 60, 80), 0.99, "medium"),  # duplicate of labelled face 0: not suggested
            Detection((250, 150, 270, 175), 0.9, "small"),
            Detection((150, 150, 230, 230), 0.7, "medium"),
            Detection((10, 150, 30, 170), 0.55, "small"),
        ]
        return DetectionResult(faces, {}, "fake", (image.shape[1], image.shape[0]), "scale_range")


class FakeCache:
    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    def get(self, name, mode="fast"):
        self.asked.append((name, mode))
        return FakeDetector()


def _suggest(qtbot, panel):
    panel.prelabel.detectors = FakeCache()
    panel.prelabel_current()
    qtbot.waitUntil(lambda: len(panel.editor.canvas.suggestion_items) == 3, timeout=5000)


def test_accept_and_reject_suggestions(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    _suggest(qtbot, panel)
    pens = {item.pen().style() for item in panel.editor.canvas.suggestion_items}
    assert pens == {Qt.PenStyle.CustomDashLine}
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Return)  # nothing selected: the best suggestion
    assert rows(panel)[3] == [250, 150, 20, 25, 0, 0, 0, 0, 0, 0]
    assert len(panel.editor.canvas.suggestion_items) == 2
    qtbot.keyClick(window.view, Qt.Key.Key_Backspace)  # reject the next best (0.7)
    assert [s.score for s in panel.editor.suggestions[0]] == [0.55]
    panel.editor.undo()  # the rejected one comes back
    assert len(panel.editor.suggestions[0]) == 2
    panel.editor.undo()  # and the accepted one
    assert len(rows(panel)) == 3 and len(panel.editor.suggestions[0]) == 3


def test_accept_all_above_a_score_and_double_click(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    _suggest(qtbot, panel)
    panel.score_box.setValue(0.6)
    panel.accept_above()
    assert len(rows(panel)) == 5 and [s.score for s in panel.editor.suggestions[0]] == [0.55]
    assert panel.editor.undo_stack.count() == 1
    QTest.mouseDClick(
        window.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        screen(window, 20, 160),
    )
    assert len(rows(panel)) == 6 and panel.editor.suggestions[0] == []


def test_coco_export_then_import_equals_the_original(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    original = [[face_to_row(f) for f in im.faces] for im in panel.editor.split.images]
    out = tmp_path / "export.coco.json"
    job = panel.export_coco(out)
    qtbot.waitUntil(lambda: job.is_done and out.exists(), timeout=5000)
    assert len(json.loads(out.read_text(encoding="utf-8"))["annotations"]) == 6
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert rows(panel) == []
    assert panel.import_coco(out) == 1
    assert [[face_to_row(f) for f in im.faces] for im in panel.editor.split.images] == original
    panel.editor.undo()  # the import is one step
    assert rows(panel) == []


def test_review_request_opens_the_split_and_readies_one_key_actions(qtbot, window, tmp_path):
    from core.annotate.review import FaceReviewRequest

    label_path, images_root = make_split(tmp_path)
    panel = panel_of(window)
    # a missed face on image 2: the editor opens the split, shows the image, selects the face
    window.workbench.annotation_requested.emit(
        FaceReviewRequest(label_path, images_root, "1--Handshaking/1_Handshaking_c_3.jpg", (151, 21, 209, 89))
    )
    qtbot.waitUntil(lambda: panel.editor.current == 2, timeout=5000)
    assert panel.editor.canvas.selection == {1}
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_V)  # marked valid again in one key (it was invalid)
    assert rows(panel)[1][7] == 0
    # a false positive on image 0: it becomes the selected suggestion, Return makes it a label
    window.open_folder(images_root / "0--Parade")  # the file list shows something else meanwhile
    panel.review_face(
        FaceReviewRequest(
            label_path, images_root, "0--Parade/0_Parade_a_1.jpg", (250, 150, 280, 190), "false_positive", 0.7
        )
    )
    qtbot.waitUntil(lambda: panel.editor.current == 0, timeout=5000)
    assert panel.editor.canvas.suggestion_selection == {0}
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    assert rows(panel)[-1] == [250, 150, 30, 40, 0, 0, 0, 0, 0, 0]


def test_prelabel_whole_split_in_the_worker(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    panel.prelabel.detectors = FakeCache()
    panel.prelabel_split()
    qtbot.waitUntil(lambda: not panel.prelabel.running, timeout=10000)
    assert "Pre-labelled 4 image(s)" in panel.suggest_label.text()
    # image 1 has no labels: all four detections are suggested; image 0 drops the one on a labelled face
    assert len(panel.editor.suggestions[1]) == 4 and len(panel.editor.suggestions[0]) == 3
    window.next_image()
    qtbot.waitUntil(lambda: len(panel.editor.canvas.suggestion_items) == 4, timeout=5000)


def test_accurate_prelabel_asks_for_the_accurate_detector_and_caches_apart(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    panel = open_split(qtbot, window, label_path, images_root)
    cache = panel.prelabel.detectors = FakeCache()
    panel.accurate_box.setChecked(True)
    panel.prelabel_current()
    qtbot.waitUntil(lambda: len(panel.editor.canvas.suggestion_items) == 3, timeout=5000)
    assert cache.asked[-1][1] == "accurate"
    assert any(key[1].endswith("(accurate)") for key in panel.prelabel.results)
    panel.accurate_box.setChecked(False)
    panel.prelabel_current()  # a fast result is not the accurate one: the detector runs again
    qtbot.waitUntil(lambda: cache.asked[-1][1] == "fast", timeout=5000)
