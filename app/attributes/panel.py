"""Attributes panel: LMLE face attributes of the current image, the embedding plot, LMLE training.

Three tabs over one model choice (bundled LMLE, the class-weighted baseline,
or a model trained here):

* Faces — detect, align and classify the faces of the current image; the
  selected face's 40 attributes with confidence margins, its box on the canvas;
* Embedding — a labelled CelebA folder embedded by the model, one attribute
  at a time (:mod:`app.attributes.embedding_view`);
* Training — the ``lmle`` task in the worker with live curves
  (:mod:`app.attributes.training_view`).

Everything heavy runs through the workbench's job runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QTabWidget,
    QVBoxLayout,
)

from app.attributes.embedding_view import EmbeddingView
from app.attributes.face_view import FaceAttributesView
from app.attributes.jobs import EmbeddingData, ModelCache, analyze_job, embedding_job
from app.attributes.training_view import TrainingView
from app.context import Workbench
from app.detectors import fill_detector_box, select_detector, selected_detector
from app.image_store import LoadedImage
from app.panel_base import Panel
from app.settings import Keys
from app.worker import Job
from core.detect.registry import DEFAULT_DETECTOR
from core.progress import Progress

if TYPE_CHECKING:  # engine modules import torch; the window must not wait for it
    from core.attributes.recognizer import FaceAttributes

# core.attributes.model's DEFAULT_MODEL / HEAD_MODEL / BASELINE_MODEL, spelled out so the window need not
# import torch (tests/app/test_startup_imports.py checks they agree)
MODEL_CHOICES = {
    "LMLE, the paper's recipe (bundled)": "lmle_celeba",
    "LMLE head on frozen features (bundled)": "lmle_celeba_head",
    "Class-weighted baseline (bundled)": "lmle_celeba_linear",
}
MARGIN_UNITS = {
    "lmle": "units: squared embedding distance (cluster-wise kNN large-margin score).",
    "linear": "units: logit of the class-weighted linear classifier.",
}


class AttributesPanel(Panel):
    title = "Attributes"
    object_name = "attributes"
    mode = "Attributes"
    workspace_parts = ("files", "canvas")
    mode_icon = QStyle.StandardPixmap.SP_FileDialogInfoView
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    # the embedding plot and the 40-row attribute table need the height more than the photo does
    below_share = 0.65
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.models = ModelCache()
        self.results: dict[tuple[Path, str, str], list[FaceAttributes]] = {}
        self.shown: list[FaceAttributes] | None = None
        self.jobs: list[Job] = []
        self.embed_job: Job | None = None
        self._analyzing: set[tuple[Path, str, str]] = set()
        self._build()
        workbench.image_changed.connect(self.on_image_changed)

    # --- widgets ----------------------------------------------------------------
    def _build(self) -> None:
        settings = self.workbench.settings
        row = QHBoxLayout()
        self.model_box = QComboBox()
        for text, name in MODEL_CHOICES.items():
            self.model_box.addItem(text, name)
        self.model_box.currentIndexChanged.connect(lambda _: self._model_changed())
        self.detector_box = QComboBox()
        fill_detector_box(self.detector_box)
        select_detector(self.detector_box, DEFAULT_DETECTOR)
        self.analyze_button = QPushButton("Analyze faces")
        self.analyze_button.clicked.connect(self.analyze)
        self.auto_box = QCheckBox("on every image")
        self.auto_box.setChecked(settings.get(Keys.ATTRIBUTES_AUTO))
        self.auto_box.toggled.connect(lambda on: settings.set(Keys.ATTRIBUTES_AUTO, on))
        for widget, stretch in ((QLabel("Model"), 0), (self.model_box, 1), (self.detector_box, 0)):
            row.addWidget(widget, stretch)
        row.addWidget(self.analyze_button)
        row.addWidget(self.auto_box)

        data_row = QHBoxLayout()
        self.root_edit = QLineEdit(settings.get(Keys.ATTRIBUTES_CELEBA_ROOT))
        self.root_edit.setPlaceholderText("CelebA folder (images/ + list_attr_celeba.txt)")
        self.root_edit.editingFinished.connect(self._root_changed)
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._choose_root)
        self.range_edit = QLineEdit(settings.get(Keys.ATTRIBUTES_RANGE))
        self.range_edit.setMaximumWidth(110)
        self.range_edit.setToolTip("image numbers to embed, e.g. 7001-8000 (empty: all)")
        self.load_button = QPushButton("Load embedding")
        self.load_button.clicked.connect(self.load_embedding)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        data_row.addWidget(QLabel("CelebA"))
        data_row.addWidget(self.root_edit, 1)
        data_row.addWidget(browse)
        data_row.addWidget(self.range_edit)
        data_row.addWidget(self.load_button)

        self.faces = FaceAttributesView()
        self.faces.face_selected.connect(self._draw_box)
        self.embedding = EmbeddingView()
        self.embedding.face_activated.connect(self._open_face)
        self.training = TrainingView(self.workbench.long_runner)
        self.training.celeba_root = self.root_edit.text().strip()
        self.training.model_ready.connect(self.add_trained_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.faces, "Faces")
        self.tabs.addTab(self.embedding, "Embedding")
        self.tabs.addTab(self.training, "Training")
        self.status = QLabel("Open an image: its faces get the 40 CelebA attributes.")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(data_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

    def _choose_root(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "CelebA folder", self.root_edit.text())
        if chosen:
            self.root_edit.setText(chosen)
            self._root_changed()

    def _root_changed(self) -> None:
        root = self.root_edit.text().strip()
        self.workbench.settings.set(Keys.ATTRIBUTES_CELEBA_ROOT, root)
        self.training.celeba_root = root

    @property
    def model_name(self) -> str:
        return str(self.model_box.currentData())

    def add_trained_model(self, path: Path) -> None:
        """Offer a model trained in this session and switch to it."""
        self.model_box.addItem(f"trained: {Path(path).parent.name}", str(path))
        self.model_box.setCurrentIndex(self.model_box.count() - 1)

    def _model_changed(self) -> None:
        self.on_image_changed(self.workbench.current)

    # --- faces ------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # an image opened while another workspace was in front was not analysed: with "on every
        # image" checked, arriving here must show its faces, not an empty tab
        if self.shown is None and self.auto_box.isChecked():
            self.on_image_changed(self.workbench.current)

    def on_image_changed(self, loaded: LoadedImage | None) -> None:
        self.shown = None
        if loaded is None or loaded.image is None:
            self.faces.set_faces([])
            return
        cached = self.results.get(self._key(loaded))
        if cached is not None:
            self._show(cached)
        elif self.auto_box.isChecked() and self.isVisible():
            self.analyze()
        else:
            self.faces.set_faces([])
            self.status.setText("Press Analyze faces.")

    def _key(self, loaded: LoadedImage) -> tuple[Path, str, str]:
        return (loaded.path, self.model_name, selected_detector(self.detector_box))

    def analyze(self) -> None:
        loaded = self.workbench.current
        if loaded is None or loaded.image is None:
            return
        key = self._key(loaded)
        if key in self._analyzing:
            return
        self._analyzing.add(key)
        self.status.setText(f"Analyzing the faces of {loaded.path.name}…")
        job = self.workbench.runner.submit(
            analyze_job,
            self.models,
            self.workbench.detectors,
            key[1],
            key[2],
            loaded.image,
            name=f"attributes {loaded.path.name}",
            on_result=lambda faces, k=key: self._on_faces(k, faces),
            on_error=lambda exc: self.status.setText(f"Attribute analysis failed: {exc}"),
            on_finished=lambda k=key: self._analyzing.discard(k),
        )
        self._track(job)

    def _on_faces(self, key: tuple[Path, str, str], faces: list[FaceAttributes]) -> None:
        self.results[key] = faces
        current = self.workbench.current
        if current is not None and self._key(current) == key:
            self._show(faces)

    def _show(self, faces: list[FaceAttributes]) -> None:
        self.shown = faces
        method = self.models.recognizer(self.model_name).model.method if faces else "lmle"
        self.faces.set_faces(faces, MARGIN_UNITS.get(method, ""))
        self.status.setText(f"{len(faces)} face(s) with attributes ({self.model_box.currentText()}).")

    def _draw_box(self, row: int) -> None:
        """Highlight the selected face on the canvas (the one highlight every face list shares)."""
        if self.shown is not None and 0 <= row < len(self.shown):
            self.workbench.view.layers.highlight(self.shown[row].box)

    # --- embedding --------------------------------------------------------------
    def load_embedding(self) -> None:
        root = self.root_edit.text().strip()
        if not root:
            self.status.setText("Choose a CelebA folder first.")
            return
        if self.embed_job is not None and not self.embed_job.is_done:
            return
        id_range = self.range_edit.text().strip() or None
        self.workbench.settings.set(Keys.ATTRIBUTES_RANGE, id_range or "")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.load_button.setEnabled(False)
        self.embed_job = self.workbench.long_runner.submit(
            embedding_job,
            self.models,
            self.model_name,
            Path(root),
            id_range,
            name="attribute embedding",
            on_progress=self._on_progress,
            on_result=self.show_embedding,
            on_error=lambda exc: self.status.setText(f"Embedding failed: {exc}"),
            on_finished=self._embed_finished,
        )
        self._track(self.embed_job)

    def _on_progress(self, progress: Progress) -> None:
        if progress.fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))
        self.status.setText(progress.message)

    def _embed_finished(self) -> None:
        self.progress.setVisible(False)
        self.load_button.setEnabled(True)

    def show_embedding(self, data: EmbeddingData) -> None:
        self.embedding.set_data(data)
        self.training.set_rarity_order(dict(zip(data.names, data.labels.mean(0), strict=True)))
        self.tabs.setCurrentWidget(self.embedding)
        self.status.setText(f"Embedding of {data.source}.")

    def _open_face(self, path: Path) -> None:
        self.workbench.list_requested.emit([Path(path)], Path(path).parent)

    # --- jobs -------------------------------------------------------------------
    def _track(self, job: Job) -> None:
        self.jobs = [j for j in self.jobs if not j.is_done] + [job]

    def release(self) -> None:
        """Drop the embedding, the per-image results and the loaded models (closed panel)."""
        self.shutdown()
        self.embed_job = None
        self.jobs = []
        self.embedding.clear()
        self.faces.set_faces([])
        self.results.clear()
        self.shown = None
        self.models.clear()
        self.training.clear()

    def shutdown(self) -> None:
        for job in self.jobs:
            job.cancel()
        self.training.stop()
