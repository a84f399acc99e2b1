"""Per-stage latency of unlock frames: p50 / p95 over a run, and a rolling window for the live HUD (ms)."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LatencySummary:
    """p50 / p95 per stage over a run (ms)."""

    p50: dict[str, float] = field(default_factory=dict)
    p95: dict[str, float] = field(default_factory=dict)
    frames: int = 0


def latency_summary(ms_rows: list[dict[str, float]], skip: int = 0) -> LatencySummary:
    """Percentiles per stage of per-frame ``ms`` dicts, after the first ``skip`` (warm-up) rows."""
    rows = ms_rows[skip:]
    out = LatencySummary(frames=len(rows))
    keys = sorted({k for r in rows for k in r})
    for k in keys:
        vals = np.array([r.get(k, 0.0) for r in rows], dtype=np.float64)
        if len(vals):
            out.p50[k] = float(np.percentile(vals, 50))
            out.p95[k] = float(np.percentile(vals, 95))
    return out


class RollingLatency:
    """Rolling p50 / p95 per stage over the last ``window`` frames (the GUI's latency HUD; thread-safe).

    ``add(outcome.ms)`` per frame, ``summary()`` whenever the HUD redraws.
    """

    def __init__(self, window: int = 100) -> None:
        self._rows: collections.deque[dict[str, float]] = collections.deque(maxlen=int(window))
        self._lock = threading.Lock()

    def add(self, ms: dict[str, float]) -> None:
        with self._lock:
            self._rows.append(dict(ms))

    def summary(self) -> LatencySummary:
        with self._lock:
            rows = list(self._rows)
        return latency_summary(rows)

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
