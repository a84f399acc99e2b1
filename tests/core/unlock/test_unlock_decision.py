"""The multi-frame rule (k of n within t) and the lockout, on a fake clock."""

from __future__ import annotations

import pytest

from core.unlock.decision import DecisionEvent, DecisionMachine, DecisionRule, UnlockState, Vote

FPS = 25.0


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def tick(self, dt: float = 1 / FPS) -> float:
        self.t += dt
        return self.t


def feed(machine: DecisionMachine, clock: FakeClock, pattern: str, user: str = "ann", dt: float = 1 / FPS):
    """'a' accepted vote, 'r' rejected, '.' no usable face; returns the statuses."""
    out = []
    for ch in pattern:
        now = clock.tick(dt)
        vote = None if ch == "." else Vote(now, user if ch == "a" else None)
        out.append(machine.update(now, vote))
    return out


def test_one_lucky_frame_never_unlocks_but_k_of_n_does():
    m, c = DecisionMachine(DecisionRule(k=3, n=5, window_s=1.5)), FakeClock()
    statuses = feed(m, c, "arrarr")  # 2 accepts among any 5
    assert all(s.state == UnlockState.LOCKED for s in statuses) and statuses[-1].accepts <= 2
    m.reset()
    statuses = feed(m, c, "rarraa")  # 3rd accept in the last 5 votes
    assert [s.state for s in statuses][-2:] == [UnlockState.LOCKED, UnlockState.UNLOCKED]
    assert statuses[-1].event == DecisionEvent.UNLOCKED and statuses[-1].user == "ann"
    # accepts further apart than n votes do not add up
    m.reset()
    statuses = feed(m, c, "arrrrarrrra")
    assert statuses[-1].state == UnlockState.LOCKED


def test_accepts_must_fall_within_the_window_and_be_the_same_user():
    m, c = DecisionMachine(DecisionRule(k=3, n=5, window_s=1.5)), FakeClock()
    feed(m, c, "a", dt=0.1)
    feed(m, c, "a", dt=0.7)
    s = feed(m, c, "a", dt=0.9)[-1]  # 1.6 s after the first accept: the window has moved on
    assert s.state == UnlockState.LOCKED
    m.reset()
    feed(m, c, "aa", user="ann")
    s = feed(m, c, "a", user="bea")[-1]
    assert s.state == UnlockState.LOCKED and s.accepts == 2  # 2 x ann + 1 x bea is no unlock
    s = feed(m, c, "a", user="ann")[-1]
    assert s.state == UnlockState.UNLOCKED and s.user == "ann"


def test_frames_without_a_face_cast_no_vote():
    m, c = DecisionMachine(DecisionRule(k=3, n=5, window_s=1.5)), FakeClock()
    s = feed(m, c, "a.a..a")[-1]
    assert (
        s.state == UnlockState.UNLOCKED
    )  # 3 votes, all accepted; the empty frames do not count as rejections


def test_unlocked_stays_until_lock():
    m, c = DecisionMachine(), FakeClock()
    feed(m, c, "aaa")
    assert feed(m, c, "rrrrrrrr")[-1].state == UnlockState.UNLOCKED
    m.lock()
    assert m.state == UnlockState.LOCKED and m.status(c.t).votes == 0


def test_lockout_after_five_failed_attempts_for_thirty_seconds():
    rule = DecisionRule(k=3, n=5, window_s=1.5, max_failures=5, lockout_s=30.0)
    m, c = DecisionMachine(rule), FakeClock()
    times, events = [], []
    for _ in range(200):  # an impostor in front of the camera for 8 s at 25 fps
        s = m.update(c.tick(), Vote(c.t, None))
        times.append(c.t)
        events.append(s.event)
    failed = [i for i, e in enumerate(events) if e == DecisionEvent.ATTEMPT_FAILED]
    locked = [i for i, e in enumerate(events) if e == DecisionEvent.LOCKED_OUT]
    assert len(failed) == 4 and len(locked) == 1 and locked[0] > failed[-1]
    # an attempt lasts the 1.5 s window: 38 frames at 25 fps (the 38th vote opens the next attempt)
    assert failed[:2] == [38, 76] and locked[0] == 190
    locked_at = times[locked[0]]
    assert m.state == UnlockState.LOCKED_OUT
    assert m.lockout_remaining(c.t) == pytest.approx(30.0 - (c.t - locked_at))
    # during the lockout even the right face is refused
    s = feed(m, c, "aaaaa")[-1]
    assert s.state == UnlockState.LOCKED_OUT and s.event is None and 0 < s.lockout_remaining_s < 30.0
    c.t = locked_at + 29.9
    assert not m.accepting_votes(c.t)
    # after 30 s the machine listens again, with the failure count reset
    c.t = locked_at + 30.0
    assert m.accepting_votes(c.t) and m.state == UnlockState.LOCKED and m.failures == 0
    assert feed(m, c, "aaa")[-1].state == UnlockState.UNLOCKED


def test_lockout_expiry_is_reported_once():
    m, c = DecisionMachine(DecisionRule(max_failures=1, lockout_s=5.0, window_s=0.5)), FakeClock()
    events = [s.event for s in feed(m, c, "r" * 14)]
    assert DecisionEvent.LOCKED_OUT in events and m.state == UnlockState.LOCKED_OUT
    c.tick(6.0)
    s = m.update(c.t, None)
    assert s.event == DecisionEvent.LOCKOUT_OVER and s.state == UnlockState.LOCKED
    assert m.update(c.tick(), None).event is None


def test_an_unlock_resets_the_failure_count():
    m, c = DecisionMachine(DecisionRule(window_s=0.4, max_failures=3)), FakeClock()
    feed(m, c, "r" * 25)  # 2 failed attempts (0.4 s = 10 frames each)
    assert m.failures == 2
    feed(m, c, "aaa")
    assert m.state == UnlockState.UNLOCKED and m.failures == 0


@pytest.mark.parametrize("kwargs", [dict(k=0), dict(k=6, n=5), dict(window_s=0), dict(max_failures=0)])
def test_invalid_rules(kwargs):
    with pytest.raises(ValueError):
        DecisionRule(**kwargs)


def test_rolling_latency_percentiles():
    from core.unlock.latency import RollingLatency

    rolling = RollingLatency(window=10)
    for i in range(30):
        rolling.add({"detect": float(i), "total": 2.0 * i})
    s = rolling.summary()
    assert s.frames == 10 and s.p50["detect"] == pytest.approx(24.5) and s.p95["total"] == pytest.approx(57.1)
    rolling.reset()
    assert rolling.summary().frames == 0
