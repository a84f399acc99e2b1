"""Training panel: start, stop (with a checkpoint) and resume a training task; live curves."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.context import Workbench
from app.panels.base import Panel
from app.widgets import path_row
from app.worker import Job
from core.train.launch import launch
from core.train.registry import TASKS

MAX_POINTS = 5000  # older points are thinned so long runs stay smooth
PALETTE = [(230, 90, 70), (70, 160, 230), (100, 200, 90), (220, 170, 40), (170, 110, 220), (60, 200, 200)]


def _loss_groups(losses: dict[str, float]) -> dict[str, float]:
    """``"small/rpn_cls"`` → per-branch totals; flat names stay as they are."""
    groups: dict[str, float] = {}
    for key, value in losses.items():
        group = key.split("/")[0]
        groups[group] = groups.get(group, 0.0) + float(value)
    return groups


class TrainingPanel(Panel):
    title = "Training"
    object_name = "training"
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.job: Job | None = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.last_record: dict | None = None
        self.summary = None
        self._build()

    def _path_edit(self, key: str, folder: bool) -> tuple[QWidget, QLineEdit]:
        return path_row(
            self, self.workbench.settings, f"training/{key}", folder, "TOML (*.toml);;All files (*)"
        )

    def _build(self) -> None:
        controls = QWidget()
        form = QFormLayout(controls)
        self.task_box = QComboBox()
        self.task_box.addItems(sorted(TASKS))
        form.addRow("Task", self.task_box)
        data_row, self.data_edit = self._path_edit("data", folder=True)
        data_row.setToolTip(
            "dataset root, e.g. the WIDER FACE folder (ScaleFace can also train on synthetic faces)"
        )
        form.addRow("Data", data_row)
        run_row, self.run_edit = self._path_edit("run", folder=True)
        form.addRow("Run folder", run_row)
        config_row, self.config_edit = self._path_edit("config", folder=False)
        form.addRow("Config (TOML)", config_row)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(0, 10_000_000)
        self.steps_box.setSpecialValueText("task default")
        form.addRow("Max steps", self.steps_box)
        self.batch_box = QSpinBox()
        self.batch_box.setRange(0, 4096)
        self.batch_box.setSpecialValueText("task default")
        form.addRow("Batch size", self.batch_box)
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu", "cuda"])
        form.addRow("Device", self.device_box)
        self.overrides_edit = QLineEdit()
        self.overrides_edit.setPlaceholderText('e.g. task.data.source="synthetic" train.lr=0.02')
        form.addRow("Overrides", self.overrides_edit)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("continue exactly from the run folder's last checkpoint")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step, writing a checkpoint (Resume continues)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        for button in (self.start_button, self.resume_button, self.stop_button):
            buttons.addWidget(button)
        form.addRow(buttons)
        self.status = QLabel("Idle.")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        form.addRow(self.log_view)

        self.loss_plot = pg.PlotWidget(title="loss per branch / term")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.side_plot = pg.PlotWidget(title="learning rate · evaluation")
        self.side_plot.setLabel("bottom", "step")
        self.side_plot.addLegend(offset=(-10, 10))
        self.side_plot.showGrid(x=True, y=True, alpha=0.3)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        scroll = QScrollArea()  # the form scrolls instead of forcing a tall window
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        for widget in (scroll, self.loss_plot, self.side_plot):
            splitter.addWidget(widget)
        splitter.setSizes([340, 480, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- running ------------------------------------------------------------
    def overrides(self) -> list[str]:
        out = self.overrides_edit.text().split()
        if self.steps_box.value():
            out.append(f"train.max_steps={self.steps_box.value()}")
        if self.batch_box.value():
            out.append(f"train.batch_size={self.batch_box.value()}")
        out.append(f'train.device="{self.device_box.currentText()}"')
        return out

    def start(self, resume: bool = False) -> None:
        if self.job is not None and not self.job.is_done:
            return
        run_dir = self.run_edit.text().strip()
        if not run_dir:
            self.status.setText("Choose a run folder first.")
            return
        data = self.data_edit.text().strip() or None
        config = self.config_edit.text().strip() or None
        self._clear_plots()
        self.summary = None
        self.status.setText(("Resuming" if resume else "Starting") + f" {self.task_box.currentText()}…")
        self.job = self.workbench.runner.submit(
            launch,
            self.task_box.currentText(),
            Path(run_dir),
            data_dir=data,
            config_file=config,
            overrides=self.overrides(),
            resume=resume,
            name=f"training {self.task_box.currentText()}",
            on_progress=self.on_record,
            on_result=self._on_done,
            on_error=lambda exc: self.status.setText(f"Training failed: {exc}"),
            on_finished=self._on_finished,
        )
        self.job.cancelled.connect(
            lambda: self.status.setText("Stopped; a checkpoint was written. Resume continues.")
        )
        self._set_running(True)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Stopping after the current step…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_finished(self) -> None:
        self._set_running(False)

    def _on_done(self, summary) -> None:
        self.summary = summary
        if summary is not None:
            self.status.setText(
                f"Done: step {summary.step}/{summary.max_steps}, {summary.images_per_s:.2f} images/s, "
                f"checkpoint {summary.checkpoint}"
            )

    # --- records ------------------------------------------------------------
    def on_record(self, record: dict) -> None:
        event = record.get("event")
        if event == "step":
            self.last_record = record
            step = float(record["step"])
            for name, value in _loss_groups(record.get("losses", {})).items():
                self._add_point(self.loss_plot, f"loss:{name}", name, step, value)
            if "lr" in record:
                self._add_point(self.side_plot, "lr", "lr", step, float(record["lr"]))
            eta = record.get("eta_s")
            gpu = f", GPU {record['gpu_mem_mb']:.0f} MB" if "gpu_mem_mb" in record else ""
            self.status.setText(
                f"step {record['step']}/{self._max_steps}  loss {record.get('loss', float('nan')):.4f}  "
                f"{record.get('images_per_s', 0):.2f} images/s"
                + (f"  ETA {eta / 60:.1f} min" if eta else "")
                + gpu
            )
        elif event == "eval":
            step = float(record.get("step", 0))
            for key, value in record.items():
                if key not in ("event", "step") and isinstance(value, (int, float)):
                    self._add_point(self.side_plot, f"eval:{key}", key, step, float(value))
            self.log_view.appendPlainText(
                f"eval @ {record.get('step')}: "
                + ", ".join(f"{k}={v:.4g}" for k, v in record.items() if isinstance(v, float))
            )
        elif event in ("start", "checkpoint", "end"):
            if event == "start":
                self._max_steps = record.get("max_steps")
            shown = {k: v for k, v in record.items() if k not in ("event", "config")}
            self.log_view.appendPlainText(f"{event}: {shown}")

    _max_steps = None

    def _add_point(self, plot: pg.PlotWidget, key: str, label: str, x: float, y: float) -> None:
        if key not in self.curves:
            color = PALETTE[
                len([k for k in self.curves if k.split(":")[0] == key.split(":")[0]]) % len(PALETTE)
            ]
            self.curves[key] = plot.plot([], [], pen=pg.mkPen(color=color, width=2), name=label)
            self.series[key] = ([], [])
        xs, ys = self.series[key]
        xs.append(x)
        ys.append(max(y, 1e-12) if plot is self.loss_plot else y)
        if len(xs) > MAX_POINTS:  # keep every other old point: long runs stay light
            del xs[: MAX_POINTS // 2 : 2], ys[: MAX_POINTS // 2 : 2]
        self.curves[key].setData(xs, ys)

    def _clear_plots(self) -> None:
        for plot in (self.loss_plot, self.side_plot):
            plot.clear()
        self.curves.clear()
        self.series.clear()
        self.log_view.clear()

    def shutdown(self) -> None:
        self.stop()
