"""Live panel: detection on a camera, a video file or an image sequence, per scale branch.

The canvas shows the video at the source's frame rate; detection runs in the
job runner on the newest frame (see :mod:`app.live.controller`). Boxes use the
Detection panel's colours and the same toggles: branches / scale ranges, score
slider, landmarks; with tracking on, labels carry stable ids. The HUD on the
canvas shows capture, display and detection fps and per-stage milliseconds.
Snapshot adds the detected frame to a WIDER-format split (annotate it later in
the Annotation panel); Record writes JSON lines per detected frame. "Batch…"
opens the folder/video batch job with progress and cancel.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QVBoxLayout,
)

from app.canvas.layers import LayerStyle
from app.canvas.overlays import BRANCH_COLORS, FaceOverlay
from app.context import Workbench
from app.detectors import fill_detector_box, select_detector, selected_detector
from app.live.batch_dialog import BatchDialog
from app.live.controller import LiveController
from app.live.hud import Hud
from app.live.widgets import BranchToggles
from app.panel_base import Panel
from app.settings import SHORTCUT_BY_KEY, Keys
from app.video.source_picker import SourcePicker
from app.widgets import score_slider_row
from core.detect.live.loop import LiveResult
from core.detect.registry import RUN_MIN_SCORE
from core.io.video.reader import SourceSpec
from core.paths import user_data_dir

HUD_INTERVAL_MS = 250
# Live boxes are drawn on video frames, where no other panel's layer has anything to show.
LAYER_STYLE = LayerStyle("Live", Qt.PenStyle.SolidLine, tuple(BRANCH_COLORS.items()))


class LivePanel(Panel):
    title = "Live"
    object_name = "live"
    mode = "Live"
    workspace_parts = ("canvas",)
    mode_icon = QStyle.StandardPixmap.SP_MediaPlay
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.controller = LiveController(workbench, self)
        self.overlay = FaceOverlay(self.canvas_layer(LAYER_STYLE))
        self.hud = Hud(workbench.view.viewport())
        self.shown: LiveResult | None = None
        self.batch_dialog: BatchDialog | None = None
        self._last_row = -1
        self._build()
        self.controller.model = selected_detector(self.model_box)
        self.controller.tracking = self.track_box.isChecked()
        self._hud_timer = QTimer(self)
        self._hud_timer.setInterval(HUD_INTERVAL_MS)
        self._hud_timer.timeout.connect(self._update_hud)
        c = self.controller
        c.opened.connect(self._on_opened)
        c.closed.connect(self._on_closed)
        c.frame_shown.connect(self._on_frame)
        c.result_ready.connect(self.show_result)
        c.message.connect(self.message.setText)
        c.state_changed.connect(self._on_state)
        c.job_failed.connect(self._on_detection_failed)
        workbench.row_changed.connect(self._on_row_changed)
        self.shortcut_actions: dict[str, QAction] = {}
        for key, slot in (
            ("live_play", self.toggle_play),
            ("live_step", lambda: self.controller.step(1)),
            ("live_back", lambda: self.controller.step(-1)),
            ("live_snapshot", self.snapshot),
        ):
            action = QAction(SHORTCUT_BY_KEY[key].text, workbench.view)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, f=slot: f())
            workbench.view.addAction(action)  # works wherever the canvas shows: the video is drawn there
            self.shortcut_actions[key] = action
        self.apply_shortcuts()
        self._update_controls()
        self.refresh_cameras()

    # --- widgets ------------------------------------------------------------------
    def _build(self) -> None:
        settings = self.workbench.settings
        layout = QVBoxLayout(self)
        self.picker = SourcePicker(settings, Keys.LIVE_LAST_DIR)
        self.picker.open_requested.connect(self.open_source)
        self.picker.close_requested.connect(self.close_source)
        self.source_box = self.picker.source_box
        self.open_button, self.close_button = self.picker.open_button, self.picker.close_button
        layout.addWidget(self.picker)

        transport = QHBoxLayout()
        self.back_button = QPushButton("◀|")
        self.back_button.setToolTip("Previous frame")
        self.back_button.clicked.connect(lambda: self.controller.step(-1))
        self.play_button = QPushButton("Pause")
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button = QPushButton("|▶")
        self.step_button.setToolTip("Next frame")
        self.step_button.clicked.connect(lambda: self.controller.step(1))
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.sliderReleased.connect(lambda: self.controller.seek(self.seek_slider.value()))
        self.seek_slider.actionTriggered.connect(self._on_slider_action)
        self.position_label = QLabel("–")
        for widget in (self.back_button, self.play_button, self.step_button):
            transport.addWidget(widget)
        transport.addWidget(self.seek_slider, 1)
        transport.addWidget(self.position_label)
        layout.addLayout(transport)

        detect_row = QHBoxLayout()
        self.detect_box = QCheckBox("Detect")
        self.detect_box.setChecked(True)
        self.detect_box.toggled.connect(self._on_detect_toggled)
        self.model_box = QComboBox()
        fill_detector_box(self.model_box)
        select_detector(self.model_box, settings.get(Keys.LIVE_MODEL))
        self.model_box.currentIndexChanged.connect(
            lambda _: self._on_model(selected_detector(self.model_box))
        )
        self.track_box = QCheckBox("Track (ids)")
        self.track_box.setChecked(settings.get(Keys.LIVE_TRACKING))
        self.track_box.toggled.connect(self._on_tracking)
        detect_row.addWidget(self.detect_box)
        detect_row.addWidget(self.model_box, 1)
        detect_row.addWidget(self.track_box)
        layout.addLayout(detect_row)

        self.branch_group = BranchToggles()
        self.branch_group.set_detector(selected_detector(self.model_box))
        self.branch_boxes = self.branch_group.boxes
        self.branch_group.changed.connect(self._refresh_overlay)
        layout.addWidget(self.branch_group)

        slider_row, self.score_slider, self.score_label = score_slider_row(
            settings, Keys.LIVE_MIN_SCORE, RUN_MIN_SCORE
        )
        self.score_slider.valueChanged.connect(self._refresh_overlay)
        layout.addLayout(slider_row)
        self.landmark_box = QCheckBox("Show landmarks")
        self.landmark_box.setChecked(True)
        self.landmark_box.toggled.connect(self._refresh_overlay)
        layout.addWidget(self.landmark_box)

        actions = QHBoxLayout()
        self.snapshot_button = QPushButton("Snapshot")
        self.snapshot_button.setToolTip("Add the detected frame and its shown faces to a WIDER split")
        self.snapshot_button.clicked.connect(lambda: self.snapshot())
        self.record_button = QPushButton("Record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Write the detections of every detected frame as JSON lines")
        self.record_button.toggled.connect(self._on_record_toggled)
        batch = QPushButton("Batch…")
        batch.setToolTip("Detect faces in folders and videos, resumable, with progress")
        batch.clicked.connect(self.open_batch)
        for widget in (self.snapshot_button, self.record_button, batch):
            actions.addWidget(widget)
        layout.addLayout(actions)
        self.message = QLabel("Pick a camera, a video file or an image folder.")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self._update_controls()
        self._refresh_overlay()

    def apply_shortcuts(self) -> None:
        for key, action in self.shortcut_actions.items():
            action.setShortcuts(self.workbench.settings.shortcut_sequences(key))

    # --- sources --------------------------------------------------------------------
    def refresh_cameras(self) -> None:
        self.picker.refresh_cameras()

    def open_source(self, spec: SourceSpec | str | int, paused: bool = False) -> None:
        """Open a camera / file / folder / glob (``"0"``, ``"clip.mp4"``, ``"frames/*.png"``)."""
        if isinstance(spec, SourceSpec):
            self.picker.remember(spec)
        self.controller.open(spec, paused=paused)

    def close_source(self) -> None:
        """Stop the session and give the canvas back to the current photo."""
        was_active = self.controller.active
        self.controller.close()
        if was_active and self._last_row >= 0:
            self.workbench.row_requested.emit(self._last_row)

    def _on_row_changed(self, row: int, _path) -> None:
        self._last_row = row
        if self.controller.active:  # the user went back to photos
            self.controller.close()

    def _on_opened(self, source) -> None:
        self.workbench.set_current(None)  # photo panels drop their overlays: the canvas is video now
        self.overlay.clear()
        self.shown = None
        count = source.frame_count
        self.seek_slider.setRange(0, max(0, (count or 1) - 1))
        self._hud_timer.start()
        self._update_controls()

    def _on_closed(self) -> None:
        self._hud_timer.stop()
        self.hud.hide()
        self.overlay.clear()
        self.shown = None
        self.record_button.setChecked(False)
        self._update_controls()

    def _on_state(self, state: str) -> None:
        self.play_button.setText("Pause" if state == "playing" else "Play")
        self._update_controls()

    def _update_controls(self) -> None:
        source = self.controller.source
        active = source is not None
        seekable = active and source.seekable
        self.close_button.setEnabled(active)
        self.play_button.setEnabled(active)
        self.step_button.setEnabled(active)
        self.back_button.setEnabled(seekable)
        self.seek_slider.setEnabled(seekable and bool(source.frame_count))
        self.snapshot_button.setEnabled(active)
        self.record_button.setEnabled(active)
        for key, action in getattr(
            self, "shortcut_actions", {}
        ).items():  # keys stay free while no session is open
            action.setEnabled(active and (key != "live_back" or seekable))

    # --- transport --------------------------------------------------------------------
    def toggle_play(self) -> None:
        source = self.controller.source
        if source is None:
            return
        if source.state.value == "playing":
            self.controller.pause()
        else:
            self.controller.play()

    def _on_slider_action(self, _action) -> None:
        if not self.seek_slider.isSliderDown():  # page clicks and keys seek at once; drags on release
            QTimer.singleShot(0, lambda: self.controller.seek(self.seek_slider.value()))

    def _on_frame(self, frame) -> None:
        source = self.controller.source
        total = source.frame_count if source is not None else None
        self.position_label.setText(f"{frame.index + 1}/{total}" if total else f"{frame.index + 1}")
        if not self.seek_slider.isSliderDown():
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(frame.index)
            self.seek_slider.blockSignals(False)

    # --- detection ----------------------------------------------------------------------
    def _on_detect_toggled(self, on: bool) -> None:
        self.controller.detecting = on
        if not on:
            self.overlay.clear()
            self.shown = None

    def _on_detection_failed(self, text: str) -> None:
        self.detect_box.setChecked(False)
        self.message.setText(text)

    def _on_model(self, name: str) -> None:
        self.workbench.settings.set(Keys.LIVE_MODEL, name)
        self.controller.model = name
        self.branch_group.set_detector(name)
        self.overlay.clear()
        self.shown = None

    def _on_tracking(self, on: bool) -> None:
        self.workbench.settings.set(Keys.LIVE_TRACKING, on)
        self.controller.tracking = on

    def show_result(self, result: LiveResult) -> None:
        self.shown = result
        if result.track_ids is not None:
            labels = [f"#{i} {f.score:.2f}" for i, f in zip(result.track_ids, result.faces, strict=True)]
        else:
            labels = [f"{f.score:.2f}" for f in result.faces]
        self.overlay.set_faces(result.faces, labels)
        self.branch_group.set_detector(result.result.model, result.result.branch_kind)
        self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        min_score = self.score_slider.value() / 100
        self.workbench.settings.set(Keys.LIVE_MIN_SCORE, min_score)
        self.controller.track_min_score = min_score
        self.overlay.visible_branches = self.branch_group.visible_branches()
        self.overlay.min_score = min_score
        self.overlay.show_landmarks = self.landmark_box.isChecked()
        self.overlay.refresh()
        self.branch_group.set_counts(self.overlay.faces(), min_score)
        if self.shown is not None:
            self.summary.setText(
                f"frame {self.shown.frame.index}: {len(self.overlay.visible_faces())} of "
                f"{len(self.shown.result.faces)} faces shown ({self.shown.result.model})"
            )

    def _update_hud(self) -> None:
        if self.controller.active:
            self.hud.show_figures(self.controller.hud_figures())

    # --- snapshot, recording, batch ------------------------------------------------------
    def snapshot_dir(self) -> Path:
        return Path(self.workbench.settings.get(Keys.LIVE_SNAPSHOT_DIR))

    def snapshot(self, root: Path | None = None) -> bool:
        """Add the last detected frame and the faces shown now to the WIDER split at ``root``."""
        return self.controller.snapshot(root or self.snapshot_dir(), self.overlay.visible_faces())

    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.controller.stop_recording()
            return
        if self.controller.recorder is not None:
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        default = user_data_dir() / "recordings" / f"live-{stamp}.jsonl"
        path, _ = QFileDialog.getSaveFileName(self, "Record detections", str(default), "JSON lines (*.jsonl)")
        if not path:
            self.record_button.setChecked(False)
            return
        self.start_recording(Path(path))

    def start_recording(self, path: Path) -> None:
        self.controller.start_recording(path)
        self.record_button.blockSignals(True)
        self.record_button.setChecked(True)
        self.record_button.blockSignals(False)
        self.message.setText(f"Recording to {path}")

    def open_batch(self) -> BatchDialog:
        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.workbench, self)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    def release(self) -> None:
        """Close the camera or video (the canvas goes back to the photo) and drop the frames, the
        boxes and the per-model detector steps; a batch run in its own dialog goes on."""
        self.close_source()
        self.controller.release()
        self.overlay.clear()
        self.shown = None

    def shutdown(self) -> None:
        for action in self.shortcut_actions.values():
            self.workbench.view.removeAction(action)
        self._hud_timer.stop()
        self.controller.shutdown()
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()
            self.batch_dialog.close()
        self.overlay.clear()
