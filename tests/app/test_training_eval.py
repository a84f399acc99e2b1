"""Training panel: WIDER AP curves from live eval records, from metrics.jsonl, and a real run
with an evaluation split (ScaleFace tiny on synthetic faces, resumed)."""

from __future__ import annotations

import json

import pytest

from core.detect.training.eval_synthetic import write_synthetic_split

SMALL = (
    "task.data.source=synthetic task.model.backbone=tiny task.data.synthetic_images=4 "
    "task.data.synthetic_size=96 task.data.crop_size=0 task.eval_images=0 train.log_every=1 "
    "task.model.rpn_pre_nms_test=300 task.model.rpn_post_nms_test=50"
)


def _eval(step, easy, medium, hard, **extra):
    return {
        "event": "eval",
        "step": step,
        "metrics": {"ap_easy": easy, "ap_medium": medium, "ap_hard": hard, "eval_images": 4.0, **extra},
    }


def _curve(panel, key):
    xs, ys = panel.ap_plot.book.curves[key].getData()
    return list(xs), list(ys)


def test_eval_records_extend_the_ap_curves(window):
    panel = window.panel("training")
    panel.on_record(_eval(100, 0.5, 0.4, 0.2, ap_branch_small=0.1, ap_branch_medium=0.3))
    panel.on_record(_eval(200, 0.6, 0.5, 0.3, ap_branch_small=0.2, ap_branch_medium=0.35))
    panel.on_record({"event": "eval", "step": 300, "metrics": {"cancelled": True}})
    panel.on_record({"event": "eval", "step": 300, "metrics": {"ap": 0.7, "recall_small": 0.5}})  # quick
    assert panel.ap_plot.series["ap_easy"] == ([100.0, 200.0], [0.5, 0.6])
    assert panel.ap_plot.series["ap_hard"] == ([100.0, 200.0], [0.2, 0.3])
    assert _curve(panel, "ap_medium") == ([100.0, 200.0], [0.4, 0.5])
    assert set(panel.ap_plot.series) == {
        "ap_easy",
        "ap_medium",
        "ap_hard",
        "ap_branch_small",
        "ap_branch_medium",
    }
    assert panel.series["eval:recall_small"] == ([300.0], [0.5])  # quick metrics beside the lr
    assert "eval at step 300: stopped before the end (no figures)" in panel.log_view.toPlainText()
    # a later record at an earlier step (a resumed run) replaces the tail
    panel.on_record(_eval(150, 0.55, 0.45, 0.25))
    assert panel.ap_plot.series["ap_easy"] == ([100.0, 150.0], [0.5, 0.55])


def test_load_curves_redraws_a_run_from_metrics_jsonl(qtbot, window, tmp_path):
    panel = window.panel("training")
    rows = [
        {"event": "start", "step": 0, "max_steps": 4, "task": "scaleface"},
        {"event": "step", "step": 1, "losses": {"small/rpn_cls": 0.5, "large/roi_cls": 0.25}, "lr": 0.01},
        _eval(2, 0.1, 0.05, 0.01),
        {"event": "step", "step": 3, "losses": {"small/rpn_cls": 0.4, "large/roi_cls": 0.2}, "lr": 0.01},
        _eval(4, 0.2, 0.1, 0.02),
    ]
    (tmp_path / "run").mkdir()
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"event": "step", "st'  # a half-written line
    (tmp_path / "run" / "metrics.jsonl").write_text(text)
    panel.run_edit.setText(str(tmp_path / "run"))
    panel.task_box.setCurrentText("lmle")
    panel.load_history()
    qtbot.waitUntil(lambda: "ap_hard" in panel.ap_plot.series, timeout=10000)
    assert panel.ap_plot.series["ap_hard"] == ([2.0, 4.0], [0.01, 0.02])
    assert panel.series["loss:small"] == ([1.0, 3.0], [0.5, 0.4])
    assert "2 evaluations" in panel.status.text()
    assert panel.task_box.currentText() == "scaleface"  # the run's task


def test_split_rows_only_for_scaleface(window):
    panel = window.panel("training")
    panel.task_box.setCurrentText("lmle")
    assert panel.split_row.isHidden() and panel.eval_images_box.isHidden()
    panel.split_edit.setText("/somewhere")
    assert not any("eval_split" in o for o in panel.overrides())
    panel.task_box.setCurrentText("scaleface")
    assert not panel.split_row.isHidden()
    panel.eval_images_box.setValue(7)
    assert 'task.eval_split="/somewhere"' in panel.overrides()
    assert "task.eval_max_images=7" in panel.overrides()


@pytest.fixture
def split_dir(tmp_path):
    return write_synthetic_split(tmp_path / "split", num_images=3, size=128)


def test_a_run_with_an_eval_split_draws_ap_and_resume_redraws_history(qtbot, window, tmp_path, split_dir):
    panel = window.panel("training")
    panel.task_box.setCurrentText("scaleface")
    panel.run_edit.setText(str(tmp_path / "run"))
    panel.data_edit.setText("")
    panel.steps_box.setValue(2)
    panel.batch_box.setValue(1)
    panel.device_box.setCurrentText("cpu")
    panel.preset_box.setCurrentIndex(panel.preset_box.findData("paper"))  # the tiny backbone
    panel.overrides_edit.setText(SMALL)
    panel.split_edit.setText(str(split_dir))
    panel.eval_every_box.setValue(1)
    panel.eval_images_box.setValue(0)
    panel.start()
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=120000)
    steps, aps = panel.ap_plot.series["ap_hard"]
    assert steps == [1.0, 2.0] and all(0.0 <= a <= 1.0 for a in aps)
    panel.steps_box.setValue(3)
    panel.start(resume=True)
    qtbot.waitUntil(lambda: panel.summary is not None and panel.summary.step == 3, timeout=120000)
    # steps 1-2 come back from metrics.jsonl, step 3 arrived live
    assert panel.ap_plot.series["ap_hard"][0] == [1.0, 2.0, 3.0]
    assert panel.series["loss:small"][0] == [1.0, 2.0, 3.0]


def test_the_job_hands_its_cancel_token_to_the_evaluation(tmp_path, split_dir):
    from app.training.job import training_job

    class Cancelled:
        cancelled = True

    overrides = [
        *SMALL.split(),
        "train.max_steps=1",
        "train.batch_size=1",
        'train.device="cpu"',
        f"task.eval_split={json.dumps(str(split_dir))}",
    ]
    records = list(training_job("scaleface", tmp_path / "run", overrides=overrides, token=Cancelled()))
    (evaluation,) = [r for r in records if r["event"] == "eval"]  # at the checkpoint (default cadence)
    assert evaluation["metrics"] == {"cancelled": True}
