"""Evaluation panel end to end: tiny WIDER split made here, official AP, curves, review queue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.detectors import select_detector
from app.evaluation.jobs import SOURCE_FOLDER
from app.evaluation.panel import EvaluationPanel
from core.wider.labels import FaceBox, ImageLabels, write_labels
from core.wider.predictions import prediction_path, write_prediction_file

FACES = {
    "0--Parade/0_Parade_a.jpg": [(10, 10, 40, 50), (100, 20, 30, 40)],
    "1--Handshaking/1_Hand_b.jpg": [(60, 60, 50, 60)],
}


def _split(tmp_path: Path, drop_prediction: tuple[str, int] | None = None) -> tuple[Path, Path, Path]:
    root = tmp_path / "split"
    images = root / "images"
    labels = []
    keep = {}
    for name, faces in FACES.items():
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((160, 200, 3), 90, np.uint8)).save(images / name)
        labels.append(ImageLabels(name, [FaceBox(*box) for box in faces]))
        keep[name] = {s: list(range(1, len(faces) + 1)) for s in ("easy", "medium", "hard")}
    label_file = write_labels(root / "wider_face_val_bbx_gt.txt", labels)
    (root / "keep.json").write_text(json.dumps(keep))
    pred = tmp_path / "pred"
    score = iter([0.9, 0.8, 0.7])  # distinct: the official min-max normalisation of equal scores is 0/0
    for name, faces in FACES.items():
        event, base = name.split("/")
        rows = [(*box, next(score)) for box in faces]
        if drop_prediction and drop_prediction[0] == name:
            del rows[drop_prediction[1]]
        write_prediction_file(prediction_path(pred, event, base), base, np.array(rows).reshape(-1, 5))
    return label_file, pred, images


def _evaluate(qtbot, panel: EvaluationPanel, label_file: Path, pred: Path, images: Path) -> None:
    panel.gt_edit.setText(str(label_file))
    panel.source_box.setCurrentText(SOURCE_FOLDER)
    panel.pred_edit.setText(str(pred))
    panel.images_edit.setText(str(images))
    panel.start()
    qtbot.waitUntil(lambda: panel.run is not None and panel.run_button.isEnabled(), timeout=20000)


def test_perfect_predictions_give_ap_one(qtbot, window, tmp_path):
    panel = window.panel("evaluation")
    _evaluate(qtbot, panel, *_split(tmp_path))
    assert panel.run.result.ap() == {"easy": 1.0, "medium": 1.0, "hard": 1.0}
    assert "easy 1.0000" in panel.summary.text()
    assert len(panel.plot.listDataItems()) == 3
    assert panel.table.rowCount() == len(panel.run.result.breakdown) > 0
    assert panel.queue_list.count() == 0  # nothing to review


def test_missed_face_is_queued_and_drawn_on_its_image(qtbot, window, tmp_path):
    panel = window.panel("evaluation")
    _evaluate(qtbot, panel, *_split(tmp_path, drop_prediction=("0--Parade/0_Parade_a.jpg", 1)))
    ap = panel.run.result.ap()["hard"]
    assert 0 < ap < 1
    assert panel.queue_list.count() == 1
    review = panel.queue[0]
    assert review.key == "0--Parade/0_Parade_a" and review.missed == [1]
    panel.queue_list.setCurrentRow(0)
    qtbot.waitUntil(
        lambda: (
            window.workbench.current is not None and window.workbench.current.path.name == "0_Parade_a.jpg"
        ),
        timeout=5000,
    )
    kinds = sorted(item.data(0) for item in panel._review_items)
    assert kinds == ["missed", "true_positives"]
    missed = next(i for i in panel._review_items if i.data(0) == "missed").rect()
    assert (missed.x(), missed.y(), missed.width(), missed.height()) == (100, 20, 30, 40)


def test_bad_ground_truth_path_reports_error_and_panel_recovers(qtbot, window, tmp_path):
    panel = window.panel("evaluation")
    panel.gt_edit.setText(str(tmp_path / "nowhere"))
    panel.start()
    qtbot.waitUntil(lambda: panel.run_button.isEnabled() and "failed" in panel.summary.text(), timeout=10000)
    assert "nowhere" in panel.summary.text()
    window.error_dialog.hide()


def test_detector_source_runs_the_model_on_every_image(qtbot, window, tmp_path):
    from app.evaluation.jobs import SOURCE_DETECTOR

    label_file, _, images = _split(tmp_path)
    (images / "1--Handshaking/1_Hand_b.jpg").write_bytes(b"not a jpeg")  # one unreadable image
    panel = window.panel("evaluation")
    panel.gt_edit.setText(str(label_file))
    panel.source_box.setCurrentText(SOURCE_DETECTOR)
    assert select_detector(panel.model_box, "centerface")
    panel.images_edit.setText("")  # default: images/ beside the label file
    panel.start()
    qtbot.waitUntil(lambda: panel.run is not None and panel.run_button.isEnabled(), timeout=60000)
    assert set(panel.run.predictions) == {"0--Parade/0_Parade_a", "1--Handshaking/1_Hand_b"}
    assert "1 unreadable" in panel.summary.text()


def test_fix_missed_face_in_annotation_editor(qtbot, window, tmp_path):
    panel = window.panel("evaluation")
    label_file, pred, images = _split(tmp_path, drop_prediction=("0--Parade/0_Parade_a.jpg", 1))
    _evaluate(qtbot, panel, label_file, pred, images)
    requests = []
    window.workbench.annotation_requested.connect(requests.append)
    panel.queue_list.setCurrentRow(0)
    assert panel.error_list.count() == 1 and "missed face" in panel.error_list.item(0).text()
    panel.error_list.setCurrentRow(0)
    panel.fix_in_editor()
    [request] = requests
    assert request.kind == "missed" and request.box == (100.0, 20.0, 130.0, 60.0)
    assert request.label_path == label_file and request.image_name == "0--Parade/0_Parade_a.jpg"
