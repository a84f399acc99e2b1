"""Training panel: the data a run would read is shown before Start; a folder that does not fit
is a plain message, never a traceback; the log reads like the CLI's; the loss axis shows values."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from core.train.records import describe_step, log_line

LABELS = "0--Parade/0_Parade_a_1.jpg\n2\n10 10 8 8 2 0 0 0 0 0 \n30 10 20 25 0 0 0 0 1 0 \n"
TINY = "task.model.backbone=tiny task.eval_images=0 task.data.crop_size=0 task.data.max_size=96"


def _val_only(root):
    (root / "wider_face_split").mkdir(parents=True)
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(LABELS)
    image = root / "WIDER_val" / "images" / "0--Parade" / "0_Parade_a_1.jpg"
    image.parent.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8)).save(image)
    return root


def _point_at(panel, data, split="auto"):
    panel.task_box.setCurrentText("scaleface")
    panel.preset_box.setCurrentIndex(panel.preset_box.findData("paper"))  # the tiny backbone
    panel.overrides_edit.setText(TINY)
    panel.split_picker.box.setCurrentText(split)
    panel.data_edit.setText(str(data))


def test_a_val_only_folder_shows_the_plan_not_a_traceback(qtbot, window, tmp_path):
    panel = window.panel("training")
    _point_at(panel, _val_only(tmp_path / "wider"))
    qtbot.waitUntil(
        lambda: panel.data_plan.text().startswith("WIDER val split: 1 images, 2 faces"), timeout=10000
    )
    assert panel.data_plan.isVisibleTo(panel) and not window.error_dialog.isVisible()
    assert not any(o.startswith("task.data.split") for o in panel.overrides())  # auto is the default


def test_an_asked_split_that_is_absent_says_what_is_there(qtbot, window, tmp_path):
    panel = window.panel("training")
    _point_at(panel, _val_only(tmp_path / "wider"), split="train")
    qtbot.waitUntil(lambda: panel.data_plan.text().startswith("No WIDER train split in"), timeout=10000)
    assert "WIDER_val/" in panel.data_plan.text()
    assert 'task.data.split="train"' in panel.overrides()


def test_an_empty_folder_is_a_plain_message_and_start_fails_without_traceback(qtbot, window, tmp_path):
    panel = window.panel("training")
    (tmp_path / "empty").mkdir()
    _point_at(panel, tmp_path / "empty")
    qtbot.waitUntil(lambda: "the folder is empty" in panel.data_plan.text(), timeout=10000)
    assert panel.data_plan.text().startswith(f"No WIDER labels in {tmp_path / 'empty'}: expected ")
    panel.run_edit.setText(str(tmp_path / "run"))
    panel.steps_box.setValue(1)
    panel.device_box.setCurrentText("cpu")
    panel.start()
    qtbot.waitUntil(lambda: "failed" in panel.status.text(), timeout=60000)
    assert "No WIDER labels in" in panel.status.text()
    assert "Traceback" not in window.error_dialog.details.toPlainText()
    window.error_dialog.hide()


def test_synthetic_faces_need_no_data_folder(qtbot, window):
    panel = window.panel("training")
    panel.task_box.setCurrentText("scaleface")
    panel.data_edit.setText("")
    panel.overrides_edit.setText('task.data.source="synthetic"')
    qtbot.waitUntil(lambda: panel.data_plan.text().startswith("Synthetic faces"), timeout=5000)


def test_the_log_shows_the_clis_readable_lines(window):
    panel = window.panel("training")
    start = {
        "event": "start",
        "step": 0,
        "max_steps": 40,
        "task": "scaleface",
        "config": {"train": {"log_every": 20}},
    }
    step = {"event": "step", "step": 20, "losses": {"small/rpn_cls": 0.5, "large/rpn_cls": 0.7}, "loss": 1.2}
    step.update(lr=0.01, images_per_s=1.7, eta_s=12.0)
    checkpoint = {"event": "checkpoint", "step": 20, "path": "/runs/last.pt", "reason": "periodic"}
    for record in (start, {**step, "step": 19}, step, checkpoint):
        panel.on_record(record)
    lines = panel.log_view.toPlainText().splitlines()
    assert lines == [log_line(start, 20), log_line(step, 20), log_line(checkpoint, 20)]
    assert lines[1] == describe_step(step) and "{" not in "".join(lines)
    assert panel.status.text().startswith("step 20/40 · loss 1.2000")


def test_the_loss_plot_shows_values_on_its_left_axis(window):
    panel = window.panel("training")
    for step in range(1, 30):  # a loss moving within one decade: no decade tick to label
        panel.on_record({"event": "step", "step": step, "losses": {"total": 2.7 + 0.002 * step}, "loss": 2.7})
    axis = panel.loss_plot.getPlotItem().getAxis("left")
    assert axis.isVisible() and axis.style["showValues"] and axis.labelText == "loss"
    view = panel.loss_plot.getViewBox()
    view.autoRange()  # what the first paint of the plot does
    assert (
        math.log10(2.6) < view.viewRange()[1][0] < math.log10(2.71) < view.viewRange()[1][1] < math.log10(2.8)
    )
    low, high = view.viewRange()[1]
    shown = [v for _, values in axis.tickValues(low, high, axis.height()) for v in values if low <= v <= high]
    labels = axis.tickStrings(shown, axis.scale, 1.0)
    assert len(labels) >= 2
    assert all(2.6 <= float(label) <= 2.8 for label in labels)
