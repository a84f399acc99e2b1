"""Training panel: a few ScaleFace steps on synthetic faces, stop with a checkpoint, resume."""

from __future__ import annotations

import json

SMALL = (
    "task.data.source=synthetic task.model.backbone=tiny task.data.synthetic_images=4 "
    "task.data.synthetic_size=96 task.data.crop_size=0 task.eval_images=0 train.log_every=1"
)


def _configure(panel, run_dir, steps):
    panel.task_box.setCurrentText("scaleface")
    panel.run_edit.setText(str(run_dir))
    panel.data_edit.setText("")
    panel.steps_box.setValue(steps)
    panel.batch_box.setValue(1)
    panel.device_box.setCurrentText("cpu")
    panel.preset_box.setCurrentIndex(panel.preset_box.findData("paper"))  # the tiny test backbone
    panel.overrides_edit.setText(SMALL)


def test_train_a_few_steps_with_live_curves(qtbot, window, tmp_path):
    panel = window.panel("training")
    _configure(panel, tmp_path / "run", steps=3)
    panel.start()
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=120000)
    assert panel.summary.step == 3
    assert (tmp_path / "run" / "last.pt").is_file()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["event"] == "step"] == [1, 2, 3]
    branch_curves = {k for k in panel.curves if k.startswith("loss:")}
    assert branch_curves == {"loss:small", "loss:medium", "loss:large"}
    assert len(panel.series["loss:small"][0]) == 3
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_writes_a_checkpoint_and_resume_continues(qtbot, window, tmp_path):
    panel = window.panel("training")
    _configure(panel, tmp_path / "run", steps=200)
    panel.start()
    qtbot.waitUntil(lambda: panel.last_record is not None and panel.last_record["step"] >= 2, timeout=120000)
    panel.stop()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60000)
    assert "checkpoint" in panel.status.text()
    stopped_at = panel.last_record["step"]
    assert (tmp_path / "run" / "last.pt").is_file()
    panel.steps_box.setValue(stopped_at + 2)
    panel.start(resume=True)
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=120000)
    assert panel.summary.step == stopped_at + 2


def test_pause_holds_training_in_memory_and_continues(qtbot, window, tmp_path):
    panel = window.panel("training")
    _configure(panel, tmp_path / "run", steps=200)
    panel.start()
    qtbot.waitUntil(lambda: panel.last_record is not None and panel.last_record["step"] >= 1, timeout=120000)
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.status.text().startswith("Paused"), timeout=60000)
    held = panel.last_record["step"]
    qtbot.wait(300)
    assert panel.last_record["step"] == held and panel.job.state == "running"
    assert not (tmp_path / "run" / "last.pt").exists()  # a pause writes nothing
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.last_record["step"] >= held + 2, timeout=60000)
    panel.stop()
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60000)
    assert not panel.pause_button.isEnabled() and not panel.pause_button.isChecked()


def test_bad_option_reports_an_error(qtbot, window, tmp_path):
    panel = window.panel("training")
    _configure(panel, tmp_path / "run", steps=2)
    panel.overrides_edit.setText("task.no_such_option=1")
    panel.start()
    qtbot.waitUntil(lambda: "failed" in panel.status.text(), timeout=30000)
    assert "no_such_option" in panel.status.text()
    window.error_dialog.hide()


def test_the_cpu_preset_trains_the_bundled_models_setting(window):
    panel = window.panel("training")
    panel.task_box.setCurrentText("scaleface")
    assert panel.preset_box.currentData() == "cpu" and panel.preset_box.isVisibleTo(panel)
    panel.config_edit.setText("")
    assert "task.model.freeze_trunk=true" in panel.overrides()
    panel.config_edit.setText("my.toml")  # a config file is the starting point instead
    assert not any(o.startswith("task.model.") for o in panel.overrides())
    panel.config_edit.setText("")
