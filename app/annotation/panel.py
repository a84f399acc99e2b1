"""Annotation panel: edit WIDER-style face boxes and attributes, review, pre-label.

The widgets here drive an :class:`~app.annotation.editor.AnnotationEditor`
(state and edit operations); the engine is core/annotate/. While a split is
open and "Edit boxes" is on, the canvas edits instead of panning on left-drag
(middle-drag pans); leaving the mode restores the view's drag mode.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.annotation import dialogs
from app.annotation.actions import ATTRIBUTE_KEYS, NUDGES, AnnotationActions
from app.annotation.attribute_editor import AttributeEditor
from app.annotation.editor import AnnotationEditor
from app.annotation.items import COLOR_MODES
from app.annotation.prelabel import Prelabeler
from app.annotation.recovery_bar import RecoveryBar
from app.annotation.source_bar import SourceBar
from app.context import Workbench
from app.detectors import fill_detector_box, select_detector, selected_detector
from app.panel_base import Panel
from app.settings import Keys
from core.annotate.coco import export_coco, import_coco
from core.annotate.review import FaceReviewRequest, ReviewState
from core.annotate.split import AnnotationSplit
from core.detect.registry import ACCURATE, DEFAULT_DETECTOR, FAST


def _button(text: str, slot, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(lambda _=False: slot())
    return button


class AnnotationPanel(Panel):
    title = "Annotation"
    object_name = "annotation"
    mode = "Annotate"
    workspace_parts = ("files", "canvas")
    mode_icon = QStyle.StandardPixmap.SP_FileDialogDetailedView

    def __init__(self, workbench: Workbench, parent=None) -> None:
        super().__init__(workbench, parent)
        self.editor = AnnotationEditor(workbench, self)
        self.prelabel = Prelabeler(self.editor, self)
        self.actions = AnnotationActions(workbench.settings, workbench.view, self)
        self._pending_request: FaceReviewRequest | None = None
        self._reopen = None  # how the open split was opened, to open its source again after a discard
        workbench.annotation_requested.connect(self.review_face)
        self._build()
        self._build_actions()
        self.editor.split_changed.connect(self._on_split_changed)
        self.editor.current_changed.connect(self._on_current_changed)
        self.editor.review_changed.connect(self._update_review)
        self.editor.message.connect(self.show_message)
        self.editor.canvas.selection_changed.connect(self._on_selection)
        self.editor.autosaver.status.connect(self.save_label.setText)
        self.prelabel.status.connect(self.suggest_label.setText)
        self._on_split_changed()

    # --- widgets --------------------------------------------------------------
    def _build(self) -> None:
        # everything scrolls, so the dock never forces a tall main window
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        content = QWidget()
        scroll.setWidget(content)
        layout = QVBoxLayout(content)
        row = QHBoxLayout()
        row.addWidget(_button("Open WIDER split…", self.choose_split, "open_split"))
        row.addWidget(_button("Open folder…", self.choose_folder, "open_folder"))
        layout.addLayout(row)
        self.split_label = QLabel()
        self.split_label.setWordWrap(True)
        layout.addWidget(self.split_label)
        self.source_bar = SourceBar(self.editor, reopen=lambda: self._reopen)
        layout.addWidget(self.source_bar)
        self.back_button = _button(
            "Show the split's images again", self.editor.show_split_list, "back_to_split"
        )
        layout.addWidget(self.back_button)
        self.banner = QLabel()
        self.banner.setObjectName("annotation_banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.banner)
        self.recovery_bar = RecoveryBar(self.editor)
        self.recovery_bar.changed.connect(self._on_split_changed)
        self.restore_button = self.recovery_bar.restore_button
        self.discard_button = self.recovery_bar.discard_button
        layout.addWidget(self.recovery_bar)

        mode = QHBoxLayout()
        self.edit_box = QCheckBox("Edit boxes (W)")
        self.edit_box.setChecked(True)
        self.edit_box.toggled.connect(lambda _: self._update_mode())
        self.color_box = QComboBox()
        self.color_box.addItems(list(COLOR_MODES))
        self.color_box.currentTextChanged.connect(self.editor.canvas.set_color_mode)
        mode.addWidget(self.edit_box)
        mode.addStretch(1)
        mode.addWidget(QLabel("Colour by"))
        mode.addWidget(self.color_box)
        layout.addLayout(mode)

        self.attributes = AttributeEditor()
        self.attributes.attribute_chosen.connect(self.editor.set_attribute)
        layout.addWidget(self.attributes)

        layout.addWidget(self._build_suggestions())
        layout.addWidget(self._build_review())

        bottom = QHBoxLayout()
        self.undo_button = _button("Undo", self.editor.undo, "undo")
        self.redo_button = _button("Redo", self.editor.redo, "redo")
        self.editor.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.editor.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.editor.undo_stack.undoTextChanged.connect(lambda t: self.undo_button.setToolTip(f"Undo {t}"))
        self.editor.undo_stack.redoTextChanged.connect(lambda t: self.redo_button.setToolTip(f"Redo {t}"))
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        bottom.addWidget(self.undo_button)
        bottom.addWidget(self.redo_button)
        bottom.addWidget(_button("Export COCO…", self.choose_export, "export_coco"))
        bottom.addWidget(_button("Import COCO…", self.choose_import, "import_coco"))
        layout.addLayout(bottom)
        self.save_label = QLabel()
        layout.addWidget(self.save_label)
        layout.addStretch(1)

    def _build_suggestions(self) -> QGroupBox:
        group = QGroupBox("Pre-label with a detector")
        grid = QGridLayout(group)
        self.model_box = QComboBox()
        fill_detector_box(self.model_box)
        select_detector(self.model_box, DEFAULT_DETECTOR)
        grid.addWidget(self.model_box, 0, 0)
        grid.addWidget(_button("Image (Ctrl+L)", self.prelabel_current, "prelabel_image"), 0, 1)
        grid.addWidget(_button("Whole split", self.prelabel_split, "prelabel_split"), 0, 2)
        self.accurate_box = QCheckBox("Accurate (slower)")
        self.accurate_box.setToolTip(
            "run the detector at several scales chosen from the image size and mirrored, and merge "
            "the boxes by voting: finds more small faces, several times slower"
        )
        grid.addWidget(self.accurate_box, 4, 0, 1, 3)
        self.score_box = QDoubleSpinBox()
        self.score_box.setRange(0.3, 1.0)
        self.score_box.setSingleStep(0.05)
        self.score_box.setValue(self.workbench.settings.get(Keys.ANNOTATION_ACCEPT_SCORE))
        self.score_box.valueChanged.connect(
            lambda v: self.workbench.settings.set(Keys.ANNOTATION_ACCEPT_SCORE, v)
        )
        grid.addWidget(_button("Accept (⏎)", self.editor.accept_suggestions, "accept_suggestion"), 1, 0)
        grid.addWidget(_button("Reject (⌫)", self.editor.reject_suggestions, "reject_suggestion"), 1, 1)
        grid.addWidget(_button("Accept all ≥", self.accept_above, "accept_above"), 2, 0)
        grid.addWidget(self.score_box, 2, 1)
        self.suggest_label = QLabel("Dashed boxes: suggestions, coloured by scale range.")
        self.suggest_label.setWordWrap(True)
        grid.addWidget(self.suggest_label, 3, 0, 1, 3)
        return group

    def _build_review(self) -> QGroupBox:
        group = QGroupBox("Review")
        grid = QGridLayout(group)
        self.review_label = QLabel()
        grid.addWidget(self.review_label, 0, 0, 1, 3)
        grid.addWidget(
            _button("Reviewed (R)", lambda: self.editor.set_review(ReviewState.REVIEWED), "mark_reviewed"),
            1,
            0,
        )
        attention = _button(
            "Attention (T)", lambda: self.editor.set_review(ReviewState.NEEDS_ATTENTION), "mark_attention"
        )
        grid.addWidget(attention, 1, 1)
        grid.addWidget(_button("Next unreviewed (N)", self.editor.next_unreviewed, "next_unreviewed"), 1, 2)
        return group

    def _build_actions(self) -> None:
        editor, add = self.editor, self.actions.add
        add("ann_save", self.save_now)
        add("ann_undo", editor.undo)
        add("ann_redo", editor.redo)
        add("ann_edit_mode", self.edit_box.toggle)
        add("ann_next_unreviewed", editor.next_unreviewed)
        add("ann_mark_reviewed", lambda: editor.set_review(ReviewState.REVIEWED))
        add("ann_mark_attention", lambda: editor.set_review(ReviewState.NEEDS_ATTENTION))
        add("ann_delete", editor.delete_selection)
        add("ann_select_all", editor.select_all)
        add("ann_zoom_box", self.zoom_to_selection)
        add("ann_next_box", editor.select_next)
        add("ann_prelabel", self.prelabel_current)
        add("ann_accept", editor.accept_suggestions)
        add("ann_reject", editor.reject_suggestions)
        add("ann_accept_above", self.accept_above)
        for level, key in enumerate(("ann_blur_clear", "ann_blur_normal", "ann_blur_heavy")):
            add(key, lambda c=level: editor.set_attribute("blur", c))
        for key, name in ATTRIBUTE_KEYS.items():
            add(key, lambda n=name: editor.cycle_attribute(n))
        for key, (dx, dy) in NUDGES.items():
            add(key, lambda x=dx, y=dy: editor.nudge(x, y))

    def apply_shortcuts(self) -> None:
        self.actions.apply()

    # --- opening --------------------------------------------------------------
    def choose_split(self) -> None:
        chosen = dialogs.ask_split(self)
        if chosen:
            self.open_split(*chosen)

    def choose_folder(self) -> None:
        chosen = dialogs.ask_folder(self)
        if chosen:
            self.open_folder(*chosen)

    def open_split(self, label_path: Path, images_root: Path) -> None:
        """Open a WIDER split in the worker (3226 images parse in ~0.3 s)."""
        self._reopen = (self.open_split, label_path, images_root)
        self._open(AnnotationSplit.open_wider, label_path.name, label_path, images_root)

    def open_folder(self, folder: Path, label_path: Path) -> None:
        self._reopen = (self.open_folder, folder, label_path)
        self._open(AnnotationSplit.open_folder, folder.name, folder, label_path)

    def _open(self, opener, shown: str, *args: Path) -> None:
        self.show_message(f"Opening {shown}…", False)
        self.workbench.runner.submit(opener, *args, name=f"open {shown}", on_result=self._install)

    def _install(self, split: AnnotationSplit) -> None:
        self.prelabel.clear()
        self.show_message("", False)
        self.editor.install(split)
        request, self._pending_request = self._pending_request, None
        if request is not None and split.editable:
            self.review_face(request)

    def review_face(self, request: FaceReviewRequest) -> None:
        """Show one face from another panel (e.g. the evaluation's FP/FN queue), opening its split if needed."""
        split = self.editor.split
        if split is None or split.label_path.resolve() != Path(request.label_path).resolve():
            self._pending_request = request
            self.open_split(Path(request.label_path), Path(request.images_root))
            return
        if not self.editor.focus_face(request.image_name, request.box, request.kind, request.score):
            self.show_message(f"{request.image_name} is not in {split.label_path.name}.", True)

    # --- commands -------------------------------------------------------------
    def save_now(self) -> None:
        """Ctrl+S: save into the working copy now (the source only changes through Save to source)."""
        self.editor.autosaver.save_now()

    def prelabel_current(self) -> None:
        self.prelabel.min_score = self.prelabel_min_score
        self.prelabel.mode = ACCURATE if self.accurate_box.isChecked() else FAST
        self.prelabel.run_current(selected_detector(self.model_box))

    def prelabel_split(self) -> None:
        self.prelabel.min_score = self.prelabel_min_score
        self.prelabel.mode = ACCURATE if self.accurate_box.isChecked() else FAST
        self.prelabel.run_split(selected_detector(self.model_box))

    @property
    def prelabel_min_score(self) -> float:
        return self.workbench.settings.get(Keys.ANNOTATION_SUGGEST_SCORE)

    def accept_above(self) -> None:
        count = self.editor.accept_above(self.score_box.value())
        self.suggest_label.setText(f"Accepted {count} suggestion(s) ≥ {self.score_box.value():.2f}.")

    def zoom_to_selection(self) -> None:
        rect = self.editor.canvas.selection_rect()
        if rect is not None:
            self.workbench.view.zoom_to_rect(
                rect, margin=1.0 if max(rect.width(), rect.height()) < 20 else 0.3
            )

    def choose_export(self) -> None:
        split = self.editor.split
        default = split.working.folder / f"{split.label_path.stem}.coco.json" if split else None
        path = dialogs.ask_export(self, default) if split else None
        if path:
            self.export_coco(path)

    def export_coco(self, path: Path):
        split = self.editor.split
        assert split is not None
        images = [type(im)(im.name, list(im.faces)) for im in split.images]  # a snapshot for the worker
        return self.workbench.runner.submit(
            export_coco,
            path,
            images,
            list(split.image_paths),
            name=f"export {path.name}",
            on_result=lambda p: self.workbench.status.emit(f"Exported {len(images)} images to {p}"),
        )

    def choose_import(self) -> None:
        path = dialogs.ask_import(self)
        if path:
            self.import_coco(path)

    def import_coco(self, path: Path) -> int:
        count = self.editor.import_images(import_coco(path))
        self.show_message(f"Imported labels of {count} image(s) from {path.name} (one undo step).", False)
        return count

    # --- state ----------------------------------------------------------------
    def show_message(self, text: str, error: bool) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet("color: rgb(240, 90, 80);" if error else "")
        self.banner.setVisible(bool(text))

    def _on_split_changed(self) -> None:
        split = self.editor.split
        self.recovery_bar.refresh()
        if split is None:
            self.split_label.setText(
                "No split open. Open a WIDER label file with its images root, or a folder."
            )
        else:
            state = " (read-only)" if split.read_only else ""
            self.split_label.setText(
                f"{split.label_path.name}{state}: {len(split)} images, {split.face_count()} faces"
            )
        self.back_button.setVisible(split is not None and not self.editor.owns_list)
        self.source_bar.refresh()
        self.actions.set_enabled(split is not None)
        self._update_review()
        self._update_mode()

    def _update_mode(self) -> None:
        """Canvas editing (no left-drag pan) while a split image is shown and "Edit boxes" is on."""
        split = self.editor.split
        on = self.edit_box.isChecked() and split is not None and split.editable and self.editor.current >= 0
        if on:
            self.editor.canvas.activate()
        else:
            self.editor.canvas.deactivate()

    def _on_current_changed(self) -> None:
        self._update_mode()
        self._on_selection()

    def _on_selection(self) -> None:
        self.attributes.show_faces(self.editor.selected_faces)

    def _update_review(self) -> None:
        split = self.editor.split
        if split is None:
            self.review_label.setText("")
            return
        counts = split.review_counts()
        self.review_label.setText(
            f"✓ reviewed {counts[ReviewState.REVIEWED]} · ! needs attention {counts[ReviewState.NEEDS_ATTENTION]}"
            f" · ○ unreviewed {counts[ReviewState.UNREVIEWED]}"
        )

    def shutdown(self) -> None:
        self.prelabel.cancel()
        self.editor.shutdown()
        self.actions.remove()
