"""LMLE training from the panel: the engine's ``lmle`` task in the worker, with live curves.

The job is :func:`core.train.launch.launch` (the same entry as the CLI and
the Training panel). Every step record extends the loss curve; every
validation record redraws the per-attribute balanced accuracy (horizontal
bars, attributes sorted by how rare they are) and extends the mean curve.
Stop cancels the job: the engine writes a checkpoint first, so a later start
with "Resume" continues exactly. When the run ends, ``model_ready`` carries
the path of the exported model (``RUN/lmle_model.pt``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.worker import Job, JobRunner
from core.attributes.celeba import CELEBA_ATTRIBUTES

MAX_POINTS = 4000


def training_job(run_dir: Path, overrides: list[str], resume: bool):
    """Generator job: train, then export the model into the run folder. Returns its path."""
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.attributes.export import export_run
    from core.train.launch import launch

    yield from launch("lmle", run_dir, overrides=overrides, resume=resume)
    yield {"event": "export", "step": -1}
    return export_run(run_dir, out=Path(run_dir) / "lmle_model.pt")


class TrainingView(QWidget):
    """Form + curves. ``celeba_root`` is provided by the panel (shared with the embedding tab)."""

    model_ready = Signal(object)  # Path of the exported .pt

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.job: Job | None = None
        self.celeba_root = ""
        self.steps_x: list[float] = []
        self.loss_y: list[float] = []
        self.eval_x: list[float] = []
        self.eval_y: list[float] = []
        self.last_eval: dict[str, float] = {}
        self._build()

    def _build(self) -> None:
        form = QFormLayout()
        self.train_edit = QLineEdit("1-7000")
        self.val_edit = QLineEdit("7001-8000")
        form.addRow("Train images", self.train_edit)
        form.addRow("Validation images", self.val_edit)
        self.method_box = QComboBox()
        self.method_box.addItems(["lmle", "triplet"])
        form.addRow("Method", self.method_box)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(10, 1_000_000)
        self.steps_box.setValue(1500)
        self.eval_box = QSpinBox()
        self.eval_box.setRange(0, 1_000_000)
        self.eval_box.setValue(500)
        form.addRow("Steps", self.steps_box)
        form.addRow("Validate every", self.eval_box)
        self.run_edit = QLineEdit()
        self.run_edit.setPlaceholderText("run folder (checkpoint, metrics, exported model)")
        form.addRow("Run folder", self.run_edit)
        self.extra_edit = QLineEdit()
        self.extra_edit.setPlaceholderText("more options, e.g. task.dim=32 train.lr=0.002")
        form.addRow("Options", self.extra_edit)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        self.status = QLabel("Idle.")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        controls = QWidget()
        controls.setLayout(form)

        self.loss_plot = pg.PlotWidget(title="training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen((230, 90, 70), width=2))
        self.mean_plot = pg.PlotWidget(title="mean balanced accuracy (validation)")
        self.mean_plot.setLabel("bottom", "step")
        self.mean_plot.showGrid(x=True, y=True, alpha=0.3)
        self.mean_curve = self.mean_plot.plot([], [], pen=pg.mkPen((70, 160, 230), width=2), symbol="o")
        self.mean_plot.getAxis("left").setWidth(48)
        self.ba_plot = pg.PlotWidget(title="balanced accuracy per attribute")
        self.ba_plot.setXRange(0.4, 1.0)
        self.ba_plot.showGrid(x=True, alpha=0.3)
        self.ba_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brush=(100, 180, 120))
        self.ba_plot.addItem(self.ba_bars)
        self.order = list(CELEBA_ATTRIBUTES)  # re-sorted by rarity when the training data is known
        self._set_ticks()

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(controls)
        left.addWidget(self.loss_plot)
        left.addWidget(self.mean_plot)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.ba_plot)
        splitter.setSizes([420, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _set_ticks(self) -> None:
        axis = self.ba_plot.getAxis("left")
        # all 40 names: a small font, and no label dropped for touching its neighbour
        axis.setStyle(
            tickFont=QFont(self.font().family(), 7), hideOverlappingLabels=False, textFillLimits=[(0, 1.0)]
        )
        axis.setWidth(120)
        axis.setTicks([[(i, n) for i, n in enumerate(self.order)]])
        self.ba_plot.setYRange(-1, len(self.order))

    def set_rarity_order(self, positive_rate: dict[str, float]) -> None:
        """Order the bars by positive rate (rarest at the top of the plot)."""
        self.order = sorted(CELEBA_ATTRIBUTES, key=lambda n: -positive_rate.get(n, 0.5))
        self._set_ticks()

    # --- running --------------------------------------------------------------
    def overrides(self) -> list[str]:
        return [
            f'task.celeba_root="{self.celeba_root}"',
            f'task.train_range="{self.train_edit.text().strip()}"',
            f'task.val_range="{self.val_edit.text().strip()}"',
            f'task.method="{self.method_box.currentText()}"',
            f"train.max_steps={self.steps_box.value()}",
            f"train.eval_every={self.eval_box.value()}",
            *self.extra_edit.text().split(),
        ]

    def start(self, resume: bool = False) -> None:
        if self.job is not None and not self.job.is_done:
            return
        run_dir = self.run_edit.text().strip()
        if not self.celeba_root or not run_dir:
            self.status.setText("Choose the CelebA folder (above) and a run folder first.")
            return
        self.clear()
        self.status.setText("Resuming…" if resume else "Starting (the first run extracts features once)…")
        self.job = self.runner.submit(
            training_job,
            Path(run_dir),
            self.overrides(),
            resume,
            name="LMLE training",
            on_progress=self.on_record,
            on_result=self._on_model,
            on_error=lambda exc: self.status.setText(f"Training failed: {exc}"),
            on_finished=lambda: self._set_running(False),
        )
        self.job.cancelled.connect(
            lambda: self.status.setText("Stopped with a checkpoint; Resume continues.")
        )
        self._set_running(True)

    def stop(self) -> None:
        if self.job is not None and not self.job.is_done:
            self.job.cancel()
            self.status.setText("Stopping after the current step…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_model(self, path: Path) -> None:
        self.status.setText(f"Done. Model exported to {path}; the other tabs now use it.")
        self.model_ready.emit(path)

    def clear(self) -> None:
        for series in (self.steps_x, self.loss_y, self.eval_x, self.eval_y):
            series.clear()
        self.loss_curve.setData([], [])
        self.mean_curve.setData([], [])
        self.ba_bars.setOpts(x0=[], y=[], width=[])
        self.last_eval = {}

    # --- records --------------------------------------------------------------
    def on_record(self, record: dict) -> None:
        event = record.get("event")
        if event == "step":
            self.steps_x.append(float(record["step"]))
            self.loss_y.append(float(record["loss"]))
            if len(self.steps_x) > MAX_POINTS:  # thin old points: long runs stay smooth
                del self.steps_x[: MAX_POINTS // 2 : 2], self.loss_y[: MAX_POINTS // 2 : 2]
            self.loss_curve.setData(self.steps_x, self.loss_y)
            self.status.setText(
                f"step {record['step']}  loss {record['loss']:.4f}  {record.get('images_per_s', 0):.0f} anchors/s"
            )
        elif event == "eval":
            metrics = record.get("metrics", {})
            self.last_eval = {k[3:]: float(v) for k, v in metrics.items() if k.startswith("ba/")}
            if "mean_balanced_accuracy" in metrics:
                self.eval_x.append(float(record["step"]))
                self.eval_y.append(float(metrics["mean_balanced_accuracy"]))
                self.mean_curve.setData(self.eval_x, self.eval_y)
            values = np.array([self.last_eval.get(n, np.nan) for n in self.order])
            keep = np.isfinite(values)
            self.ba_bars.setOpts(x0=np.zeros(keep.sum()), y=np.flatnonzero(keep), width=values[keep])
        elif event == "start":
            self.status.setText(f"training on {record.get('dataset_size')} images ({record.get('device')})")
        elif event == "export":
            self.status.setText("Exporting the model (final clusters)…")
