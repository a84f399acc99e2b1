"""Verification panel: compare two faces with and without DREAM; CFP evaluation, ROC and error gallery.

Left: pick two images (main face of each) or two faces of the current image
and the stem (the embedding network, remembered in the settings), then
Compare: the chips the stem sees with their landmarks, yaw and gate
of each face, the cosine with and without DREAM, and the decision at the
calibrated threshold of the pair's pose bucket (FF / FP) and operating point.
Right (:class:`~app.verification.cfp_view.CfpView`): run a CFP evaluation
(worker, progress bar), the ROC with and without DREAM, and the worst false
accepts and false rejects (activate one to compare it here).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.context import Workbench
from app.image_store import LoadedImage
from app.panel_base import Panel
from app.settings import Keys, Setting
from app.verification.cfp_view import ACCEPT, REJECT, CfpView
from app.verification.chips import chip_pixmap
from app.verification.jobs import (
    Comparison,
    FacesOfImage,
    LazyVerifier,
    compare_job,
    compare_sides,
    faces_job,
    rethreshold,
)
from app.verification.score_bar import BORDERLINE, ScoreBar
from app.widgets import IMAGE_FILTER, path_row, stem_combo
from app.worker import Job
from core.recognize.evidence import WEAK_ERROR_RATE, percent
from core.recognize.stems import DEFAULT_STEM, STEMS

OPERATING_POINTS = [
    ("FAR 1e-1", 1e-1),
    ("FAR 1e-2", 1e-2),
    ("FAR 1e-3", 1e-3),
    ("FAR 1e-4", 1e-4),
    ("best accuracy", None),
]
CHIP_SIZE = 150


class VerificationPanel(Panel):
    title = "Verification"
    object_name = "verification"
    mode = "Verify"
    workspace_parts = ()  # its own pair, ROC and error views; the whole width keeps its Pair column readable
    mode_icon = QStyle.StandardPixmap.SP_FileDialogListView
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        # built in the first job: the window does not wait for torch
        self.verifier = LazyVerifier(self._saved_stem(workbench))
        self.comparison: Comparison | None = None
        self.faces: FacesOfImage | None = None
        self.compare_job: Job | None = None
        self.faces_job: Job | None = None
        self._build()
        workbench.image_changed.connect(self._on_image_changed)

    @staticmethod
    def _saved_stem(workbench: Workbench) -> str:
        stem = workbench.settings.get(Keys.VERIFICATION_STEM)
        return stem if stem in STEMS else DEFAULT_STEM

    # --- widgets ------------------------------------------------------------
    def _path_row(self, setting: Setting[str], folder: bool) -> tuple[QWidget, QLineEdit]:
        return path_row(self, self.workbench.settings, setting, folder, IMAGE_FILTER)

    def _build_pair(self) -> QWidget:
        box = QGroupBox("Pair")
        form = QFormLayout(box)
        self.source_images = QRadioButton("Two images")
        self.source_faces = QRadioButton("Two faces of the current image")
        self.source_images.setChecked(True)
        group = QButtonGroup(box)
        group.addButton(self.source_images)
        group.addButton(self.source_faces)
        self.source_faces.toggled.connect(self._on_source_toggled)
        form.addRow(self.source_images)
        row_a, self.path_a = self._path_row(Keys.VERIFICATION_IMAGE_A, folder=False)
        row_b, self.path_b = self._path_row(Keys.VERIFICATION_IMAGE_B, folder=False)
        form.addRow("Image A", row_a)
        form.addRow("Image B", row_b)
        current = QHBoxLayout()
        self.use_current_a = QPushButton("Current → A")
        self.use_current_b = QPushButton("Current → B")
        self.use_current_a.clicked.connect(lambda: self._use_current(self.path_a))
        self.use_current_b.clicked.connect(lambda: self._use_current(self.path_b))
        current.addWidget(self.use_current_a)
        current.addWidget(self.use_current_b)
        form.addRow(current)
        form.addRow(self.source_faces)
        faces_row = QHBoxLayout()
        self.face_a = QComboBox()
        self.face_b = QComboBox()
        self.find_faces = QPushButton("Find faces")
        self.find_faces.clicked.connect(self.start_faces)
        faces_row.addWidget(self.face_a, 1)
        faces_row.addWidget(self.face_b, 1)
        faces_row.addWidget(self.find_faces)
        form.addRow(faces_row)
        self.stem_box = stem_combo(
            self.verifier.stem, "the network that embeds each face; scores of two stems are not comparable"
        )
        self.stem_box.currentIndexChanged.connect(self._on_stem)
        form.addRow("Stem", self.stem_box)
        options = QHBoxLayout()
        self.operating_point = QComboBox()
        for label, far in OPERATING_POINTS:
            self.operating_point.addItem(label, far)
        self.operating_point.setCurrentIndex(1)
        self.operating_point.setToolTip(
            "threshold calibrated on CFP dev folds 1-8 for the pair's pose bucket"
        )
        self.operating_point.currentIndexChanged.connect(self._on_operating_point)
        self.dream_box = QCheckBox("Decide with DREAM")
        self.dream_box.setChecked(True)
        self.dream_box.toggled.connect(lambda _: self._show_comparison())
        options.addWidget(self.operating_point)
        options.addWidget(self.dream_box)
        form.addRow("Threshold", options)
        self._show_dream_choice()
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.start_compare)
        form.addRow(self.compare_button)
        self.pair_status = QLabel("Choose two images (or faces), then Compare.")
        self.pair_status.setWordWrap(True)
        form.addRow(self.pair_status)
        self._on_source_toggled(False)
        return box

    def _build_result(self) -> QWidget:
        box = QGroupBox("Result")
        grid = QGridLayout(box)
        self.chip_labels: list[QLabel] = []
        self.face_texts: list[QLabel] = []
        for col in range(2):
            chip = QLabel()
            chip.setFixedSize(CHIP_SIZE, CHIP_SIZE)
            chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
            chip.setStyleSheet("background: #222;")
            text = QLabel("—")
            text.setWordWrap(True)
            text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            text.setMinimumHeight(4 * text.fontMetrics().height())
            grid.addWidget(chip, 0, col)
            grid.addWidget(text, 1, col)
            self.chip_labels.append(chip)
            self.face_texts.append(text)
        self.decision = QLabel("")
        self.decision.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.decision.font()
        font.setPointSize(font.pointSize() + 6)
        font.setBold(True)
        self.decision.setFont(font)
        self.score_bar = ScoreBar()
        self.score_bar.setVisible(False)  # until a pair is compared
        self.evidence = QLabel("")
        self.evidence.setWordWrap(True)
        self.evidence.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.evidence.setToolTip(
            "the pose bucket's error rates at this threshold, measured on CFP dev folds 1-8; "
            "borderline: an operating point 10× looser or stricter would decide the other way; "
            f"weak: this kind of decision is wrong in ≥ {percent(WEAK_ERROR_RATE)} of the bucket's pairs"
        )
        self.scores = QLabel("")
        self.scores.setWordWrap(True)
        grid.addWidget(self.decision, 2, 0, 1, 2)
        grid.addWidget(self.score_bar, 3, 0, 1, 2)
        grid.addWidget(self.evidence, 4, 0, 1, 2)
        grid.addWidget(self.scores, 5, 0, 1, 2)
        return box

    def _build(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._build_pair())
        left_layout.addWidget(self._build_result())
        left_layout.addStretch(1)
        scroll = QScrollArea()  # the pair and result boxes keep their size in a short dock
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cfp = CfpView(self.workbench, self.verifier)
        self.cfp.pair_requested.connect(self.compare_paths)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.cfp)
        splitter.setSizes([360, 780])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- pair ----------------------------------------------------------------
    def _on_source_toggled(self, faces: bool) -> None:
        for widget in (self.path_a, self.path_b, self.use_current_a, self.use_current_b):
            widget.setEnabled(not faces)
        for widget in (self.face_a, self.face_b, self.find_faces):
            widget.setEnabled(faces)
        if faces and self.faces is None:
            self.start_faces()

    def _use_current(self, edit: QLineEdit) -> None:
        current = self.workbench.current
        if current is not None:
            edit.setText(str(current.path))
            edit.editingFinished.emit()

    def _on_operating_point(self) -> None:
        self.verifier.far = self.operating_point.currentData()
        if self.comparison is not None:  # thresholds only: no model runs
            self.comparison = rethreshold(self.verifier, self.comparison)
            self._show_comparison()

    def _on_stem(self) -> None:
        """Another stem: remember it; the faces found and the comparison shown were of the old one."""
        stem = self.stem_box.currentData()
        self.workbench.settings.set(Keys.VERIFICATION_STEM, stem)
        self.verifier.stem = stem
        self._show_dream_choice()
        self.comparison = None
        self.faces = None
        self.face_a.clear()
        self.face_b.clear()
        self.pair_status.setText(f"Stem: {self.stem_box.currentText()}. Compare again.")

    def _show_dream_choice(self) -> None:
        has_dream = self.verifier.has_dream
        self.dream_box.setEnabled(has_dream)
        self.dream_box.setToolTip("" if has_dream else "this stem has no DREAM block yet")

    def _on_image_changed(self, loaded: LoadedImage | None) -> None:
        self.faces = None
        self.face_a.clear()
        self.face_b.clear()
        if self.source_faces.isChecked() and loaded is not None and loaded.image is not None:
            self.start_faces()

    def start_faces(self) -> None:
        current = self.workbench.current
        if current is None or current.image is None:
            self.pair_status.setText("Open an image to pick faces from.")
            return
        if self.faces_job is not None and not self.faces_job.is_done:
            return
        self.pair_status.setText("Finding faces…")
        self.faces_job = self.workbench.runner.submit(
            faces_job,
            self.verifier,
            current.path,
            current.image,
            name="find faces",
            on_result=self._on_faces,
            on_error=lambda exc: self.pair_status.setText(f"Finding faces failed: {exc}"),
        )

    def _on_faces(self, faces: FacesOfImage) -> None:
        current = self.workbench.current
        if current is None or current.path != faces.path:
            return  # the user moved on
        self.faces = faces
        for combo in (self.face_a, self.face_b):
            combo.clear()
            for i, side in enumerate(faces.sides):
                combo.addItem(f"face {i + 1}  yaw {side.yaw.yaw:+.0f}°", i)
        if len(faces.sides) > 1:
            self.face_b.setCurrentIndex(1)
        self.pair_status.setText(f"{len(faces.sides)} face(s) in {faces.path.name}.")

    def start_compare(self) -> None:
        if self.compare_job is not None and not self.compare_job.is_done:
            return
        self.verifier.far = self.operating_point.currentData()
        if self.source_faces.isChecked():
            if self.faces is None or len(self.faces.sides) < 2:
                self.pair_status.setText("The current image needs two faces (Find faces).")
                return
            ia, ib = self.face_a.currentData(), self.face_b.currentData()
            sides = (self.faces.sides[ia], self.faces.sides[ib])
            image = self.faces.image
            args = (self.verifier, (image, image), sides, (f"face {ia + 1}", f"face {ib + 1}"))
            fn = compare_sides
        else:
            a, b = self.path_a.text().strip(), self.path_b.text().strip()
            if not a or not b:
                self.pair_status.setText("Choose image A and image B.")
                return
            args = (self.verifier, Path(a), Path(b))
            fn = compare_job
        self.compare_button.setEnabled(False)
        self.pair_status.setText("Comparing…")
        self.compare_job = self.workbench.runner.submit(
            fn,
            *args,
            name="verify pair",
            on_result=self._on_comparison,
            on_error=lambda exc: self.pair_status.setText(f"Comparison failed: {exc}"),
            on_finished=lambda: self.compare_button.setEnabled(True),
        )

    def _on_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.pair_status.setText(f"{comparison.labels[0]}  vs  {comparison.labels[1]}")
        self._show_comparison()

    def _show_comparison(self) -> None:
        c = self.comparison
        if c is None:
            return
        for col, (chip, side) in enumerate(zip(c.chips, (c.with_dream.a, c.with_dream.b), strict=True)):
            self.chip_labels[col].setPixmap(chip_pixmap(chip.chip, chip.points, CHIP_SIZE))
            detected = "" if side.record.detected else "\n(no face found: whole image)"
            self.face_texts[col].setText(
                f"{c.labels[col]}\nyaw {side.yaw.yaw:+.1f}° (conf {side.yaw.confidence:.2f}, {side.yaw.source})\n"
                f"gate {side.gate:.3f}{detected}"
            )
        dream = self.dream_box.isChecked() and self.dream_box.isEnabled()
        shown = c.with_dream if dream else c.without_dream
        r, evidence = shown.result, shown.evidence
        self.decision.setText(evidence.headline())
        color = BORDERLINE if evidence.strength else ACCEPT if r.accepted else REJECT
        self.decision.setStyleSheet(f"color: rgb({color.red()},{color.green()},{color.blue()});")
        self.score_bar.set_decision(r.score, r.threshold, evidence.band)
        self.score_bar.setVisible(True)
        self.evidence.setText(evidence.summary())
        cosines = (
            f"cosine without DREAM {c.with_dream.score_stem:.4f}, with DREAM {c.with_dream.score_dream:.4f}"
            if self.verifier.has_dream
            else f"cosine {c.without_dream.score_stem:.4f} (this stem has no DREAM block)"
        )
        self.scores.setText(
            f"{cosines}\n{self.verifier.stem} stem, {shown.bucket} pair, {'with' if shown.mode == 'dream' else 'without'} DREAM: "
            f"{r.score:.4f} {'≥' if r.accepted else '<'} threshold {r.threshold:.4f} ({shown.operating_point})"
        )

    def compare_paths(self, path_a: str, path_b: str) -> None:
        """Compare two image files in detail (e.g. a pair from the CFP gallery)."""
        self.source_images.setChecked(True)
        self.path_a.setText(path_a)
        self.path_b.setText(path_b)
        self.start_compare()

    def release(self) -> None:
        """Drop the comparison, the faces found, the CFP run and the verifier (its networks stay in
        the engine's shared cache); the pair's paths, threshold and CFP root are settings and stay."""
        self.shutdown()
        self.comparison = None
        self.faces = None
        self.face_a.clear()
        self.face_b.clear()
        for chip, text in zip(self.chip_labels, self.face_texts, strict=True):
            chip.clear()
            text.setText("—")
        for label in (self.decision, self.evidence, self.scores):
            label.setText("")
        self.score_bar.setVisible(False)
        self.pair_status.setText("Choose two images (or faces), then Compare.")
        self.cfp.release()
        self.verifier.reset()

    def shutdown(self) -> None:
        self.cfp.cancel_cfp()
        for job in (self.compare_job, self.faces_job):
            if job is not None:
                job.cancel()
