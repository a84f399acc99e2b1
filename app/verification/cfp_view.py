"""The CFP half of the Verification panel: run an evaluation, ROC with and without DREAM, worst errors.

``pair_requested(str, str)`` asks the panel to compare a gallery pair in detail
(image paths).
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.context import Workbench
from app.job_controls import JobControls
from app.settings import Keys
from app.verification.chips import pair_pixmap
from app.verification.jobs import THUMB, CfpRun, LazyVerifier, cfp_job
from app.widgets import path_row
from core.paths import SHARED_DIR

MODE_COLORS = {"stem": (240, 170, 40), "dream": (60, 200, 255)}
ACCEPT, REJECT = QColor(60, 190, 90), QColor(230, 70, 70)


class CfpView(QSplitter):
    """CFP evaluation box (left) and the worst-errors gallery (right)."""

    pair_requested = Signal(str, str)

    def __init__(self, workbench: Workbench, verifier: LazyVerifier, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.workbench = workbench
        self.verifier = verifier
        self.cfp_run: CfpRun | None = None
        self.addWidget(self._build_cfp())
        self.addWidget(self._build_gallery())
        self.setSizes([420, 360])

    def _build_cfp(self) -> QWidget:
        box = QGroupBox("CFP evaluation")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        root_row, self.cfp_root = path_row(
            self, self.workbench.settings, Keys.VERIFICATION_CFP_ROOT, folder=True
        )
        if not self.cfp_root.text() and (SHARED_DIR / "data" / "cfp_dev").is_dir():
            self.cfp_root.setText(str(SHARED_DIR / "data" / "cfp_dev"))
        form.addRow("CFP root", root_row)
        row = QHBoxLayout()
        self.protocol_box = QComboBox()
        self.protocol_box.addItems(["FP", "FF"])
        self.folds_edit = QLineEdit()
        self.folds_edit.setPlaceholderText("all folds (e.g. 9 or 1-9)")
        row.addWidget(self.protocol_box)
        row.addWidget(self.folds_edit, 1)
        form.addRow("Protocol / folds", row)
        self.cfp_controls = JobControls(
            self.workbench.long_runner, "Evaluate", QLabel("Evaluate CFP-FP or FF with and without DREAM.")
        )
        self.cfp_button = self.cfp_controls.run_button
        self.cfp_button.clicked.connect(self.start_cfp)
        self.progress = self.cfp_controls.progress
        self.cfp_summary = self.cfp_controls.summary
        buttons = QHBoxLayout()
        buttons.addWidget(self.cfp_button)
        buttons.addWidget(self.cfp_controls.cancel_button)
        form.addRow(buttons)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.cfp_summary)
        self.roc_plot = pg.PlotWidget(title="ROC")
        self.roc_plot.setLabel("bottom", "false accept rate")
        self.roc_plot.setLabel("left", "true accept rate")
        self.roc_plot.setXRange(0, 1)
        self.roc_plot.setYRange(0, 1.02)
        self.roc_plot.showGrid(x=True, y=True, alpha=0.3)
        self.roc_legend = self.roc_plot.addLegend(offset=(-10, 10))
        layout.addWidget(self.roc_plot, 1)
        return box

    def _build_gallery(self) -> QWidget:
        box = QGroupBox("Worst errors")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.gallery_kind = QComboBox()
        self.gallery_kind.addItem("false accepts", "fa")
        self.gallery_kind.addItem("false rejects", "fr")
        self.gallery_mode = QComboBox()
        self.gallery_mode.addItem("with DREAM", "dream")
        self.gallery_mode.addItem("without DREAM", "stem")
        self.gallery_kind.currentIndexChanged.connect(self._fill_gallery)
        self.gallery_mode.currentIndexChanged.connect(self._fill_gallery)
        row.addWidget(self.gallery_kind)
        row.addWidget(self.gallery_mode)
        layout.addLayout(row)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(2 * THUMB + 6, THUMB + 4))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setWordWrap(True)
        self.gallery.itemActivated.connect(self._open_gallery_pair)
        layout.addWidget(self.gallery, 1)
        return box

    # --- CFP evaluation -----------------------------------------------------
    def start_cfp(self) -> None:
        if self.cfp_controls.busy:
            return
        root = self.cfp_root.text().strip()
        if not root:
            self.cfp_summary.setText("Choose the CFP root first.")
            return
        self.workbench.settings.set(Keys.VERIFICATION_CFP_ROOT, root)
        self.cfp_controls.start(
            cfp_job,
            self.verifier,
            Path(root),
            self.protocol_box.currentText(),
            self.folds_edit.text(),
            name="CFP evaluation",
            busy_text="Evaluating…",
            on_result=self._on_cfp_result,
        )

    def cancel_cfp(self) -> None:
        self.cfp_controls.cancel()

    def release(self) -> None:
        """Cancel a run and drop the last one: its results, ROC and gallery thumbnails."""
        self.cancel_cfp()
        self.cfp_run = None
        self.roc_plot.clear()
        self.roc_legend.clear()
        self.gallery.clear()
        self.cfp_summary.setText("")

    def _on_cfp_result(self, run: CfpRun | None) -> None:
        if run is None:
            return
        self.cfp_run = run
        folds = ", ".join(str(f.fold) for f in run.results["stem"].folds)
        lines = [f"CFP-{run.protocol}, {run.stem} stem, folds {folds}"]
        for mode, label in _modes(run):
            ev = run.results[mode]
            lines.append(
                f"{label}: accuracy {100 * ev.accuracy_mean:.2f} ± {100 * ev.accuracy_std:.2f} %, "
                f"EER {100 * ev.eer_mean:.2f} %, AUC {ev.auc_mean:.4f}"
            )
        lines.extend(run.notes)
        self.cfp_summary.setText("\n".join(lines))
        self._plot_roc(run)
        self._fill_gallery()

    def _plot_roc(self, run: CfpRun) -> None:
        self.roc_plot.clear()
        self.roc_legend.clear()
        for mode, label in _modes(run):
            ev = run.results[mode]
            pen = pg.mkPen(color=MODE_COLORS[mode], width=2)
            self.roc_plot.plot(
                ev.roc.far, ev.roc.tar, pen=pen, name=f"{label}  EER {100 * ev.eer_mean:.2f} %"
            )
        self.roc_plot.plot([0, 1], [0, 1], pen=pg.mkPen(color=(120, 120, 120), style=Qt.PenStyle.DashLine))

    def _fill_gallery(self, *_args) -> None:
        self.gallery.clear()
        if self.cfp_run is None:
            return
        mode = self.gallery_mode.currentData() if "dream" in self.cfp_run.results else "stem"
        key = (mode, self.gallery_kind.currentData())
        for pair in self.cfp_run.gallery.get(key, []):
            kind = "same person" if pair.label else "different people"
            item = QListWidgetItem(
                QIcon(pair_pixmap(pair.thumb_a, pair.thumb_b, ACCEPT if key[1] == "fa" else REJECT)),
                f"fold {pair.fold}: {pair.score:.3f} vs {pair.threshold:.3f}\n{kind}",
            )
            item.setData(Qt.ItemDataRole.UserRole, (pair.key_a, pair.key_b))
            item.setToolTip(f"{pair.key_a}\n{pair.key_b}")
            self.gallery.addItem(item)

    def _open_gallery_pair(self, item: QListWidgetItem) -> None:
        if self.cfp_run is None:
            return
        key_a, key_b = item.data(Qt.ItemDataRole.UserRole)
        self.pair_requested.emit(str(self.cfp_run.root / key_a), str(self.cfp_run.root / key_b))


def _modes(run: CfpRun) -> list[tuple[str, str]]:
    """The evaluated modes with their labels (a stem without a DREAM block has only ``stem``)."""
    return [
        (m, label) for m, label in (("stem", "without DREAM"), ("dream", "with DREAM")) if m in run.results
    ]
