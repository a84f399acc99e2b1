"""Detection panel: run a detector on the current image, view faces per scale branch.

With a detector that has response maps (ScaleFace, bundled or a checkpoint), each
branch's map can be shown as a heat map in the branch's colour; the maps come
from the same worker job as the boxes (:func:`app.detection.jobs.detection_job`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QVBoxLayout,
)

from app.branch_labels import GroupNaming, group_name, group_text, group_tooltip, naming_of
from app.canvas.layers import LayerStyle
from app.canvas.overlays import BRANCH_COLORS, BranchHeatmap, FaceOverlay, HeatmapOverlay
from app.context import Workbench
from app.detection.jobs import crop_icon, detection_job
from app.detectors import DetectorCache, fill_detector_box, select_detector, selected_detector
from app.image_store import LoadedImage
from app.lru import LruCache
from app.panel_base import Panel
from app.settings import Keys
from app.widgets import score_slider_row
from core.detect.registry import DEFAULT_DETECTOR, RUN_MIN_SCORE, detector_spec
from core.recognize.analyze import FaceAnalysis, FaceAnalyzer
from core.scale_ranges import BRANCH_NAMES
from core.types import Detection, DetectionResult

ICON_SIZE = 48
# Results per (image, model) kept for going back to an image: boxes and analyses are small;
# a heat map is an image-sized picture per branch, so far fewer of those are kept.
RESULTS_CACHED = 256
HEATMAPS_CACHED = 16
# Detector output is the canvas's plain solid line, one colour per group.
LAYER_STYLE = LayerStyle("Detection", Qt.PenStyle.SolidLine, tuple(BRANCH_COLORS.items()))


class DetectionPanel(Panel):
    title = "Detection"
    object_name = "detection"
    mode = "Detect"
    workspace_parts = ("files", "canvas")
    mode_icon = QStyle.StandardPixmap.SP_FileDialogContentsView

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.detectors: DetectorCache = workbench.detectors
        self.results: LruCache[tuple[Path, str], DetectionResult] = LruCache(RESULTS_CACHED)
        self.analyzer = FaceAnalyzer()
        # (path, model) -> {index in result.faces: analysis}; filled for the faces shown
        self.analyses: LruCache[tuple[Path, str], dict[int, FaceAnalysis]] = LruCache(RESULTS_CACHED)
        self._analyzing: set[tuple[Path, str]] = set()
        self.layer = self.canvas_layer(LAYER_STYLE)
        self.overlay = FaceOverlay(self.layer)
        # Only non-empty maps are kept; evicting them drops the result too, so a cached result
        # always comes with its maps and showing it again never loses them.
        self.heatmaps: LruCache[tuple[Path, str], dict[str, BranchHeatmap]] = LruCache(
            HEATMAPS_CACHED, on_evict=lambda key, _maps: self.results.pop(key)
        )
        self.heat_overlay = HeatmapOverlay(self.layer)
        self.shown: DetectionResult | None = None
        self._running: set[tuple[Path, str]] = set()
        self._build()
        workbench.image_changed.connect(self.on_image_changed)

    # --- widgets ------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.model_box = QComboBox()
        fill_detector_box(self.model_box)
        select_detector(self.model_box, DEFAULT_DETECTOR)
        self.model_box.currentIndexChanged.connect(lambda _: self.on_image_changed(self.workbench.current))
        self.model_box.currentIndexChanged.connect(lambda _: self._update_branch_labels())
        self.run_button = QPushButton("Detect")
        self.run_button.clicked.connect(self.run_detection)
        self.checkpoint_button = QPushButton("Model…")
        self.checkpoint_button.setToolTip(
            "run the bundled model, or a checkpoint you trained (last.pt of `main.py train`)"
        )
        menu = QMenu(self.checkpoint_button)
        menu.addAction("Use a checkpoint I trained…", self.choose_checkpoint)
        menu.addAction("Use the bundled model", self.use_bundled)
        self.checkpoint_button.setMenu(menu)
        self.model_box.currentIndexChanged.connect(
            lambda _: self.checkpoint_button.setVisible(detector_spec(self.model_name).takes_checkpoint)
        )
        self.checkpoint_button.setVisible(detector_spec(self.model_name).takes_checkpoint)
        row.addWidget(QLabel("Model"))
        row.addWidget(self.model_box, 1)
        row.addWidget(self.checkpoint_button)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        self.auto_box = QCheckBox("Detect automatically on every image")
        self.auto_box.setChecked(self.workbench.settings.get(Keys.DETECTION_AUTO))
        self.auto_box.toggled.connect(lambda on: self.workbench.settings.set(Keys.DETECTION_AUTO, on))
        layout.addWidget(self.auto_box)

        self.branch_group = QGroupBox("Branches")
        branch_layout = QGridLayout(self.branch_group)
        self.branch_boxes: dict[str, QCheckBox] = {}
        self.map_boxes: dict[str, QCheckBox] = {}
        for row, name in enumerate(BRANCH_NAMES):
            box = QCheckBox()
            color = BRANCH_COLORS[name]
            style = f"QCheckBox {{ color: rgb({color.red()},{color.green()},{color.blue()}); }}"
            box.setStyleSheet(style)
            box.setChecked(True)
            box.toggled.connect(self._refresh_overlay)
            branch_layout.addWidget(box, row, 0)
            self.branch_boxes[name] = box
            heat = QCheckBox("heat map")
            heat.setStyleSheet(style)
            heat.setChecked(self.workbench.settings.get(Keys.DETECTION_HEATMAP(name)))
            heat.toggled.connect(
                lambda on, n=name: self.workbench.settings.set(Keys.DETECTION_HEATMAP(n), on)
            )
            heat.toggled.connect(self._refresh_overlay)
            heat.setEnabled(False)  # until a result with response maps is shown
            branch_layout.addWidget(heat, row, 1)
            self.map_boxes[name] = heat
        branch_layout.setColumnStretch(0, 1)
        layout.addWidget(self.branch_group)

        slider_row, self.score_slider, self.score_label = score_slider_row(
            self.workbench.settings, Keys.DETECTION_MIN_SCORE, RUN_MIN_SCORE
        )
        self.score_slider.valueChanged.connect(self._refresh_overlay)
        self.score_slider.valueChanged.connect(lambda _: self._analyze_shown())
        layout.addLayout(slider_row)
        self.landmark_box = QCheckBox("Show landmarks")
        self.landmark_box.setChecked(True)
        self.landmark_box.toggled.connect(self._refresh_overlay)
        self.landmark_kind = QComboBox()
        self.landmark_kind.addItems(["detector's points", "68 points (face-api)"])
        self.landmark_kind.currentIndexChanged.connect(lambda _: self._redraw())
        landmark_row = QHBoxLayout()
        landmark_row.addWidget(self.landmark_box)
        landmark_row.addWidget(self.landmark_kind, 1)
        layout.addLayout(landmark_row)
        self.analysis_box = QCheckBox("Age, gender and 68 landmarks for shown faces")
        self.analysis_box.setChecked(self.workbench.settings.get(Keys.DETECTION_ANALYSIS))
        self.analysis_box.toggled.connect(self._on_analysis_toggled)
        layout.addWidget(self.analysis_box)

        self.face_list = QListWidget()
        self.face_list.setIconSize(QPixmap(ICON_SIZE, ICON_SIZE).size())
        self.face_list.itemDoubleClicked.connect(self._zoom_to_item)
        self.face_list.currentItemChanged.connect(self._highlight_item)
        layout.addWidget(self.face_list, 1)
        self.summary = QLabel("No detections yet.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self._update_branch_labels()

    def choose_checkpoint(self) -> None:
        name = self.model_name
        current = self.detectors.checkpoint(name) or ""
        path, _ = QFileDialog.getOpenFileName(
            self, f"{name} checkpoint", current, "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self._set_checkpoint(name, path)

    def use_bundled(self) -> None:
        self._set_checkpoint(self.model_name, "")

    def _set_checkpoint(self, name: str, path: str) -> None:
        self.workbench.settings.set(Keys.DETECTION_CHECKPOINT(name), path)
        self.results.drop_where(lambda key: key[1] == name)
        self.heatmaps.drop_where(lambda key: key[1] == name)
        self.on_image_changed(self.workbench.current)

    @property
    def model_name(self) -> str:
        return selected_detector(self.model_box)

    # --- running ------------------------------------------------------------
    def on_image_changed(self, loaded: LoadedImage | None) -> None:
        self.overlay.clear()
        self.heat_overlay.clear()
        for box in self.map_boxes.values():
            box.setEnabled(False)
        self._clear_face_list()
        self.shown = None
        if loaded is None or loaded.image is None:
            self.summary.setText("No image.")
            self._update_branch_labels()
            return
        cached = self.results.get((loaded.path, self.model_name))
        if cached is not None:
            self.show_result(cached)
        elif self.auto_box.isChecked():
            self.run_detection()
        else:
            self.summary.setText("Press Detect (Ctrl+R).")

    def run_detection(self) -> None:
        loaded = self.workbench.current
        if loaded is None or loaded.image is None:
            return
        key = (loaded.path, self.model_name)
        if key in self._running:
            return
        self._running.add(key)
        self.summary.setText(f"Detecting with {self.model_name}…")
        name, image = self.model_name, loaded.image
        self.workbench.runner.submit(
            detection_job,
            self.detectors,
            name,
            image,
            name=f"detect ({name}) {loaded.path.name}",
            on_result=lambda out, k=key: self._on_result(k, *out),
            on_error=lambda exc: self.summary.setText(f"Detection failed: {exc}"),
            on_finished=lambda k=key: self._running.discard(k),
        )

    def _on_result(
        self, key: tuple[Path, str], result: DetectionResult, heatmaps: dict[str, BranchHeatmap]
    ) -> None:
        self.results[key] = result
        if heatmaps:
            self.heatmaps[key] = heatmaps
        else:
            self.heatmaps.pop(key)
        current = self.workbench.current
        if current is not None and (current.path, self.model_name) == key:
            self.show_result(result)

    # --- display ------------------------------------------------------------
    def show_result(self, result: DetectionResult) -> None:
        self.shown = result
        heatmaps = self.heatmaps.get(self._shown_key() or ("", ""), {})
        self.heat_overlay.set_maps(heatmaps, result.image_size)
        for name, box in self.map_boxes.items():
            box.setEnabled(name in heatmaps)
            box.setToolTip(
                f"{name} branch response map (objectness, peak {heatmaps[name].peak:.2f})"
                if name in heatmaps
                else "response maps come with ScaleFace's branches"
            )
        self._redraw()
        self._analyze_shown()
        timing = ", ".join(f"{k} {v:.0f}" for k, v in result.timings_ms.items())
        self.workbench.status.emit(
            f"{result.model}: {len(result.faces)} faces ≥ {RUN_MIN_SCORE} ({timing} ms)"
        )

    def _shown_key(self) -> tuple[Path, str] | None:
        current = self.workbench.current
        if self.shown is None or current is None:
            return None
        return (current.path, self.shown.model)

    def _display_faces(self) -> list[Detection]:
        """The result's faces, with 68 landmarks swapped in where asked and available."""
        assert self.shown is not None
        analyses = self.analyses.get(self._shown_key() or ("", ""), {})
        if self.landmark_kind.currentIndex() == 0 or not analyses:
            return list(self.shown.faces)
        faces = []
        for index, face in enumerate(self.shown.faces):
            analysis = analyses.get(index)
            if analysis is not None and np.isfinite(analysis.landmarks68).all():
                face = Detection(face.box, face.score, face.branch, tuple(map(tuple, analysis.landmarks68)))
            faces.append(face)
        return faces

    def _redraw(self) -> None:
        if self.shown is None:
            return
        self.overlay.set_faces(self._display_faces())
        self._refresh_overlay()

    def _on_analysis_toggled(self, on: bool) -> None:
        self.workbench.settings.set(Keys.DETECTION_ANALYSIS, on)
        if on:
            self._analyze_shown()

    def _analyze_shown(self) -> None:
        """Run landmarks + age/gender on the faces above the score slider not analysed yet."""
        key = self._shown_key()
        loaded = self.workbench.current
        if not self.analysis_box.isChecked() or key is None or loaded is None or key in self._analyzing:
            return
        done = self.analyses.setdefault(key, {})
        min_score = self.score_slider.value() / 100
        todo = [i for i, f in enumerate(self.shown.faces) if f.score >= min_score and i not in done]
        if not todo:
            return
        faces = [self.shown.faces[i] for i in todo]
        image = loaded.image
        self._analyzing.add(key)

        def store(results: list[FaceAnalysis]) -> None:
            done.update(zip(todo, results, strict=True))
            if self._shown_key() == key:
                self._redraw()

        self.workbench.runner.submit(
            self.analyzer.analyze,
            image,
            faces,
            name=f"face analysis {loaded.path.name}",
            on_result=store,
            on_finished=lambda: (self._analyzing.discard(key), self._analyze_shown()),
        )

    def group_naming(self) -> GroupNaming:
        """How the shown result's groups are named (the chosen detector's before a result)."""
        if self.shown is not None:
            return naming_of(self.shown.model, self.shown.branch_kind)
        return naming_of(self.model_name)

    def _update_branch_labels(self) -> None:
        naming = self.group_naming()
        self.branch_group.setTitle(naming.title)
        self.branch_group.setToolTip(naming.assignment)
        min_score = self.score_slider.value() / 100
        for name, box in self.branch_boxes.items():
            count = 0
            if self.shown is not None:
                count = sum(1 for f in self.shown.branches.get(name, []) if f.score >= min_score)
            box.setText(group_text(naming, name, count))
            box.setToolTip(group_tooltip(naming, name))

    def _refresh_overlay(self) -> None:
        min_score = self.score_slider.value() / 100
        self.workbench.settings.set(Keys.DETECTION_MIN_SCORE, min_score)
        self.overlay.visible_branches = {n for n, b in self.branch_boxes.items() if b.isChecked()}
        self.overlay.min_score = min_score
        self.overlay.show_landmarks = self.landmark_box.isChecked()
        self.overlay.refresh()
        self.heat_overlay.visible_branches = {n for n, b in self.map_boxes.items() if b.isChecked()}
        self.heat_overlay.refresh()
        self._update_branch_labels()
        self._fill_face_list()

    def _fill_face_list(self) -> None:
        self._clear_face_list()
        loaded = self.workbench.current
        faces = self.overlay.visible_faces()
        qimage = loaded.qimage if loaded is not None else None
        analyses = self.analyses.get(self._shown_key() or ("", ""), {})
        index_of = {id(face): i for i, face in enumerate(self.overlay.faces())}
        naming = self.group_naming()
        for index, face in enumerate(faces):
            x1, y1, x2, y2 = face.box
            group = group_name(naming, face.branch)
            text = f"#{index + 1}  {face.score:.3f}  {group}  {x2 - x1:.0f}×{y2 - y1:.0f} px"
            analysis = analyses.get(index_of.get(id(face), -1))
            if analysis is not None and np.isfinite(analysis.age_gender.age):
                ag = analysis.age_gender
                text += f"\n     {ag.gender} ({ag.gender_probability:.2f}), age {ag.age:.0f}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, face.box)
            if qimage is not None:
                item.setIcon(crop_icon(qimage, face.box, ICON_SIZE))
            self.face_list.addItem(item)
        if self.shown is not None:
            self.summary.setText(f"{len(faces)} of {len(self.shown.faces)} faces shown ({self.shown.model}).")

    def _zoom_to_item(self, item: QListWidgetItem) -> None:
        x1, y1, x2, y2 = item.data(Qt.ItemDataRole.UserRole)
        self.workbench.view.zoom_to_rect(QRectF(x1, y1, x2 - x1, y2 - y1))

    def _clear_face_list(self) -> None:
        self.face_list.blockSignals(True)  # emptying the list moves its current row: no highlight for that
        self.face_list.clear()
        self.face_list.blockSignals(False)

    def _highlight_item(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.workbench.view.layers.highlight(item.data(Qt.ItemDataRole.UserRole))

    def release(self) -> None:
        self.shutdown()
        self._clear_face_list()
        self.shown = None
        for cache in (self.results, self.analyses, self.heatmaps):
            cache.clear()

    def shutdown(self) -> None:
        self.overlay.clear()
        self.heat_overlay.clear()
