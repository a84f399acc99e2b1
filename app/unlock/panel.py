"""Unlock panel: webcam face unlock — enrol users, verify at a calibrated FAR, watch every stage's latency.

The panel has its own live view (the main canvas stays with the photos): the
newest frame with the main face boxed (green: this frame's vote accepted, red:
rejected, grey: not scored), a large LOCKED / UNLOCKED / LOCKED OUT banner and
a HUD with rolling p50 / p95 milliseconds per stage. Enrolment shows why each
frame is refused (no face, too small, turned, blurred, dark) and, when a
video ends or a camera is lost first, how far it got and why (ADR 0017). The operating
point line says which threshold the chosen FAR gives, how many impostor pairs
back it, and warns when too few do. The engine is :mod:`core.unlock`; the
session loop is :class:`~app.unlock.controller.UnlockController`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGraphicsRectItem,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.canvas.image_view import ImageView
from app.context import Workbench
from app.panel_base import Panel, wrapping_column
from app.settings import Keys
from app.unlock.controller import UnlockController
from app.unlock.widgets import (
    NO_LIVENESS,
    WEAK_LIVENESS,
    StateBanner,
    UsersBox,
    fill_user_list,
    latency_text,
    operating_point_text,
)
from app.video.source_picker import SourcePicker
from core.io.video.reader import SourceSpec
from core.recognize.stems import STEMS, UNLOCK_STEM
from core.unlock.calibrate import FARS, CalibrationError
from core.unlock.templates import TemplateError, TemplateStore

if TYPE_CHECKING:  # the engine imports torch; the window must not wait for it
    from core.unlock.session import EnrolOutcome, FrameOutcome

HUD_INTERVAL_MS = 250
ACCEPT, REJECT, UNSCORED = QColor(60, 200, 90), QColor(230, 70, 70), QColor(170, 170, 170)


class UnlockPanel(Panel):
    title = "Unlock"
    object_name = "unlock"
    mode = "Unlock"
    workspace_parts = ()
    mode_icon = QStyle.StandardPixmap.SP_DialogOkButton
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None, store: TemplateStore | None = None) -> None:
        super().__init__(workbench, parent)
        self.store, store_problem = store or _open_store(workbench), ""
        if isinstance(self.store, tuple):
            self.store, store_problem = self.store
        self.view = ImageView()
        self.controller = UnlockController(workbench, self.view.set_image, self.store, self)
        saved_stem = workbench.settings.get(Keys.UNLOCK_STEM)
        self.controller.stem = saved_stem if saved_stem in STEMS else UNLOCK_STEM
        self.hud = QLabel("latency: waiting for frames")
        self.hud.setObjectName("unlock_hud")
        self.hud.setStyleSheet("QLabel#unlock_hud { font-family: monospace; }")
        self._box_item = QGraphicsRectItem()
        self._box_item.setZValue(2)
        self._box_item.setVisible(False)
        self.view.scene().addItem(self._box_item)
        self._build()
        self._hud_timer = QTimer(self)
        self._hud_timer.setInterval(HUD_INTERVAL_MS)
        self._hud_timer.timeout.connect(self._update_hud)
        c = self.controller
        c.opened.connect(lambda _s: self._hud_timer.start())
        c.closed.connect(self._on_closed)
        c.message.connect(self.message.setText)
        c.job_failed.connect(self._on_job_failed)
        c.enrol_frame.connect(self.show_enrol)
        c.enrol_ended.connect(self._on_enrol_ended)
        c.verify_frame.connect(self.show_verify)
        c.mode_changed.connect(self._on_mode)
        c.users_changed.connect(self.refresh_users)
        self.picker.refresh_cameras()
        self.refresh_users()
        self._show_operating_point()
        self._on_mode("idle")
        if store_problem:
            self.message.setText(store_problem)

    # --- widgets ------------------------------------------------------------------------
    def _build(self) -> None:
        settings = self.workbench.settings
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.banner = StateBanner()
        left_layout.addWidget(self.banner)
        left_layout.addWidget(self.view, 1)
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        left_layout.addWidget(self.reason)
        left_layout.addWidget(self.hud)

        right = QWidget()
        form = QVBoxLayout(right)
        self.picker = SourcePicker(settings, Keys.UNLOCK_LAST_DIR)
        self.picker.open_requested.connect(self.open_source)
        self.picker.close_requested.connect(self.controller.close)
        form.addWidget(self.picker)
        users = UsersBox(self.store.root, self.controller.stem)
        self.user_list, self.stem_box = users.user_list, users.stem_box
        users.rename_button.clicked.connect(self.rename_selected)
        users.delete_button.clicked.connect(self.delete_selected)
        self.stem_box.currentIndexChanged.connect(self._on_stem)
        form.addWidget(users)
        form.addWidget(self._build_enrol())
        form.addWidget(self._build_verify())
        self.message = QLabel("Open a camera or a video, enrol a user, then Verify.")
        self.message.setWordWrap(True)
        form.addWidget(self.message)
        form.addStretch(1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(wrapping_column(right))
        splitter.setSizes([560, 340])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _build_enrol(self) -> QGroupBox:
        box = QGroupBox("Enrol")
        layout = QFormLayout(box)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("user name")
        layout.addRow("Name", self.name_edit)
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(1, 20)
        self.frames_spin.setValue(5)
        layout.addRow("Good frames", self.frames_spin)
        self.keep_images_box = QCheckBox("Keep face images in the template")
        self.keep_images_box.setToolTip("Off by default: only embeddings are stored")
        layout.addRow(self.keep_images_box)
        self.enrol_button = QPushButton("Enrol")
        self.enrol_button.clicked.connect(self.start_enrol)
        layout.addRow(self.enrol_button)
        self.enrol_status = QLabel("")
        self.enrol_status.setWordWrap(True)
        layout.addRow(self.enrol_status)
        return box

    def _build_verify(self) -> QGroupBox:
        box = QGroupBox("Verify")
        layout = QFormLayout(box)
        self.far_box = QComboBox()
        for far in FARS:
            self.far_box.addItem(f"{far:g}", far)
        saved = self.workbench.settings.get(Keys.UNLOCK_FAR)
        self.far_box.setCurrentIndex(max(0, self.far_box.findData(saved)))
        self.controller.far = float(self.far_box.currentData())
        self.far_box.currentIndexChanged.connect(self._on_far)
        layout.addRow("False-accept rate", self.far_box)
        self.operating_point = QLabel("")
        self.operating_point.setWordWrap(True)
        layout.addRow(self.operating_point)
        self.dream_box = QCheckBox("DREAM (pose-robust embedding)")
        self.dream_box.setChecked(True)
        self.dream_box.toggled.connect(self._on_dream)
        layout.addRow(self.dream_box)
        self.liveness_box = QCheckBox("Show liveness scores")
        self.liveness_box.toggled.connect(self._on_liveness)
        layout.addRow(self.liveness_box)
        self.liveness_note = QLabel(NO_LIVENESS)
        self.liveness_note.setWordWrap(True)
        self.liveness_note.setStyleSheet("color: #c07000;")
        self.liveness_note.setToolTip(NO_LIVENESS)
        layout.addRow(self.liveness_note)
        row = QHBoxLayout()
        self.verify_button = QPushButton("Verify")
        self.verify_button.clicked.connect(self.start_verify)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.controller.stop)
        row.addWidget(self.verify_button)
        row.addWidget(self.stop_button)
        layout.addRow(row)
        self.rule_label = QLabel("")
        self.rule_label.setWordWrap(True)
        layout.addRow(self.rule_label)
        return box

    # --- sources ------------------------------------------------------------------------------
    def open_source(self, spec) -> None:
        if isinstance(spec, SourceSpec):
            self.picker.remember(spec)
        self.controller.open(spec)

    def _on_closed(self) -> None:
        self._hud_timer.stop()
        self._box_item.setVisible(False)
        self.controller.stop()

    def _on_job_failed(self, text: str) -> None:
        self.message.setText(text)
        self.controller.stop()

    # --- users -----------------------------------------------------------------------------------
    def refresh_users(self) -> None:
        fill_user_list(self.user_list, self.store)

    def selected_user(self) -> str | None:
        item = self.user_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def rename_selected(self, new_name: str | None = None) -> None:
        old = self.selected_user()
        if old is None:
            return
        if not isinstance(new_name, str):
            new_name, ok = QInputDialog.getText(self, "Rename user", "New name", text=old)
            if not ok:
                return
        try:
            self.controller.rename_user(old, new_name)
        except (TemplateError, OSError) as exc:
            self.message.setText(f"Rename failed: {exc}")

    def delete_selected(self, confirm: bool = True) -> None:
        name = self.selected_user()
        if name is None:
            return
        if confirm:
            answer = QMessageBox.question(self, "Delete user", f"Delete the template of {name}?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.controller.delete_user(name)
        except (TemplateError, OSError) as exc:
            self.message.setText(f"Delete failed: {exc}")

    # --- enrol / verify ----------------------------------------------------------------------------
    def start_enrol(self) -> None:
        if not self.controller.active:
            self.message.setText("Open a camera or a video first.")
            return
        try:
            self.controller.start_enrol(
                self.name_edit.text().strip(), self.frames_spin.value(), self.keep_images_box.isChecked()
            )
        except TemplateError as exc:
            self.message.setText(str(exc))

    def start_verify(self) -> None:
        if not self.controller.active:
            self.message.setText("Open a camera or a video first.")
            return
        self.controller.start_verify()

    def _on_mode(self, mode: str) -> None:
        self.enrol_button.setEnabled(mode != "enrol")
        self.verify_button.setEnabled(mode != "verify")
        self.stop_button.setEnabled(mode != "idle")
        if mode == "verify":
            rule = self.controller.session.rule
            self.rule_label.setText(
                f"Unlocks on {rule.k} accepted of the last {rule.n} frames within {rule.window_s:g} s; "
                f"{rule.max_failures} failed attempts lock out for {rule.lockout_s:g} s."
            )
            self._show_operating_point()
        elif mode == "idle":
            self.banner.show_idle("Not verifying")
        else:
            self.banner.show_idle("Enrolling")
            self.enrol_status.setText("Waiting for the first frame…")

    def _on_far(self) -> None:
        far = float(self.far_box.currentData())
        self.workbench.settings.set(Keys.UNLOCK_FAR, far)
        error = self.controller.set_far(far)
        if error:
            self.message.setText(error)
        self._show_operating_point()

    def _on_dream(self, on: bool) -> None:
        self.controller.use_dream = on
        self._models_changed("DREAM changed")

    def _on_stem(self) -> None:
        self.controller.stem = self.stem_box.currentData()
        self.workbench.settings.set(Keys.UNLOCK_STEM, self.controller.stem)
        self._models_changed("Stem changed")

    def _models_changed(self, what: str) -> None:
        if self.controller.mode != "idle":
            self.controller.stop()
            self.message.setText(f"{what}: press Verify or Enrol again.")
        self._show_operating_point()

    def _on_liveness(self, on: bool) -> None:
        self.controller.liveness_on = on
        self.liveness_note.setText(WEAK_LIVENESS if on else NO_LIVENESS)

    def _show_operating_point(self) -> None:
        far = float(self.far_box.currentData())
        try:
            text, color = operating_point_text(self.controller.calibration(), far, self.controller.mode_name)
        except CalibrationError as exc:
            text, color = str(exc), "#d04040"
        self.operating_point.setText(text)
        self.operating_point.setStyleSheet(f"color: {color};" if color else "")

    # --- per frame ---------------------------------------------------------------------------------
    def _draw_box(self, box, color: QColor) -> None:
        if box is None:
            self._box_item.setVisible(False)
            return
        x1, y1, x2, y2 = box
        self._box_item.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        self._box_item.setPen(QPen(color, 3))
        self._box_item.setVisible(True)

    def show_enrol(self, outcome: EnrolOutcome) -> None:
        self._draw_box(outcome.box, ACCEPT if outcome.accepted else REJECT)
        progress = f"{outcome.collected}/{outcome.needed} good frames"
        if outcome.accepted:
            self.enrol_status.setText(f"{progress}: frame accepted.")
        else:
            self.enrol_status.setText(f"{progress}. Refused: {' '.join(outcome.reasons)}")
        self.reason.setText(" ".join(outcome.reasons))

    def _on_enrol_ended(self, text: str) -> None:
        """The source stopped first: say so where the per-frame progress was, not a stale refusal."""
        self._draw_box(None, REJECT)
        self.enrol_status.setText(text)
        self.reason.setText("")

    def show_verify(self, outcome: FrameOutcome) -> None:
        color = UNSCORED if not outcome.scored else (ACCEPT if outcome.accepted else REJECT)
        self._draw_box(outcome.box, color)
        self.banner.show_state(outcome.state, outcome.unlocked_user, outcome.lockout_remaining_s)
        score = "–" if math.isnan(outcome.score) else f"{outcome.score:.3f}"
        parts = [
            f"score {score} (threshold {outcome.threshold:.3f}, {outcome.user or 'nobody'})",
            f"votes {outcome.accepts}/{outcome.needed}",
            f"failed attempts {outcome.failures}",
        ]
        if outcome.liveness is not None:
            live = outcome.liveness
            parts.append(f"liveness (not used) antispoof {live.antispoof:.2f}, live {live.liveness:.2f}")
        if not math.isnan(outcome.yaw):
            parts.append(f"yaw {outcome.yaw:+.0f}°")
        reasons = " ".join(outcome.reasons)
        self.reason.setText("; ".join(parts) + (f"\n{reasons}" if reasons else ""))

    def _update_hud(self) -> None:
        p50, p95, frames = self.controller.latency_figures()
        self.hud.setText(latency_text(p50, p95, frames))

    def release(self) -> None:
        """Close the camera or video and drop the session and models (see the controller)."""
        self.controller.release()

    def shutdown(self) -> None:
        self._hud_timer.stop()
        self.controller.shutdown()


def _open_store(workbench: Workbench) -> TemplateStore | tuple[TemplateStore, str]:
    """The store named in settings (``Keys.UNLOCK_STORE``), or the default one with the reason why not."""
    root = workbench.settings.get(Keys.UNLOCK_STORE) or None
    try:
        return TemplateStore(root)
    except (TemplateError, OSError) as exc:
        if root is None:
            raise
        return TemplateStore(None), f"{exc} Using the default template store instead."
