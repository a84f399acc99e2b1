"""Unlock panel end to end: enrol a person from a synthetic webcam video, verify them, reject another."""

from __future__ import annotations

import os
import stat

import pytest

from app.unlock.panel import UnlockPanel
from core.unlock.decision import DecisionRule, UnlockState
from tests.core.unlock.unlock_videos import frames, write_video


@pytest.fixture
def panel(window, tmp_path):
    p = window.panel(UnlockPanel.object_name)
    # every test gets its own template store (never the user's)
    assert str(p.store.root).startswith(str(tmp_path)), p.store.root
    # This machine may be shared and slow: a wide window keeps the 3-of-5 rule about identity, not speed.
    p.controller.rule = DecisionRule(k=3, n=5, window_s=30.0)
    yield p
    p.controller.close()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    # 5 fps for 12 s: long enough for enrolment and a decision even when inference is slow
    root = tmp_path_factory.mktemp("unlock_videos")
    return {
        "ann": write_video(root / "ann.avi", frames("ann", 60, seed=1), fps=5),
        "ann2": write_video(root / "ann2.avi", frames("ann", 60, seed=2), fps=5),
        "bea": write_video(root / "bea.avi", frames("bea", 60, seed=3), fps=5),
    }


def _open(qtbot, panel, path):
    panel.open_source(str(path))
    qtbot.waitUntil(lambda: panel.controller.active, timeout=10000)


def _enrol(qtbot, panel, video, name, frames):
    """Enrol ``name`` from ``video`` through the panel's own widgets; waits for the template."""
    _open(qtbot, panel, video)
    panel.name_edit.setText(name)
    panel.frames_spin.setValue(frames)
    enrolled = []
    panel.controller.enrolled.connect(enrolled.append)
    panel.enrol_button.click()
    qtbot.waitUntil(lambda: enrolled == [name], timeout=60000)


def test_enrol_verify_and_reject(qtbot, panel, videos):
    _enrol(qtbot, panel, videos["ann"], "ann", frames=3)
    assert "ann" in panel.user_list.item(0).text()
    path = panel.store.path_for("ann")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # the same person in another clip unlocks
    _open(qtbot, panel, videos["ann2"])
    outcomes = []
    panel.controller.verify_frame.connect(outcomes.append)
    panel.liveness_box.setChecked(True)  # scores shown, never part of the decision
    assert "NOT detected" in panel.liveness_note.text()
    panel.verify_button.click()
    qtbot.waitUntil(lambda: any(o.state is UnlockState.UNLOCKED for o in outcomes), timeout=60000)
    scored = [o for o in outcomes if o.scored]
    assert all(o.liveness is not None and "liveness" in o.ms for o in scored)
    panel.liveness_box.setChecked(False)
    assert panel.banner.text().startswith("UNLOCKED") and "ann" in panel.banner.text()
    assert "threshold" in panel.operating_point.text() and "impostor pairs" in panel.operating_point.text()
    p50, p95, count = panel.controller.latency_figures()
    assert count > 0 and {"detect", "landmarks", "embed", "match", "total"} <= set(p50)

    # someone else never unlocks
    outcomes.clear()
    _open(qtbot, panel, videos["bea"])
    panel.verify_button.click()
    qtbot.waitUntil(lambda: sum(o.scored for o in outcomes) >= 6, timeout=60000)
    assert all(o.state is not UnlockState.UNLOCKED for o in outcomes)
    assert all(not o.accepted for o in outcomes if o.scored)
    assert panel.banner.text().startswith("LOCKED")


def test_verify_without_users_and_store_management(qtbot, panel, videos, tmp_path):
    panel.verify_button.click()
    assert "Open a camera or a video first" in panel.message.text()
    _open(qtbot, panel, videos["bea"])
    panel.verify_button.click()
    qtbot.waitUntil(lambda: "Cannot verify" in panel.message.text(), timeout=20000)
    assert "enrol" in panel.message.text().lower()
    assert panel.controller.mode == "idle"

    # a tampered template is listed with its refusal, not loaded
    panel.name_edit.setText("bad name/../x")
    panel.enrol_button.click()
    assert panel.controller.mode == "idle" and panel.message.text()
    assert "No liveness check" in panel.liveness_note.text()


def test_rename_delete_and_tampered(qtbot, panel, videos):
    _enrol(qtbot, panel, videos["ann"], "ann", frames=1)
    panel.user_list.setCurrentRow(0)
    panel.rename_selected("anna")
    assert panel.store.names() == ["anna"]
    # tamper with the file: the list shows the refusal instead of a user
    path = panel.store.path_for("anna")
    text = path.read_text()
    path.write_text(text.replace('"anna"', '"mallory"', 1))
    panel.refresh_users()
    assert panel.user_list.count() == 1 and "⚠" in panel.user_list.item(0).text()
    panel.verify_button.click()
    qtbot.waitUntil(lambda: "Cannot verify" in panel.message.text(), timeout=20000)
    path.write_text(text)
    panel.refresh_users()
    panel.user_list.setCurrentRow(0)
    panel.delete_selected(confirm=False)
    assert panel.store.names() == [] and panel.user_list.count() == 0


def test_the_stem_is_chosen_remembered_and_templates_name_theirs(qtbot, panel, videos, window):
    from app.settings import Keys

    assert panel.stem_box.currentData() == "faceapi" and panel.controller.mode_name == "dream"
    _enrol(qtbot, panel, videos["ann"], "ann", frames=1)
    assert "faceapi, DREAM" in panel.user_list.item(0).text()

    panel.stem_box.setCurrentIndex(panel.stem_box.findData("faceres"))
    assert window.settings.get(Keys.UNLOCK_STEM) == "faceres"
    assert panel.controller.mode_name == "faceres_dream"
    threshold = panel.controller.calibration().at_far(panel.controller.far, "faceres_dream").threshold
    assert f"threshold {threshold:.4f}" in panel.operating_point.text()
    # a user enrolled with face-api cannot be verified with faceres: enrol again, said plainly
    panel.verify_button.click()
    qtbot.waitUntil(lambda: "Cannot verify" in panel.message.text(), timeout=60000)
    assert "enrol 'ann' again" in panel.message.text() and panel.controller.mode == "idle"

    # a new window opens with the stem chosen last
    from app.main_window import MainWindow

    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    unlock = again.panel(UnlockPanel.object_name)
    assert unlock.stem_box.currentData() == "faceres" and unlock.controller.stem == "faceres"
    again.close()
