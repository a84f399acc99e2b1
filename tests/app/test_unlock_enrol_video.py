"""Unlock panel: enrolling from a video counts frames from the press of Enrol and ends with the video."""

from __future__ import annotations

import threading
import time

import cv2
import pytest

from app.unlock.panel import UnlockPanel
from core.io.video.reader import CameraReader
from tests.core.unlock.unlock_videos import frames, write_video

FPS = 5.0
LOADING_S = 1.5
#: Frames a video may move on between the press of Enrol and its pause (a busy GUI thread shows late).
SLIP_FRAMES = 3


@pytest.fixture
def panel(window, tmp_path):
    p = window.panel(UnlockPanel.object_name)
    assert str(p.store.root).startswith(str(tmp_path)), p.store.root
    yield p
    p.controller.close()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("enrol_videos")
    return {
        # 4 s of a face the gates accept
        "ann": write_video(root / "ann.avi", frames("ann", 20, seed=5), fps=FPS),
        # 2 s of a face too small for the enrolment gates
        "far": write_video(root / "far.avi", frames("ann", 10, face_px=60, seed=6), fps=FPS),
    }


def _open(qtbot, panel, path):
    panel.open_source(str(path))
    qtbot.waitUntil(lambda: panel.controller.last_frame is not None, timeout=10000)


def _idle_after_enrolment(panel) -> None:
    assert panel.controller.mode == "idle"
    assert panel.enrol_button.isEnabled() and panel.verify_button.isEnabled()
    assert not panel.stop_button.isEnabled()


def _press_enrol(panel, name: str, needed: int) -> list:
    outcomes: list = []
    panel.controller.enrol_frame.connect(outcomes.append)
    panel.name_edit.setText(name)
    panel.frames_spin.setValue(needed)
    panel.enrol_button.click()
    return outcomes


def test_enrol_pressed_while_playing_counts_from_the_press(qtbot, panel, videos, monkeypatch):
    real_pipeline = panel.controller.pipeline

    def slow_pipeline(*args):  # a first start on a busy CPU: the models take seconds to load
        time.sleep(LOADING_S)
        return real_pipeline(*args)

    monkeypatch.setattr(panel.controller, "pipeline", slow_pipeline)
    _open(qtbot, panel, videos["ann"])
    qtbot.waitUntil(lambda: panel.controller.last_frame.index >= 8, timeout=10000)
    pressed_at = panel.controller.last_frame.timestamp_s
    enrolled: list[str] = []
    panel.controller.enrolled.connect(enrolled.append)
    outcomes = _press_enrol(panel, "ann", needed=3)
    # 11 frames (2.2 s) are left: enough only because the video waits for the models
    qtbot.waitUntil(lambda: enrolled == ["ann"], timeout=60000)
    assert panel.store.names() == ["ann"]
    first = min(o.time_s for o in outcomes)
    # the frame on screen, or one of the few the reader had in hand when the pause reached it
    assert pressed_at <= first <= pressed_at + SLIP_FRAMES / FPS + 1e-6, (pressed_at, first)


def test_enrol_on_a_paused_video_plays_it(qtbot, panel, videos):
    _open(qtbot, panel, videos["ann"])
    panel.controller.pause()
    qtbot.waitUntil(lambda: panel.controller.source.state.value == "paused", timeout=5000)
    enrolled: list[str] = []
    panel.controller.enrolled.connect(enrolled.append)
    _press_enrol(panel, "ann", needed=2)
    qtbot.waitUntil(lambda: enrolled == ["ann"], timeout=60000)
    assert panel.controller.source.state.value in ("playing", "ended")


def test_video_that_ends_first_says_why_and_returns_to_idle(qtbot, panel, videos):
    _open(qtbot, panel, videos["far"])
    # pressed after the end: the video starts over and the enrolment ends with it
    qtbot.waitUntil(lambda: panel.controller.source.state.value == "ended", timeout=10000)
    ended: list[str] = []
    panel.controller.enrol_ended.connect(ended.append)
    outcomes = _press_enrol(panel, "far", needed=5)
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    assert 0 < len(outcomes) <= 10, "frames checked: from the restart to the end, each once at most"
    text = ended[0]
    assert text.startswith("Video ended after 0 good frames of 5 needed")
    assert f"needed, {len(outcomes)} frame" in text and "Most frequent refusals: Face too small" in text
    assert panel.enrol_status.text() == text
    assert panel.message.text() == f"Not enrolled: {text}"
    assert "look at the camera" not in panel.message.text()
    _idle_after_enrolment(panel)
    assert panel.store.names() == []


class _VanishingCamera:
    """A cv2.VideoCapture stand-in: waits for ``go``, gives ``images`` at 10 fps, then fails (unplugged)."""

    def __init__(self, images, go: threading.Event) -> None:
        self.images, self.go = list(images), go

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def get(self, prop) -> float:
        return 10.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value) -> bool:
        return True

    def read(self):
        self.go.wait(30)
        if not self.images:
            return False, None
        time.sleep(0.1)  # the device's frame interval
        return True, cv2.cvtColor(self.images.pop(0), cv2.COLOR_RGB2BGR)

    def release(self) -> None:
        pass


def test_lost_camera_ends_enrolment(qtbot, panel, monkeypatch):
    go = threading.Event()
    camera = CameraReader(
        0, capture_factory=lambda _i: _VanishingCamera(frames("ann", 8, face_px=60), go), max_failures=1
    )
    monkeypatch.setattr("app.video.frame_loop.open_reader", lambda _spec: camera)
    panel.open_source("0")
    qtbot.waitUntil(lambda: panel.controller.active, timeout=10000)
    ended: list[str] = []
    panel.controller.enrol_ended.connect(ended.append)
    _press_enrol(panel, "cam", needed=5)
    qtbot.waitUntil(lambda: panel.controller.mode == "enrol", timeout=60000)
    go.set()
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    assert "Camera 0 stopped delivering frames" in ended[0]
    assert "Enrolment stopped after 0 good frames of 5 needed" in ended[0]
    _idle_after_enrolment(panel)
