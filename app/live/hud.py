"""The live HUD: rates and stage times drawn over the top-left corner of the canvas."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

STAGE_SHORT = {"preprocess": "pre", "forward": "fwd", "postprocess": "post", "track": "track"}


def hud_text(figures: dict) -> str:
    """Two or three lines: fps of capture / display / detection, per-stage ms, latency and drops."""
    lines = [
        f"capture {figures['capture_fps']:5.1f} fps   display {figures['display_fps']:5.1f} fps   "
        f"detect {figures['detect_fps']:5.1f} fps"
    ]
    stages = figures.get("stages_ms") or {}
    if stages:
        parts = [f"{STAGE_SHORT.get(k, k)} {v:.1f}" for k, v in stages.items()]
        lines.append("ms: " + "  ".join(parts) + f"   total {sum(stages.values()):.1f}")
    tail = []
    if figures.get("latency_ms") is not None:
        tail.append(f"latency {figures['latency_ms']:.0f} ms")
    tail.append(f"dropped {figures.get('dropped', 0)}")
    if figures.get("state"):
        tail.append(figures["state"])
    lines.append("   ".join(tail))
    return "\n".join(lines)


class Hud(QLabel):
    """A translucent label parented to the view's viewport (moves with it, never a window)."""

    def __init__(self, viewport: QWidget) -> None:
        super().__init__(viewport)
        self.setObjectName("live_hud")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(
            "QLabel { background: rgba(0, 0, 0, 170); color: #e8e8e8; padding: 4px 6px;"
            " font-family: monospace; font-size: 10pt; border-radius: 3px; }"
        )
        self.move(8, 8)
        self.hide()

    def show_figures(self, figures: dict) -> None:
        self.setText(hud_text(figures))
        self.adjustSize()
        self.raise_()
        self.show()
