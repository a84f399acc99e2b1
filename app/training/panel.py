"""Training panel: start, stop (with a checkpoint) and resume a training task; live curves.

Before Start, a ScaleFace run shows what it would read (the WIDER split found in
the Data folder, or why none fits: :mod:`app.training.data_plan`). The log shows
the same readable lines as the CLI (:mod:`core.train.records`).

Curves: loss per branch / term, learning rate and quick evaluation metrics,
and the official WIDER AP (easy / medium / hard, each branch's own AP dashed)
of the periodic evaluation on a chosen split (ScaleFace). Resuming a run, or
"Load curves" on a run folder, redraws the history from ``metrics.jsonl``.
"""

from __future__ import annotations

import json
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
    QSpinBox,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.canvas.overlays import BRANCH_COLORS
from app.context import Workbench
from app.panel_base import Panel, wrapping_column
from app.settings import Keys, Setting
from app.training.curves import ApPlot, CurveBook, eval_metrics, is_ap_metric, step_plot
from app.training.data_plan import DataPlanner
from app.training.history import read_history, replayable
from app.training.job import training_job
from app.training.preset_row import preset_box, preset_overrides
from app.widgets import path_row
from app.worker import Job
from core.train.records import describe_step, log_line, loss_groups
from core.train.registry import TASKS

# tasks whose config takes an evaluation split (task.eval_split / task.eval_max_images)
SPLIT_TASKS = frozenset({"scaleface"})
PALETTE = [(230, 90, 70), (70, 160, 230), (100, 200, 90), (220, 170, 40), (170, 110, 220), (60, 200, 200)]


class TrainingPanel(Panel):
    title = "Training"
    object_name = "training"
    mode = "Train"
    workspace_parts = ()
    mode_icon = QStyle.StandardPixmap.SP_BrowserReload
    area = Qt.DockWidgetArea.BottomDockWidgetArea
    start_visible = False

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.job: Job | None = None
        self.book = CurveBook()
        self.last_record: dict | None = None
        self.summary = None
        self._eval_every = 0
        self._log_every = 1
        self._run_dir: Path | None = None
        self._build()

    @property
    def curves(self) -> dict[str, pg.PlotDataItem]:
        return self.book.curves

    @property
    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        return self.book.series

    def _path_edit(self, setting: Setting[str], folder: bool) -> tuple[QWidget, QLineEdit]:
        return path_row(self, self.workbench.settings, setting, folder, "TOML (*.toml);;All files (*)")

    def _persist_spin(self, box: QSpinBox, setting: Setting[int]) -> None:
        settings = self.workbench.settings
        box.setValue(settings.get(setting))
        box.valueChanged.connect(lambda value: settings.set(setting, value))

    def _build(self) -> None:
        controls = QWidget()
        form = QFormLayout(controls)
        self.task_box = QComboBox()
        self.task_box.addItems(sorted(TASKS))
        form.addRow("Task", self.task_box)
        data_row, self.data_edit = self._path_edit(Keys.TRAINING_DATA, folder=True)
        data_row.setToolTip(
            "dataset root, e.g. the WIDER FACE folder (ScaleFace can also train on synthetic faces)"
        )
        form.addRow("Data", data_row)
        self.planner = DataPlanner(self.workbench.settings, self.workbench.runner, self._plan_inputs, self)
        self.planner.add_rows(form)
        self.data_plan, self.split_picker = self.planner.label, self.planner.picker
        run_row, self.run_edit = self._path_edit(Keys.TRAINING_RUN, folder=True)
        form.addRow("Run folder", run_row)
        config_row, self.config_edit = self._path_edit(Keys.TRAINING_CONFIG, folder=False)
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
        split_row, self.split_edit = self._path_edit(Keys.TRAINING_EVAL_SPLIT, folder=True)
        split_row.setToolTip(
            "a WIDER val-style split (labels *_bbx_gt.txt, images/, keep lists) or a WIDER root: "
            "official AP at evaluations"
        )
        self.split_label = QLabel("Eval split")
        form.addRow(self.split_label, split_row)
        self.split_row = split_row
        self.eval_every_box = QSpinBox()
        self.eval_every_box.setRange(0, 10_000_000)
        self.eval_every_box.setSpecialValueText("at checkpoints / task default")
        self.eval_every_box.setToolTip("evaluate every N steps (0: at checkpoints when a split is chosen)")
        self._persist_spin(self.eval_every_box, Keys.TRAINING_EVAL_EVERY)
        form.addRow("Evaluate every", self.eval_every_box)
        self.eval_images_box = QSpinBox()
        self.eval_images_box.setRange(0, 1_000_000)
        self.eval_images_box.setSpecialValueText("all")
        self.eval_images_box.setToolTip("evenly spaced images of the split to evaluate on")
        self._persist_spin(self.eval_images_box, Keys.TRAINING_EVAL_IMAGES)
        self.eval_images_label = QLabel("Eval images")
        form.addRow(self.eval_images_label, self.eval_images_box)
        self.preset_box = preset_box()
        self.preset_label = QLabel("Model")
        form.addRow(self.preset_label, self.preset_box)
        self.task_box.currentTextChanged.connect(self._show_split_rows)
        self._show_split_rows(self.task_box.currentText())
        self.overrides_edit = QLineEdit()
        self.overrides_edit.setPlaceholderText('e.g. task.data.source="synthetic" train.lr=0.02')
        form.addRow("Overrides", self.overrides_edit)
        self.planner.watch(
            self.data_edit.textChanged, self.task_box.currentTextChanged, self.overrides_edit.textChanged
        )
        self.planner.refresh()
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("continue exactly from the run folder's last checkpoint")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip(
            "hold training after the current step, in memory; press again to continue"
        )
        self.pause_button.setEnabled(False)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step, writing a checkpoint (Resume continues)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.load_button = QPushButton("Load curves")
        self.load_button.setToolTip("draw the curves of the run folder's metrics.jsonl")
        self.load_button.clicked.connect(self.load_history)
        for button in (
            self.start_button,
            self.resume_button,
            self.pause_button,
            self.stop_button,
            self.load_button,
        ):
            buttons.addWidget(button)
        form.addRow(buttons)
        self.status = QLabel("Idle.")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        form.addRow(self.log_view)

        self.loss_plot = step_plot("loss per branch / term", "loss", log_y=True)
        self.side_plot = step_plot("learning rate · quick evaluation")
        self.ap_plot = ApPlot()
        right = QSplitter(Qt.Orientation.Vertical)
        for plot in (self.side_plot, self.ap_plot):  # two stacked plots must not make the dock taller
            plot.setMinimumHeight(60)
        right.addWidget(self.side_plot)
        right.addWidget(self.ap_plot)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        scroll = wrapping_column(controls)  # the form scrolls instead of forcing a tall window
        for widget in (scroll, self.loss_plot, right):
            splitter.addWidget(widget)
        splitter.setSizes([340, 480, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- running ------------------------------------------------------------
    def overrides(self) -> list[str]:
        out = []
        if self.task_box.currentText() in SPLIT_TASKS:
            out += preset_overrides(self.preset_box, self.config_edit.text())
        out += self.overrides_edit.text().split()
        if self.steps_box.value():
            out.append(f"train.max_steps={self.steps_box.value()}")
        if self.batch_box.value():
            out.append(f"train.batch_size={self.batch_box.value()}")
        out.append(f'train.device="{self.device_box.currentText()}"')
        if self.eval_every_box.value():
            out.append(f"train.eval_every={self.eval_every_box.value()}")
        out += self.planner.split_overrides(self.task_box.currentText())
        split = self.split_edit.text().strip()
        if self.task_box.currentText() in SPLIT_TASKS and split:
            out.append(f"task.eval_split={json.dumps(split)}")  # a TOML string
            out.append(f"task.eval_max_images={self.eval_images_box.value()}")
        return out

    def _show_split_rows(self, task: str) -> None:
        rows = (self.split_label, self.split_row, self.eval_images_label, self.eval_images_box)
        for widget in (*rows, self.preset_label, self.preset_box):
            widget.setVisible(task in SPLIT_TASKS)

    def _plan_inputs(self) -> tuple[str, str, list[str]]:
        return self.task_box.currentText(), self.data_edit.text().strip(), self.overrides_edit.text().split()

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
        self._run_dir = Path(run_dir)
        self.status.setText(("Resuming" if resume else "Starting") + f" {self.task_box.currentText()}…")
        self.job = self.workbench.long_runner.submit(
            training_job,
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
        self.job.paused.connect(
            lambda: self.status.setText("Paused after the current step (Pause again continues).")
        )
        self._set_running(True)

    def set_paused(self, paused: bool) -> None:
        """Hold the training job at its next step (state stays in memory) or let it go on."""
        if self.job is None or self.job.is_done:
            return
        if paused:
            self.job.pause()
            self.status.setText("Pausing after the current step…")
        else:
            self.job.resume()
            self.status.setText("Continuing…")

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()  # also ends a pause
            self.status.setText("Stopping after the current step…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.pause_button.setEnabled(running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.blockSignals(False)

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
            self._plot_step(record)
            text = describe_step({**record, "max_steps": self._max_steps})
            if self._eval_every and record["step"] % self._eval_every == 0:
                text += " · evaluating…"  # the engine evaluates right after this step
            self.status.setText(text)
        elif event == "eval":
            self._plot_eval(record)
        elif event == "start":
            self._max_steps = record.get("max_steps")
            train = record.get("config", {}).get("train", {})
            self._eval_every = int(train.get("eval_every") or 0)
            self._log_every = int(train.get("log_every") or 1)
            if record.get("resumed"):
                self._redraw_history(int(record.get("step", 0)))
        line = log_line(record, self._log_every)  # the CLI logs the same lines
        if line is not None:
            self.log_view.appendPlainText(line)

    _max_steps = None

    def _plot_step(self, record: dict) -> None:
        step = float(record["step"])
        for name, value in loss_groups(record.get("losses", {})).items():
            self._add_point(self.loss_plot, f"loss:{name}", name, step, value)
        if "lr" in record:
            self._add_point(self.side_plot, "lr", "lr", step, float(record["lr"]))

    def _plot_eval(self, record: dict) -> None:
        self.ap_plot.add_record(record)
        step = float(record.get("step", 0))
        for key, value in eval_metrics(record).items():
            if not is_ap_metric(key) and not key.startswith("eval_"):  # quick-eval metrics
                self._add_point(self.side_plot, f"eval:{key}", key, step, value)

    def replay(self, records: list[dict]) -> None:
        """Draw step and eval records (from a metrics file) on the curves."""
        for record in replayable(records):
            if record["event"] == "step":
                self._plot_step(record)
            else:
                self._plot_eval(record)

    def _redraw_history(self, up_to_step: int) -> None:
        """A resumed run: the file holds the history up to the checkpoint (cut by the engine)."""
        if self._run_dir is not None:
            self.replay(replayable(read_history(self._run_dir), up_to_step))

    def load_history(self) -> None:
        """Read the run folder's metrics in the worker and draw them (replacing the curves)."""
        run_dir = self.run_edit.text().strip()
        if not run_dir:
            self.status.setText("Choose a run folder first.")
            return
        if self.job is not None and not self.job.is_done:
            return  # a running job draws its own curves

        def show(records: list[dict]) -> None:
            self._clear_plots()
            task = next((r.get("task") for r in records if r.get("event") == "start"), None)
            if task in TASKS:
                self.task_box.setCurrentText(task)
            self.replay(records)
            evals = sum(1 for r in records if r.get("event") == "eval")
            last = max((r.get("step", 0) for r in records if r.get("event") == "step"), default=0)
            self.status.setText(
                f"{run_dir}: {len(records)} records up to step {last}, {evals} evaluations"
                if records
                else f"No metrics.jsonl in {run_dir}."
            )

        self.workbench.runner.submit(read_history, run_dir, name="read training history", on_result=show)

    def _add_point(self, plot: pg.PlotWidget, key: str, label: str, x: float, y: float) -> None:
        if key not in self.book.curves:
            group = key.split(":")[0]
            branch = BRANCH_COLORS.get(label) if key.startswith("loss:") else None
            if branch is not None:  # a ScaleFace branch: the colour of its boxes and heat map
                color = (branch.red(), branch.green(), branch.blue())
            else:
                color = PALETTE[self.book.count(group + ":") % len(PALETTE)] if ":" in key else PALETTE[0]
            pen = pg.mkPen(color=color, width=2)
        else:
            pen = None
        self.book.add(plot, key, label, x, max(y, 1e-12) if plot is self.loss_plot else y, pen)

    def _clear_plots(self) -> None:
        for plot in (self.loss_plot, self.side_plot):
            plot.clear()
        self.ap_plot.clear_curves()
        self.book.clear()
        self.log_view.clear()

    def release(self) -> None:
        """Stop a run (it checkpoints first) and drop its curves and log (closed panel)."""
        self.stop()
        self._clear_plots()
        self.summary, self.last_record = None, None

    def shutdown(self) -> None:
        self.stop()
