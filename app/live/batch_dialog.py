"""The batch detection job from the GUI: inputs, outputs, a progress bar and cancel.

Runs :func:`core.detect.batch.run.run_batch` (the engine behind ``main.py detect``)
in the workbench's long pool. Cancel stops it at the next unit; everything
written so far stays in the output and the next run with the same output
resumes where this one stopped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.context import Workbench
from app.detectors import fill_detector_box, select_detector, selected_detector
from app.settings import Keys
from app.worker import Job
from core.detect.batch.inputs import expand_batch_inputs
from core.detect.batch.ledger import VERIFY_MODES
from core.detect.batch.options import BatchOptions, BatchProgress, BatchSummary
from core.detect.batch.run import run_batch
from core.detect.registry import DEFAULT_DETECTOR

INPUT_SEPARATOR = ";"


def batch_job(paths: list[str], recursive: bool, options: BatchOptions):
    """Generator job: expand the inputs, then run the batch (yields progress, returns the summary)."""
    items = expand_batch_inputs(paths, recursive)
    if not items:
        raise ValueError("no image or video files in the given inputs")
    return (yield from run_batch(items, options))


class BatchDialog(QDialog):
    """Non-modal: the workbench stays usable while a batch runs."""

    def __init__(self, workbench: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.setWindowTitle("Batch detection")
        self.setModal(False)
        self.resize(560, 300)
        self.job: Job | None = None
        self.summary: BatchSummary | None = None
        self.last_progress: BatchProgress | None = None
        settings = workbench.settings
        form = QFormLayout()
        self.inputs = QLineEdit(settings.get(Keys.BATCH_INPUTS))
        self.inputs.setPlaceholderText("folders, files, videos or glob patterns, separated by ';'")
        form.addRow(
            "Inputs",
            self._with_buttons(self.inputs, ("Folder…", self._add_folder), ("Files…", self._add_files)),
        )
        self.recursive = QCheckBox("Include sub-folders")
        self.recursive.setChecked(settings.get(Keys.BATCH_RECURSIVE))
        form.addRow("", self.recursive)
        self.model = QComboBox()
        fill_detector_box(self.model)
        select_detector(self.model, DEFAULT_DETECTOR)
        self.every = QSpinBox()
        self.every.setRange(1, 1000)
        self.every.setPrefix("every ")
        self.every.setSuffix(" video frame(s)")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.every)
        form.addRow("Model", model_row)
        self.jsonl = QLineEdit(settings.get(Keys.BATCH_JSONL))
        form.addRow("JSON lines", self._with_buttons(self.jsonl, ("…", self._pick_jsonl)))
        self.wider = QLineEdit(settings.get(Keys.BATCH_WIDER))
        self.wider.setPlaceholderText("optional: WIDER submission folder")
        form.addRow("WIDER out", self._with_buttons(self.wider, ("…", self._pick_wider)))
        self.verify = QComboBox()
        self.verify.addItems(list(VERIFY_MODES))
        self.verify.setToolTip("How a rerun recognises files already done: size+mtime (stat) or content hash")
        form.addRow("Resume check", self.verify)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Results already in the output are skipped (resumable).")
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _with_buttons(self, edit: QLineEdit, *buttons) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        for text, slot in buttons:
            button = QPushButton(text)
            button.clicked.connect(slot)
            row.addWidget(button)
        return row

    def _append_input(self, text: str) -> None:
        current = [p for p in self.inputs.text().split(INPUT_SEPARATOR) if p.strip()]
        self.inputs.setText(INPUT_SEPARATOR.join([*current, text]))

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add folder")
        if folder:
            self._append_input(folder)

    def _add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add images or videos")
        for path in files:
            self._append_input(path)

    def _pick_jsonl(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "JSON lines output", self.jsonl.text(), "JSON lines (*.jsonl)"
        )
        if path:
            self.jsonl.setText(path)

    def _pick_wider(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "WIDER submission folder")
        if folder:
            self.wider.setText(folder)

    # --- running ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_done

    def options(self) -> BatchOptions:
        model = selected_detector(self.model)
        cache = getattr(self.workbench, "detectors", None)
        checkpoint = cache.checkpoint(model) if cache is not None and hasattr(cache, "checkpoint") else None
        return BatchOptions(
            model=model,
            checkpoint=Path(checkpoint) if checkpoint else None,
            jsonl=Path(self.jsonl.text()) if self.jsonl.text().strip() else None,
            wider_out=Path(self.wider.text()) if self.wider.text().strip() else None,
            verify=self.verify.currentText(),
            every=self.every.value(),
        )

    def start(self) -> None:
        if self.running:
            return
        paths = [p.strip() for p in self.inputs.text().split(INPUT_SEPARATOR) if p.strip()]
        options = self.options()
        if not paths:
            self.status.setText("Add at least one folder, file or pattern.")
            return
        if options.jsonl is None and options.wider_out is None:
            self.status.setText("Choose a JSON-lines file or a WIDER folder for the results.")
            return
        settings = self.workbench.settings
        settings.set(Keys.BATCH_INPUTS, self.inputs.text())
        settings.set(Keys.BATCH_RECURSIVE, self.recursive.isChecked())
        settings.set(Keys.BATCH_JSONL, self.jsonl.text())
        settings.set(Keys.BATCH_WIDER, self.wider.text())
        self.summary = None
        self.progress.setValue(0)
        self.status.setText("Starting (loading the model)…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.workbench.long_runner.submit(
            batch_job,
            paths,
            self.recursive.isChecked(),
            options,
            name="batch detection",
            on_progress=self._on_progress,
            on_result=self._on_result,
            on_error=lambda exc: self.status.setText(f"Failed: {exc}"),
            on_finished=self._on_finished,
        )
        self.job.cancelled.connect(self._on_cancelled)

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()
            self.status.setText("Cancelling after the current image…")

    def _on_progress(self, progress: BatchProgress) -> None:
        self.last_progress = progress
        if progress.fraction is not None:
            self.progress.setValue(int(progress.fraction * 1000))
        self.status.setText(progress.describe())

    def _on_result(self, summary: BatchSummary) -> None:
        self.summary = summary
        self.progress.setValue(1000)
        text = f"Done: {summary.processed} detected ({summary.rate:.1f}/s), {summary.skipped} skipped"
        if summary.failures:
            shown = "; ".join(f"{Path(p).name}: {e}" for p, _, e in summary.failures[:3])
            text += f", {len(summary.failures)} failed ({shown})"
        self.status.setText(text + f". Output: {summary.output}")
        self.workbench.status.emit(text)

    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled: what was written is kept; Start again to resume.")

    def _on_finished(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def shutdown(self) -> None:
        if self.running:
            self.job.cancel()
