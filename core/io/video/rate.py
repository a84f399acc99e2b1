"""Rates and stage times for live video: capture fps, display fps, inference fps, per-stage ms."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping


class RateMeter:
    """Events per second over a sliding window (thread-safe).

    window_s: only ticks of the last ``window_s`` seconds count, so the rate
    follows changes (a paused video drops to 0 within the window).
    """

    def __init__(self, window_s: float = 2.0, max_ticks: int = 512) -> None:
        self.window_s = float(window_s)
        self._ticks: collections.deque[float] = collections.deque(maxlen=max_ticks)
        self._lock = threading.Lock()
        self.count = 0

    def tick(self, now: float | None = None) -> None:
        with self._lock:
            self._ticks.append(time.monotonic() if now is None else now)
            self.count += 1

    def rate(self, now: float | None = None) -> float:
        """Ticks per second in the window (0 with fewer than 2 ticks)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._ticks and now - self._ticks[0] > self.window_s:
                self._ticks.popleft()
            if len(self._ticks) < 2:
                return 0.0
            span = self._ticks[-1] - self._ticks[0]
            return (len(self._ticks) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        with self._lock:
            self._ticks.clear()
            self.count = 0


class StageTimes:
    """Exponential moving average of named stage times in ms (``{"forward": 41.2, ...}``)."""

    def __init__(self, alpha: float = 0.2) -> None:
        self.alpha = float(alpha)
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, timings_ms: Mapping[str, float]) -> None:
        with self._lock:
            for name, value in timings_ms.items():
                old = self._values.get(name)
                self._values[name] = float(value) if old is None else old + self.alpha * (float(value) - old)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()
