"""The strip under the split's name that says where edits go: the working copy, never the source.

It names the source, says whether an earlier working copy was continued,
shows a warning banner for a read-only source (edits then go to a private
working copy in the user data dir, and "Save to source" is off) and holds the
two explicit actions: *Save to source…* and *Discard working copy…*, each
confirmed first (see core/annotate/workcopy.py).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.annotation import dialogs
from app.annotation.editor import AnnotationEditor

READ_ONLY_STYLE = "background: rgb(110, 80, 20); color: white; padding: 4px; border-radius: 3px;"


def _source_text(split) -> tuple[str, bool]:
    """The strip's text and whether it is a warning."""
    working = split.working
    name = split.label_path.name
    if not working.source_writable:
        return (
            f"Read-only source: {split.label_path} ({working.read_only_reason}). It is never written; "
            f"edits go to a working copy in {working.folder}. Use Export COCO… to take them elsewhere.",
            True,
        )
    if split.source_changed:
        return (
            f"Editing a working copy of {name} made before {name} changed on disk. Save to source would "
            "overwrite that change; Discard working copy… starts again from the file as it is now.",
            True,
        )
    resumed = " (continued from an earlier session)" if split.resumed else ""
    return (
        f"Editing a working copy of {name}{resumed}; the source is unchanged until you press Save to source.",
        False,
    )


class SourceBar(QWidget):
    """reopen() gives ``(open function, *its arguments)`` of the open split, to open its source again."""

    def __init__(
        self, editor: AnnotationEditor, reopen: Callable[[], tuple | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self.reopen = reopen
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setObjectName("annotation_source")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save to source…")
        self.save_button.setObjectName("save_to_source")
        self.save_button.clicked.connect(lambda _=False: self.save_to_source())
        self.discard_button = QPushButton("Discard working copy…")
        self.discard_button.setObjectName("discard_working_copy")
        self.discard_button.clicked.connect(lambda _=False: self.discard())
        row.addWidget(self.save_button)
        row.addWidget(self.discard_button)
        row.addStretch(1)
        layout.addLayout(row)
        editor.autosaver.status.connect(lambda _text: self.refresh())  # edits and saves change what it offers
        self.refresh()

    def refresh(self) -> None:
        split = self.editor.split
        self.setVisible(split is not None and split.error is None)
        if split is None or split.error is not None:
            return
        text, warning = _source_text(split)
        self.label.setText(text)
        self.label.setStyleSheet(READ_ONLY_STYLE if warning else "")
        writable = split.working.source_writable
        self.save_button.setEnabled(writable and split.editable)
        self.save_button.setToolTip(
            f"Overwrite {split.label_path.name} with your edits (asks first)"
            if writable
            else f"{split.label_path.name} cannot be written: {split.working.read_only_reason}"
        )
        self.discard_button.setEnabled(split.editable and (split.working.exists or split.dirty))

    def save_to_source(self) -> bool:
        split = self.editor.split
        if split is None or not dialogs.confirm_save_to_source(self, split.label_path, split.source_changed):
            return False
        written = self.editor.save_to_source()
        self.refresh()
        return written

    def discard(self) -> None:
        """Set the working copy aside (after saving pending edits into it) and open the source as it is on disk."""
        split, reopen = self.editor.split, self.reopen()
        if (
            split is None
            or reopen is None
            or not dialogs.confirm_discard_working_copy(self, split.label_path)
        ):
            return
        self.editor.discard_working_copy()
        open_again, *args = reopen
        open_again(*args)
