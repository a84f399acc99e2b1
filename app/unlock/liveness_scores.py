"""Liveness scores attached to an unlock frame's outcome, for display only (never a gate)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.recognize.liveness import LivenessChecker
    from core.unlock.session import FrameOutcome


class LivenessScores:
    """human's antispoof + liveness nets, loaded on first use (in a job), scoring a frame's face.

    They never gate the decision: on our tests human's nets refused 43 % of
    real faces, passed a blank frame and did not separate simulated prints
    or screens (ADR 0014), so gating would lock owners out and stop nobody.
    """

    def __init__(self) -> None:
        self._checker: LivenessChecker | None = None

    def load(self) -> LivenessChecker:
        """The nets, loaded now if they are not yet (call from a job)."""
        if self._checker is None:
            # lazy: the engine (torch) loads in the first job, not at start-up
            from core.recognize.liveness import LivenessChecker

            self._checker = LivenessChecker()
        return self._checker

    def attach(self, image: np.ndarray, outcome: FrameOutcome) -> FrameOutcome:
        """``outcome`` with its face's liveness scores and their time (``ms["liveness"]``)."""
        start = time.perf_counter()
        result = self.load().score(image, outcome.box)
        ms = dict(outcome.ms)
        ms["liveness"] = (time.perf_counter() - start) * 1e3
        return replace(outcome, liveness=result, ms=ms)
