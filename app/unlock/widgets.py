"""Widgets of the Unlock panel: the big LOCKED / UNLOCKED banner and the latency HUD text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from core.unlock.decision import UnlockState

STAGES = ("detect", "landmarks", "embed", "match", "total")
STATE_STYLE = {
    UnlockState.LOCKED: ("LOCKED", "#b03030"),
    UnlockState.UNLOCKED: ("UNLOCKED", "#2f8f46"),
    UnlockState.LOCKED_OUT: ("LOCKED OUT", "#8a5a00"),
}
IDLE_STYLE = ("—", "#505050")


class StateBanner(QLabel):
    """A large coloured label: LOCKED (red), UNLOCKED — user (green), LOCKED OUT — 23 s (amber)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unlock_state")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(56)
        self.show_idle("Not verifying")

    def _paint(self, text: str, color: str) -> None:
        self.setText(text)
        self.setStyleSheet(
            f"QLabel#unlock_state {{ background: {color}; color: white; font-size: 22pt; font-weight: bold;"
            " border-radius: 6px; padding: 6px; }"
        )

    def show_idle(self, text: str) -> None:
        self._paint(text, IDLE_STYLE[1])

    def show_state(self, state: UnlockState, user: str | None = None, lockout_s: float = 0.0) -> None:
        word, color = STATE_STYLE[state]
        if state is UnlockState.UNLOCKED and user:
            word = f"{word} — {user}"
        elif state is UnlockState.LOCKED_OUT:
            word = f"{word} — {lockout_s:.0f} s"
        self._paint(word, color)


def latency_text(p50: dict[str, float], p95: dict[str, float], frames: int) -> str:
    """Per-stage rolling p50 / p95 in ms, one stage a line (monospace HUD)."""
    if not frames:
        return "latency: waiting for frames"
    lines = [f"{'ms':10s} {'p50':>6s} {'p95':>6s}   ({frames} frames)"]
    stages = [s for s in STAGES if s in p50] + sorted(k for k in p50 if k not in STAGES)
    for stage in stages:
        lines.append(f"{stage:10s} {p50[stage]:6.1f} {p95.get(stage, float('nan')):6.1f}")
    return "\n".join(lines)
