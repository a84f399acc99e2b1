"""Widgets of the Unlock panel: the big LOCKED / UNLOCKED banner, the latency HUD text, the
enrolled users' box (stem choice and user list) and the operating point's line."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets import stem_combo
from core.unlock.decision import UnlockState
from core.unlock.template_data import stem_of_model_id
from core.unlock.templates import TemplateStore

STAGES = ("detect", "landmarks", "embed", "match", "total")
STATE_STYLE = {
    UnlockState.LOCKED: ("LOCKED", "#b03030"),
    UnlockState.UNLOCKED: ("UNLOCKED", "#2f8f46"),
    UnlockState.LOCKED_OUT: ("LOCKED OUT", "#8a5a00"),
}
IDLE_STYLE = ("—", "#505050")

NO_LIVENESS = (
    "No liveness check: a printed photo or a phone screen showing an enrolled face is NOT detected "
    "and would unlock."
)
WEAK_LIVENESS = (
    "Liveness scores (human's antispoof + liveness nets) are shown, not used: on our tests they refused "
    "43 % of real faces, passed a blank frame and did not tell simulated prints or screens from real "
    "faces (ADR 0014). A printed photo or a screen is NOT detected."
)


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


STEM_TIP = (
    "The network that embeds each face. face-api: the fastest per frame. HSE FaceRec (faceres): "
    "the more accurate (four chips a face), about 3x slower per frame. Users are enrolled with one "
    "stem and must be enrolled again to verify with another."
)


class UsersBox(QGroupBox):
    """Enrolled users: the stem choice, the user list, Rename / Delete and the store's folder."""

    def __init__(self, store_root, stem: str, parent: QWidget | None = None) -> None:
        super().__init__("Enrolled users", parent)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Stem"))
        self.stem_box = stem_combo(stem, STEM_TIP)
        row.addWidget(self.stem_box, 1)
        layout.addLayout(row)
        self.user_list = QListWidget()
        self.user_list.setMaximumHeight(110)
        layout.addWidget(self.user_list)
        row = QHBoxLayout()
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        row.addWidget(self.rename_button)
        row.addWidget(self.delete_button)
        layout.addLayout(row)
        self.store_label = QLabel(f"Templates in {store_root} (0600, HMAC-checked)")
        self.store_label.setWordWrap(True)
        self.store_label.setStyleSheet("color: gray;")
        layout.addWidget(self.store_label)


def fill_user_list(user_list: QListWidget, store: TemplateStore) -> None:
    """One row per template file: ``name (N frames, stem, DREAM)`` (the name as item data), or a red,
    unselectable row naming a file that cannot be read and why."""
    user_list.clear()
    for entry in store.entries():
        if entry.summary is not None:
            s = entry.summary
            extra = ", DREAM" if s.dream else ""
            item = QListWidgetItem(f"{s.name}  ({s.frames} frames, {stem_of_model_id(s.model_id)}{extra})")
            item.setData(Qt.ItemDataRole.UserRole, s.name)
        else:
            item = QListWidgetItem(f"⚠ {entry.path.name}: {entry.error}")
            item.setForeground(QColor(230, 70, 70))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
        user_list.addItem(item)


def operating_point_text(calibration, far: float, mode: str) -> tuple[str, str]:
    """The line under the FAR choice and its colour (amber with a warning, else ``""``): the threshold,
    how many impostor pairs back it, where they come from, the measured FAR and TAR.

    Raises :class:`~core.unlock.calibrate.CalibrationError` for a FAR the calibration lacks."""
    op = calibration.at_far(far, mode)
    source = calibration.provenance.get("data", calibration.provenance.get("dataset", ""))
    text = (
        f"threshold {op.threshold:.4f} on cosine; backed by {op.impostors:,} impostor pairs"
        f"{f' ({source})' if source else ''}; measured FAR {op.measured_far:.2g}"
    )
    if not math.isnan(op.tar):
        text += f", TAR {100 * op.tar:.1f} % on {op.genuines:,} genuine pairs"
    warning = calibration.warning(far, mode)
    return text + (f"\n⚠ {warning}" if warning else ""), "#c07000" if warning else ""
