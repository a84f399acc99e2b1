"""The multi-frame unlock decision and the lockout, as a clock-driven state machine (no models here).

Every frame with a usable face casts a *vote*: accepted for a user (its best
score reached the threshold) or rejected. The rule (:class:`DecisionRule`):

* **unlock** when at least ``k`` of the last ``n`` votes, all cast within the
  last ``window_s`` seconds, accept the *same* user: one lucky frame never
  unlocks;
* an **attempt** starts with the first vote while locked and lasts
  ``window_s`` seconds; if it ends without an unlock it is a *failed attempt*
  and the votes are cleared (the next vote starts a new attempt);
* after ``max_failures`` failed attempts in a row the machine is
  **locked out** for ``lockout_s`` seconds: frames are not even scored; after
  that the failure count starts again from 0. An unlock resets it.

Frames without a usable face cast no vote (they only let time pass, which can
end an attempt). ``UNLOCKED`` lasts until :meth:`DecisionMachine.lock`.

Time is whatever the caller passes as ``now`` (seconds, monotonic). The
session passes its own clock (``time.monotonic`` unless a test injects one),
never a frame's media time: a 1000 fps file must not fit 1000 scored frames
into one second of attempts. The failure count and a lockout outlive the
process through :meth:`DecisionMachine.restore` (see :mod:`core.unlock.lockout`).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from enum import Enum


class UnlockState(str, Enum):
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    LOCKED_OUT = "locked_out"


class DecisionEvent(str, Enum):
    """What a frame changed (``None`` when nothing)."""

    UNLOCKED = "unlocked"
    ATTEMPT_FAILED = "attempt_failed"
    LOCKED_OUT = "locked_out"  # the failed attempt that started a lockout
    LOCKOUT_OVER = "lockout_over"


@dataclass(frozen=True)
class DecisionRule:
    """k accepts of the last n votes within window_s; lockout after max_failures failed attempts.

    Defaults: 3 of 5 within 1.5 s, 5 failed attempts → 30 s lockout (issue 8).
    """

    k: int = 3
    n: int = 5
    window_s: float = 1.5
    max_failures: int = 5
    lockout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise ValueError(f"need 1 <= k <= n, got k={self.k}, n={self.n}")
        if self.window_s <= 0 or self.lockout_s < 0 or self.max_failures < 1:
            raise ValueError("window_s must be > 0, lockout_s >= 0, max_failures >= 1")

    def to_json(self) -> dict:
        return {
            "k": self.k,
            "n": self.n,
            "window_s": self.window_s,
            "max_failures": self.max_failures,
            "lockout_s": self.lockout_s,
        }


@dataclass(frozen=True)
class Vote:
    time_s: float
    user: str | None  # the accepted user, None for a rejected frame

    @property
    def accepted(self) -> bool:
        return self.user is not None


@dataclass(frozen=True)
class DecisionStatus:
    """The machine after a frame.

    state / event: see :class:`UnlockState`, :class:`DecisionEvent`.
    user: the unlocked user (``UNLOCKED`` only).
    accepts: accepts for the leading user among the current votes; needed: ``k``.
    votes: votes in the current attempt window.
    failures: failed attempts in a row; lockout_remaining_s: 0 unless locked out.
    attempt_elapsed_s: seconds since the current attempt's first vote (NaN when none).
    """

    state: UnlockState
    event: DecisionEvent | None
    user: str | None
    accepts: int
    needed: int
    votes: int
    failures: int
    lockout_remaining_s: float
    attempt_elapsed_s: float


class DecisionMachine:
    """See the module docstring. Not thread-safe: one driver (the session) calls it per frame."""

    def __init__(self, rule: DecisionRule | None = None) -> None:
        self.rule = rule or DecisionRule()
        self.reset()

    def reset(self) -> None:
        """Back to ``LOCKED``, no votes, no failures, no lockout."""
        self.state = UnlockState.LOCKED
        self.user: str | None = None
        self.failures = 0
        self.lockout_until = -math.inf
        self._votes: collections.deque[Vote] = collections.deque()
        self._attempt_start: float | None = None

    def restore(self, failures: int, lockout_remaining_s: float, now: float) -> None:
        """Carry a persisted failure count and lockout over (a restart must not buy new attempts).

        A remaining lockout is capped at the rule's ``lockout_s`` (a clock set back cannot lengthen it).
        """
        self.failures = max(0, int(failures))
        remaining = min(max(0.0, float(lockout_remaining_s)), self.rule.lockout_s)
        if remaining > 0:
            self.state = UnlockState.LOCKED_OUT
            self.user = None
            self.lockout_until = now + remaining
            self._votes.clear()
            self._attempt_start = None
        elif self.failures >= self.rule.max_failures:
            self.failures = 0  # a lockout that ran out while the app was closed: the count restarts

    def lock(self) -> None:
        """Leave ``UNLOCKED`` (the GUI's lock button); a lockout stays in force."""
        if self.state == UnlockState.UNLOCKED:
            self.state = UnlockState.LOCKED
            self.user = None
        self._votes.clear()
        self._attempt_start = None

    def lockout_remaining(self, now: float) -> float:
        return max(0.0, self.lockout_until - now) if self.state == UnlockState.LOCKED_OUT else 0.0

    def accepting_votes(self, now: float) -> bool:
        """False while locked out (the caller may skip scoring the frame); ends an expired lockout."""
        self._expire_lockout(now)
        return self.state != UnlockState.LOCKED_OUT

    def _expire_lockout(self, now: float) -> DecisionEvent | None:
        if self.state == UnlockState.LOCKED_OUT and now >= self.lockout_until:
            self.state = UnlockState.LOCKED
            self.failures = 0
            return DecisionEvent.LOCKOUT_OVER
        return None

    def _leader(self) -> tuple[str | None, int]:
        counts = collections.Counter(v.user for v in self._votes if v.accepted)
        if not counts:
            return None, 0
        user, count = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        return user, count

    def _fail_attempt(self, now: float) -> DecisionEvent:
        self._votes.clear()
        self._attempt_start = None
        self.failures += 1
        if self.failures >= self.rule.max_failures:
            self.state = UnlockState.LOCKED_OUT
            self.lockout_until = now + self.rule.lockout_s
            return DecisionEvent.LOCKED_OUT
        return DecisionEvent.ATTEMPT_FAILED

    def update(self, now: float, vote: Vote | None) -> DecisionStatus:
        """Advance to ``now`` and count ``vote`` (``None``: no usable face in this frame)."""
        event = self._expire_lockout(now)
        if self.state == UnlockState.LOCKED:
            # an attempt whose window has passed fails before the new vote starts the next one
            if self._attempt_start is not None and now - self._attempt_start >= self.rule.window_s:
                event = self._fail_attempt(now)
            if self.state == UnlockState.LOCKED and vote is not None:
                if self._attempt_start is None:
                    self._attempt_start = now
                self._votes.append(vote)
                while len(self._votes) > self.rule.n:
                    self._votes.popleft()
                while self._votes and now - self._votes[0].time_s > self.rule.window_s:
                    self._votes.popleft()
                user, count = self._leader()
                if user is not None and count >= self.rule.k:
                    self.state = UnlockState.UNLOCKED
                    self.user = user
                    self.failures = 0
                    event = DecisionEvent.UNLOCKED
        return self.status(now, event)

    def status(self, now: float, event: DecisionEvent | None = None) -> DecisionStatus:
        _, count = self._leader()
        elapsed = math.nan if self._attempt_start is None else now - self._attempt_start
        return DecisionStatus(
            self.state,
            event,
            self.user if self.state == UnlockState.UNLOCKED else None,
            count,
            self.rule.k,
            len(self._votes),
            self.failures,
            self.lockout_remaining(now),
            elapsed,
        )
