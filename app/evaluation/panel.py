"""Evaluation panel: official WIDER FACE AP, PR curves, breakdowns and an FP/FN review queue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.canvas.layers import LayerStyle
from app.canvas.overlays import SETTING_COLORS
from app.context import Workbench
from app.detectors import fill_detector_box, select_detector, selected_detector
from app.evaluation.jobs import SOURCE_DETECTOR, SOURCE_FOLDER, EvaluationRun, evaluation_job, labels_file
from app.image_store import LoadedImage
from app.job_controls import JobControls
from app.panel_base import Panel, wrapping_column
from app.settings import Keys, Setting
from app.widgets import path_row
from core.annotate.review import FaceReviewRequest
from core.detect.registry import DEFAULT_DETECTOR
from core.wider.evaluation import WiderEvalResult
from core.wider.report import ImageReview, review_queue

REVIEW_COLORS = {
    "missed": QColor(255, 60, 60),
    "false_positives": QColor(255, 160, 0),
    "true_positives": QColor(80, 220, 80),
}
# Every review box is dashed: the evaluation's verdicts never read as detector output (solid).
LAYER_STYLE = LayerStyle(
    "Evaluation",
    Qt.PenStyle.DashLine,
    tuple(zip(("missed", "false positive", "hit"), REVIEW_COLORS.values(), strict=True)),
)


BREAKDOWN_TIPS = (
    "WIDER setting: easy, medium or hard faces",
    "the attribute the faces are grouped by",
    "the attribute's value for this group",
    "ground-truth faces in this group",
    "average precision on this group",
    "share of this group's faces found",
)


class EvaluationPanel(Panel):
    title = "Evaluation"
    object_name = "evaluation"
    mode = "Evaluate"
    workspace_parts = ("files", "canvas")
    mode_icon = QStyle.StandardPixmap.SP_DialogApplyButton
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.run: EvaluationRun | None = None
        self.queue: list[ImageReview] = []
        self._review_items: list[QGraphicsRectItem] = []
        self._review_shown: ImageReview | None = None
        self.layer = self.canvas_layer(LAYER_STYLE)
        self._build()
        workbench.image_changed.connect(self._on_image_changed)

    # --- widgets ------------------------------------------------------------
    def _path_row(self, setting: Setting[str], folder: bool) -> tuple[QWidget, QLineEdit]:
        return path_row(self, self.workbench.settings, setting, folder)

    def _build(self) -> None:
        controls = QWidget()
        form = QFormLayout(controls)
        gt_row, self.gt_edit = self._path_row(Keys.EVALUATION_GT, folder=False)
        gt_row.setToolTip(
            "eval_tools ground_truth folder or .mat, or a WIDER *_bbx_gt.txt (keep lists beside it)"
        )
        form.addRow("Ground truth", gt_row)
        self.source_box = QComboBox()
        self.source_box.addItems([SOURCE_FOLDER, SOURCE_DETECTOR])
        form.addRow("Source", self.source_box)
        pred_row, self.pred_edit = self._path_row(Keys.EVALUATION_PRED, folder=True)
        form.addRow("Predictions", pred_row)
        images_row, self.images_edit = self._path_row(Keys.EVALUATION_IMAGES, folder=True)
        images_row.setToolTip("images/<event>/<name>.jpg; default: images/ beside the label file")
        form.addRow("Images", images_row)
        self.model_box = QComboBox()
        fill_detector_box(self.model_box)
        select_detector(self.model_box, DEFAULT_DETECTOR)
        form.addRow("Detector", self.model_box)
        self.mode_box = QComboBox()
        self.mode_box.addItems(["official", "corrected"])
        self.mode_box.setToolTip(
            "official: MATLAB eval_tools semantics (what papers quote); corrected: real-valued IoU"
        )
        form.addRow("Mode", self.mode_box)
        self.controls = JobControls(
            self.workbench.long_runner,
            "Evaluate",
            QLabel("Choose ground truth and predictions, then Evaluate."),
        )
        self.run_button = self.controls.run_button
        self.run_button.clicked.connect(self.start)
        self.cancel_button = self.controls.cancel_button
        self.progress = self.controls.progress
        self.summary = self.controls.summary
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.summary)

        self.plot = pg.PlotWidget(title="Precision / recall")
        self.plot.setLabel("bottom", "recall")
        self.plot.setLabel("left", "precision")
        self.plot.setXRange(0, 1)
        self.plot.setYRange(0, 1.02)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(-10, -10))

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["setting", "group", "value", "faces", "AP", "recall"])
        header = self.table.horizontalHeader()
        # columns as wide as their words ("expression", "occlusion"); the table scrolls when the dock is narrow
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for col in range(self.table.columnCount()):
            self.table.horizontalHeaderItem(col).setToolTip(BREAKDOWN_TIPS[col])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)

        queue_box = QWidget()
        queue_layout = QVBoxLayout(queue_box)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Review queue"))
        self.queue_setting = QComboBox()
        self.queue_setting.currentTextChanged.connect(self._fill_queue)
        row.addWidget(self.queue_setting, 1)
        queue_layout.addLayout(row)
        self.queue_list = QListWidget()
        self.queue_list.currentRowChanged.connect(self.open_review)
        queue_layout.addWidget(self.queue_list, 2)
        queue_layout.addWidget(QLabel("Errors on this image"))
        self.error_list = QListWidget()
        self.error_list.currentRowChanged.connect(self._zoom_to_error)
        self.error_list.itemDoubleClicked.connect(lambda _: self.fix_in_editor())
        queue_layout.addWidget(self.error_list, 1)
        self.fix_button = QPushButton("Fix in annotation editor")
        self.fix_button.setToolTip(
            "Opens the split in the Annotation panel with this face selected (missed) or suggested"
            " (false positive). Edits go to a working copy: the ground-truth file stays unchanged."
        )
        self.fix_button.clicked.connect(self.fix_in_editor)
        queue_layout.addWidget(self.fix_button)
        self.errors: list[tuple[str, tuple[float, float, float, float], float]] = []

        splitter = QSplitter(Qt.Orientation.Horizontal)
        scroll = wrapping_column(controls)  # the form scrolls instead of forcing a tall window
        for widget in (scroll, self.plot, self.table, queue_box):
            splitter.addWidget(widget)
        splitter.setSizes([320, 360, 360, 260])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- running ------------------------------------------------------------
    def start(self) -> None:
        if self.controls.busy:
            return
        gt_text = self.gt_edit.text().strip()
        if not gt_text:
            self.summary.setText("Choose the ground truth first.")
            return
        pred = Path(self.pred_edit.text().strip()) if self.pred_edit.text().strip() else None
        images = Path(self.images_edit.text().strip()) if self.images_edit.text().strip() else None
        self.controls.start(
            evaluation_job,
            Path(gt_text),
            self.source_box.currentText(),
            pred,
            images,
            self.workbench.detectors,
            selected_detector(self.model_box),
            self.mode_box.currentText(),
            name="WIDER evaluation",
            busy_text="Evaluating…",
            on_result=self._on_result,
        )

    def cancel(self) -> None:
        self.controls.cancel()

    def _on_result(self, run: EvaluationRun | None) -> None:
        if run is None:
            return
        self.run = run
        result = run.result
        aps = ", ".join(f"{name} {s.ap:.4f}" for name, s in result.settings.items())
        warnings = (
            f"; {len(result.missing)} prediction files missing (= no detections)" if result.missing else ""
        )
        self.summary.setText(
            f"{result.mode} AP — {aps}\n{run.source}: {result.num_predictions} boxes on "
            f"{result.num_images} images, evaluated in {result.seconds:.2f} s{warnings}"
        )
        self._plot(result)
        self._fill_table(result)
        self.queue_setting.blockSignals(True)
        self.queue_setting.clear()
        self.queue_setting.addItems(list(result.settings))
        self.queue_setting.setCurrentText(
            "hard" if "hard" in result.settings else next(iter(result.settings))
        )
        self.queue_setting.blockSignals(False)
        self._fill_queue()

    # --- results ------------------------------------------------------------
    def _plot(self, result: WiderEvalResult) -> None:
        self.plot.clear()
        self.legend.clear()
        for name, setting in result.settings.items():
            precision = np.nan_to_num(setting.precision, nan=1.0)
            pen = pg.mkPen(color=SETTING_COLORS.get(name, (200, 200, 200)), width=2)
            self.plot.plot(setting.recall, precision, pen=pen, name=f"{name}  AP {setting.ap:.3f}")

    def _fill_table(self, result: WiderEvalResult) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(result.breakdown))
        for row, entry in enumerate(result.breakdown):
            values = [entry.setting, entry.group, entry.value, entry.num_faces, entry.ap, entry.recall]
            for col, value in enumerate(values):
                item = QTableWidgetItem()
                if isinstance(value, float):
                    item.setData(
                        Qt.ItemDataRole.DisplayRole, round(value, 4) if np.isfinite(value) else float("nan")
                    )
                else:
                    item.setData(Qt.ItemDataRole.DisplayRole, value)
                item.setToolTip(str(item.data(Qt.ItemDataRole.DisplayRole)))
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)

    def _fill_queue(self, *_args) -> None:
        self.queue_list.clear()
        self.queue = []
        if self.run is None or not self.queue_setting.currentText():
            return
        self.queue = review_queue(self.run.result, self.run.gt, setting=self.queue_setting.currentText())
        for review in self.queue:
            text = f"{review.key}   FP {len(review.false_positives)}   FN {len(review.missed)}"
            self.queue_list.addItem(QListWidgetItem(text))

    # --- review -------------------------------------------------------------
    def image_path(self, review: ImageReview) -> Path | None:
        if self.run is None or self.run.images_dir is None:
            return None
        return self.run.images_dir / review.name

    def open_review(self, index: int) -> None:
        """Show the queue entry's image with its misses (red), false positives (orange) and hits (green)."""
        if not 0 <= index < len(self.queue) or self.run is None:
            return
        review = self.queue[index]
        self._review_shown = review
        path = self.image_path(review)
        if path is None:
            self.summary.setText(f"{review.key}: set the images folder to open it.")
            return
        keys = [self.run.images_dir / name for name in self.run.gt.names]
        self.workbench.list_requested.emit(keys, self.run.images_dir)
        self.workbench.row_requested.emit(self.run.gt.keys.index(review.key))
        self._fill_errors(review)

    def _fill_errors(self, review: ImageReview) -> None:
        """One row per missed face and per false positive of the image."""
        assert self.run is not None
        self.error_list.clear()
        self.errors = []
        boxes = self.review_boxes(review)
        rows = self.run.predictions.get(review.key, np.zeros((0, 5)))
        for box in boxes["missed"]:
            self.errors.append(("missed", tuple(float(v) for v in box), 1.0))
        for index, box in zip(review.false_positives, boxes["false_positives"], strict=True):
            self.errors.append(("false_positive", tuple(float(v) for v in box), float(rows[index, 4])))
        for kind, (x1, y1, x2, y2), score in self.errors:
            label = "missed face" if kind == "missed" else f"false positive {score:.2f}"
            self.error_list.addItem(f"{label}   {x2 - x1:.0f}×{y2 - y1:.0f} px at ({x1:.0f}, {y1:.0f})")

    def _zoom_to_error(self, index: int) -> None:
        if 0 <= index < len(self.errors):
            x1, y1, x2, y2 = self.errors[index][1]
            self.workbench.view.zoom_to_rect(QRectF(x1, y1, x2 - x1, y2 - y1), margin=1.5)
            self.workbench.view.layers.highlight(self.errors[index][1])

    def fix_in_editor(self) -> None:
        """Send the selected error to the annotation editor (needs a WIDER label file as ground truth)."""

        index = self.error_list.currentRow()
        review = self._review_shown
        if (
            self.run is None
            or review is None
            or not 0 <= index < len(self.errors)
            or self.run.images_dir is None
        ):
            self.workbench.status.emit("Select an error of a queued image first.")
            return
        try:
            labels = labels_file(Path(self.gt_edit.text().strip()))
        except FileNotFoundError as exc:
            self.workbench.status.emit(f"The annotation editor needs a WIDER label file: {exc}")
            return
        kind, box, score = self.errors[index]
        self.workbench.annotation_requested.emit(
            FaceReviewRequest(labels, self.run.images_dir, review.name, box, kind, score)
        )

    def review_boxes(self, review: ImageReview) -> dict[str, np.ndarray]:
        """``x1 y1 x2 y2`` boxes per kind for one queue entry."""
        assert self.run is not None
        gt = self.run.gt
        i = gt.keys.index(review.key)
        faces = gt.boxes[int(gt.offsets[i]) : int(gt.offsets[i + 1])]
        rows = self.run.predictions.get(review.key, np.zeros((0, 5)))

        def xyxy(xywh: np.ndarray) -> np.ndarray:
            xywh = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
            return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)

        return {
            "missed": xyxy(faces[review.missed]) if review.missed else np.zeros((0, 4)),
            "false_positives": xyxy(rows[review.false_positives, :4])
            if review.false_positives
            else np.zeros((0, 4)),
            "true_positives": xyxy(rows[review.true_positives, :4])
            if review.true_positives
            else np.zeros((0, 4)),
        }

    def _clear_review_items(self) -> None:
        for item in self._review_items:
            self.workbench.view.scene().removeItem(item)
        self._review_items.clear()
        self.layer.content_changed()

    def _on_image_changed(self, loaded: LoadedImage | None) -> None:
        self._clear_review_items()
        review = self._review_shown
        if loaded is None or review is None or self.image_path(review) != loaded.path:
            return
        for kind, boxes in self.review_boxes(review).items():
            pen = LAYER_STYLE.pen(REVIEW_COLORS[kind])
            for x1, y1, x2, y2 in boxes:
                item = QGraphicsRectItem(QRectF(x1, y1, x2 - x1, y2 - y1))
                item.setPen(pen)
                item.setZValue(20)
                item.setData(0, kind)
                self.layer.add(item)
                self._review_items.append(item)
        self.layer.content_changed()
        self.workbench.status.emit(
            f"{review.key}: {len(review.missed)} missed (red), "
            f"{len(review.false_positives)} false positives (orange), {len(review.true_positives)} hits (green)"
        )

    def release(self) -> None:
        """Drop the run (ground truth, predictions, result) and the review queue."""
        self.cancel()
        self._clear_review_items()
        self.run, self.queue, self.errors, self._review_shown = None, [], [], None
        self.queue_list.clear()
        self.error_list.clear()

    def shutdown(self) -> None:
        self.cancel()
        self._clear_review_items()
