"""Live panel: a synthetic video on the canvas at its rate, detections per range with stable ids, HUD,
pause / step / seek, snapshot, recording, missing camera and corrupt video, batch dialog with cancel."""

from __future__ import annotations

import gc
import json
import os
import time

import pytest
import torch

from app.detectors import select_detector
from app.settings import Keys
from core.detect.batch.lock import batch_locks
from core.device import default_device
from core.io.video.reader import SourceSpec
from core.types import Detection
from core.wider.labels import read_labels
from tests.core.detect.test_batch import make_inputs
from tests.core.unlock.videos import read_index, write_video


@pytest.fixture(autouse=True)
def like_the_app():
    """One torch thread (far faster than 2 on a loaded 2-core box) and, as app.application does after
    start-up, the long-lived objects frozen out of the cyclic GC: a full collection over torch + Qt +
    pytest objects takes ~0.5 s here and would freeze the display for a dozen frames."""
    default_device()  # it sets the thread count once
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    torch.set_num_threads(before)


def _panel(window):
    panel = window.panel("live")
    window.show_panel("live")
    return panel


def test_video_plays_at_its_rate_while_detection_runs_on_the_newest_frame(
    qtbot, window, tmp_path, monkeypatch
):
    clip = write_video(tmp_path / "walk.avi", frames=60, fps=25.0)
    panel = _panel(window)
    panel.track_box.setChecked(True)
    assert select_detector(panel.model_box, "centerface")
    detector = panel.controller.detectors.get("centerface")  # load the weights before the clock starts
    real_detect = detector.detect

    def slow_detect(image, min_score=None):  # at least 120 ms, like 640×480 on a busy CPU
        time.sleep(0.12)
        return real_detect(image, min_score)

    monkeypatch.setattr(detector, "detect", slow_detect)
    results, shown = [], []
    panel.controller.result_ready.connect(results.append)
    panel.controller.frame_shown.connect(lambda f: shown.append(f.index))
    panel.open_source(SourceSpec("file", str(clip)))
    qtbot.waitUntil(lambda: panel.controller.active, timeout=10000)
    panel.start_recording(tmp_path / "rec.jsonl")
    qtbot.waitUntil(lambda: panel.controller.source.state.value == "ended", timeout=20000)
    qtbot.waitUntil(lambda: not panel.controller.busy, timeout=20000)
    # the display saw (nearly) every frame, detection only some of them (a display tied to detection
    # would show about as many frames as there are results: ~10)
    assert len(shown) >= 45 and shown == sorted(shown), f"{len(shown)} shown, {len(results)} results"
    assert read_index(panel.controller.last_frame.image) == 59
    assert 3 <= len(results) <= 25 < len(shown)
    with_face = [r for r in results if len(r.faces) == 1]
    assert len(with_face) >= 0.8 * len(results)
    assert {r.track_ids[0] for r in with_face} == {1}
    # overlay and HUD
    assert panel.shown is results[-1]
    assert len(panel.overlay.visible_faces()) == 1 and panel.branch_group.title() == "Size bins"
    qtbot.waitUntil(lambda: panel.hud.isVisible() and "detect" in panel.hud.text(), timeout=3000)
    assert "fwd" in panel.hud.text() and "capture" in panel.hud.text()
    panel.score_slider.setValue(100)
    assert panel.overlay.visible_faces() == []
    panel.score_slider.setValue(50)
    lines = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert lines and json.loads(lines[-1])["faces"][0]["track"] == 1
    # snapshot of the detected frame into a WIDER split
    saved = []
    assert panel.controller.snapshot(tmp_path / "split", panel.overlay.visible_faces(), on_saved=saved.append)
    qtbot.waitUntil(lambda: bool(saved), timeout=10000)
    labels = read_labels(saved[0].label_path)
    assert labels[0].name == saved[0].name and len(labels[0].faces) == 1
    panel.close_source()
    assert not panel.controller.active and len(panel.overlay) == 0 and not panel.hud.isVisible()


def test_pause_step_seek_from_the_panel(qtbot, window, tmp_path):
    clip = write_video(tmp_path / "steps.avi", frames=30)
    panel = _panel(window)
    panel.detect_box.setChecked(False)
    panel.open_source(SourceSpec("file", str(clip)), paused=True)
    qtbot.waitUntil(lambda: panel.controller.last_frame is not None, timeout=10000)
    assert panel.controller.last_frame.index == 0 and panel.play_button.text() == "Play"
    panel.step_button.click()
    qtbot.waitUntil(lambda: panel.controller.last_frame.index == 1, timeout=5000)
    panel.controller.seek(20)
    qtbot.waitUntil(lambda: panel.controller.last_frame.index == 20, timeout=5000)
    assert panel.seek_slider.value() == 20 and panel.position_label.text() == "21/30"
    panel.back_button.click()
    qtbot.waitUntil(lambda: panel.controller.last_frame.index == 19, timeout=5000)
    assert panel.shortcut_actions["live_step"].shortcut().toString() == "Ctrl+Right"
    panel.shortcut_actions["live_step"].trigger()  # the remappable shortcuts drive the same controls
    qtbot.waitUntil(lambda: panel.controller.last_frame.index == 20, timeout=5000)
    panel.shortcut_actions["live_back"].trigger()
    qtbot.waitUntil(lambda: panel.controller.last_frame.index == 19, timeout=5000)
    panel.toggle_play()
    qtbot.waitUntil(lambda: panel.controller.last_frame.index >= 25, timeout=5000)
    panel.toggle_play()
    qtbot.waitUntil(lambda: panel.play_button.text() == "Play", timeout=5000)
    held = panel.controller.last_frame.index
    assert held >= 25 and read_index(panel.controller.last_frame.image) == held
    assert window.view.image_size == (320, 240)
    panel.close_source()
    assert not any(
        action.isEnabled() for action in panel.shortcut_actions.values()
    )  # keys free for other panels


def test_missing_camera_and_corrupt_video_are_messages_not_crashes(qtbot, window, tmp_path):
    panel = _panel(window)
    assert panel.source_box.findText("No camera found") >= 0 or panel.source_box.count() > 2
    panel.open_source(SourceSpec("camera", 97))
    qtbot.waitUntil(lambda: "No camera at index 97" in panel.message.text(), timeout=10000)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(3000))
    panel.open_source(SourceSpec("file", str(junk)))
    qtbot.waitUntil(lambda: "not a video" in panel.message.text(), timeout=10000)
    assert not panel.controller.active and not window.error_dialog.isVisible()
    data = write_video(tmp_path / "cut.avi", frames=20).read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    panel.detect_box.setChecked(False)
    panel.open_source(SourceSpec("file", str(tmp_path / "cut.avi")))
    qtbot.waitUntil(lambda: "truncated or corrupt" in panel.message.text(), timeout=10000)
    # a detector that cannot be built stops detection once (no error at the frame rate); video goes on
    assert select_detector(panel.model_box, "scaleface")
    window.settings.set(Keys.DETECTION_CHECKPOINT("scaleface"), str(tmp_path / "missing.pt"))
    panel.controller.seek(0)
    panel.detect_box.setChecked(True)
    panel.controller.play()
    qtbot.waitUntil(lambda: "Detection stopped" in panel.message.text(), timeout=10000)
    qtbot.waitUntil(lambda: window.error_dialog.count == 1, timeout=5000)  # reported once, not per frame
    qtbot.wait(300)
    assert not panel.detect_box.isChecked() and window.error_dialog.count == 1
    panel.close_source()


def test_batch_dialog_runs_cancels_and_resumes(qtbot, window, tmp_path):
    photos = make_inputs(tmp_path, images=3, video_frames=40)
    panel = _panel(window)
    dialog = panel.open_batch()
    out = tmp_path / "batch.jsonl"
    dialog.inputs.setText(str(photos))
    dialog.jsonl.setText(str(out))
    dialog.start()
    qtbot.waitUntil(
        lambda: dialog.last_progress is not None and dialog.last_progress.done >= 3, timeout=30000
    )
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)
    assert "Cancelled" in dialog.status.text() and dialog.summary is None
    partial = out.read_text().count("\n")
    assert 3 <= partial < 43
    dialog.start()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=60000)
    assert dialog.progress.value() == 1000
    assert dialog.summary.skipped == partial and dialog.summary.processed == 43 - partial
    assert "Done" in dialog.status.text()


def test_batch_dialog_says_plainly_when_another_run_holds_the_output(qtbot, window, tmp_path):
    photos = make_inputs(tmp_path, images=1)
    out = tmp_path / "batch.jsonl"
    (other_run,) = batch_locks(out, None)
    assert other_run.try_acquire() is None
    try:
        dialog = _panel(window).open_batch()
        dialog.inputs.setText(str(photos))
        dialog.jsonl.setText(str(out))
        dialog.start()
        qtbot.waitUntil(lambda: "Failed" in dialog.status.text(), timeout=30000)
        qtbot.waitUntil(dialog.start_button.isEnabled, timeout=5000)
    finally:
        other_run.release()
    assert f"another detect run (pid {os.getpid()}" in dialog.status.text()
    assert "choose another output" in dialog.status.text() and "--wait" not in dialog.status.text()
    assert dialog.start_button.isEnabled() and not out.exists()


def test_branch_toggles_name_layer_groups_and_size_bins_as_the_detection_panel(window):
    panel = _panel(window)
    toggles = panel.branch_group
    assert select_detector(panel.model_box, "ssd")
    assert toggles.title() == "Layer groups" and "prediction layer" in toggles.toolTip()
    small_face_in_large_group = Detection((0.0, 0.0, 20.0, 20.0), 0.9, "large")
    toggles.set_counts([small_face_in_large_group], min_score=0.5)
    assert toggles.boxes["large"].text() == "large-anchor layers: 1"
    assert not any("px" in box.text() or "px" in box.toolTip() for box in toggles.boxes.values())
    assert select_detector(panel.model_box, "centerface")
    assert toggles.title() == "Size bins"
    toggles.set_counts([small_face_in_large_group], min_score=0.5)
    assert toggles.boxes["large"].text() == "large (≥140 px): 1"
    assert toggles.boxes["small"].text() == "small (10–40 px): 0"
