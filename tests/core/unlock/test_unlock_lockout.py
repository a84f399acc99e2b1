"""Failed attempts and the lockout are persisted in the store and counted on the session's clock, not media time."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.recognize.calibration import OperatingPoint
from core.unlock.decision import DecisionMachine, DecisionRule, UnlockState
from core.unlock.lockout import LockoutRecord
from core.unlock.pipeline import FrameAnalysis
from core.unlock.quality import FrameQuality
from core.unlock.session import UnlockSession
from core.unlock.templates import TemplateStore, TemplateTampered
from tests.core.unlock.test_unlock_templates import make_template

RULE = DecisionRule(k=3, n=5, window_s=1.5, max_failures=5, lockout_s=30.0)
WALL0 = 1_800_000_000.0


class FakeClocks:
    """A monotonic clock that restarts at 0 with every 'process' and a wall clock that does not."""

    def __init__(self) -> None:
        self.mono = 0.0
        self.wall = WALL0

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds

    def restart_process(self) -> None:
        self.mono = 0.0


class ImpostorPipeline:
    """Every frame a usable face whose descriptor is orthogonal to the template: a rejected vote."""

    def __init__(self, clocks: FakeClocks, frame_cost_s: float) -> None:
        self.clocks, self.frame_cost_s, self.calls = clocks, frame_cost_s, 0

    def analyze(self, image, gates, near=None, follow=None) -> FrameAnalysis:
        self.calls += 1
        self.clocks.advance(self.frame_cost_s)  # processing a frame takes real time
        embedding = np.zeros(128, np.float32)
        embedding[-1] = 1.0
        box = (100.0, 100.0, 300.0, 300.0)
        quality = FrameQuality(True, face_count=1, box=box, face_px=200.0)
        return FrameAnalysis((480, 640), [], quality, embedding=embedding)


@pytest.fixture
def store(tmp_path):
    store = TemplateStore(tmp_path / "store")
    store.save(make_template("Ann"))  # random 128-d: far below the threshold against the impostor
    return store


def session_on(store, clocks, frame_cost_s=0.03):
    pipeline = ImpostorPipeline(clocks, frame_cost_s)
    templates, _ = store.load_all()
    op = OperatingPoint(1e-3, 0.94, 2_000_000, 2_000, 2_000, 1e-3, 0.98, True)
    return UnlockSession(
        pipeline, templates, op, RULE, tracking=False,
        clock=lambda: clocks.mono, lockout_store=store, wall_clock=lambda: clocks.wall,
    )  # fmt: skip


def test_a_1000_fps_video_gets_no_more_attempts_than_the_clock_allows(store):
    clocks = FakeClocks()
    session = session_on(store, clocks, frame_cost_s=0.03)
    image = np.zeros((480, 640, 3), np.uint8)
    scored = 0
    for i in range(2000):
        out = session.process(image, i / 1000.0)  # media time: 1000 fps
        scored += out.scored
        if out.state == UnlockState.LOCKED_OUT:
            break
    # 5 attempts of 1.5 s on the session's clock at 30 ms a frame: ~250 frames, then the lockout
    assert out.state == UnlockState.LOCKED_OUT, scored
    assert scored <= RULE.max_failures * RULE.window_s / 0.03 + 5
    assert out.time_s < 0.3  # the media clock had barely moved: it is not what counted


def test_the_lockout_survives_a_new_session_and_a_restarted_monotonic_clock(store):
    clocks = FakeClocks()
    image = np.zeros((480, 640, 3), np.uint8)
    first = session_on(store, clocks)
    while first.process(image).state != UnlockState.LOCKED_OUT:
        pass
    clocks.advance(10.0)
    clocks.restart_process()
    second = session_on(TemplateStore(store.root), clocks)
    calls_before = second.pipeline.calls
    out = second.process(image, 0.0)
    assert out.state == UnlockState.LOCKED_OUT and not out.scored
    assert out.lockout_remaining_s == pytest.approx(20.0, abs=0.1)
    assert second.pipeline.calls == calls_before  # frames are not even analysed while locked out
    clocks.advance(20.5)
    out = second.process(image, 0.0)
    assert out.state == UnlockState.LOCKED and out.scored and out.failures == 0


def test_failed_attempts_count_across_sessions(store):
    clocks = FakeClocks()
    image = np.zeros((480, 640, 3), np.uint8)
    for expected in range(1, RULE.max_failures):
        session = session_on(TemplateStore(store.root), clocks)
        while session.process(image).failures < expected:
            pass
        clocks.restart_process()
    assert store.read_lockout().failures == RULE.max_failures - 1
    last = session_on(TemplateStore(store.root), clocks)
    while (out := last.process(image)).state != UnlockState.LOCKED_OUT:
        assert out.failures == RULE.max_failures - 1
    assert store.read_lockout().remaining_s(clocks.wall) == pytest.approx(RULE.lockout_s, abs=0.1)


def test_a_tampered_lockout_record_fails_closed(store):
    clocks = FakeClocks()
    store.write_lockout(LockoutRecord(4, 0.0))
    path = store.root / "lockout.json"
    doc = json.loads(path.read_text())
    doc["payload"]["failures"] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(TemplateTampered):
        store.read_lockout()
    out = session_on(store, clocks).process(np.zeros((480, 640, 3), np.uint8))
    assert out.state == UnlockState.LOCKED_OUT and out.lockout_remaining_s == pytest.approx(RULE.lockout_s)
    assert store.read_lockout().failures == RULE.max_failures  # rewritten, signed


def test_restore_caps_a_lockout_at_the_rule_and_ends_an_expired_one():
    machine = DecisionMachine(RULE)
    machine.restore(2, 10_000.0, now=5.0)  # a clock set back cannot lengthen it
    assert machine.state == UnlockState.LOCKED_OUT and machine.lockout_remaining(5.0) == RULE.lockout_s
    machine = DecisionMachine(RULE)
    machine.restore(RULE.max_failures, 0.0, now=5.0)
    assert machine.state == UnlockState.LOCKED and machine.failures == 0
