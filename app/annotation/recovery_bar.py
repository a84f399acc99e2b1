"""The buttons that settle what the last session left: unsaved edits to restore or discard, or a journal to set aside.

They show only while the split waits on that decision (it cannot be edited
until then). A journal that cannot be trusted is never replayed: "Set aside
the journal" renames it ``<journal>.corrupt-<time>`` (kept, never deleted)
and editing continues from the saved file.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.annotation.editor import AnnotationEditor


def _button(text: str, slot, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(lambda _=False: slot())
    return button


class RecoveryBar(QWidget):
    """changed: a decision was taken (the split's state and the panel's texts change)."""

    changed = Signal()

    def __init__(self, editor: AnnotationEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.restore_button = _button("Restore unsaved edits", self.restore, "restore_edits")
        self.discard_button = _button("Discard them", self.discard, "discard_edits")
        self.set_aside_button = _button("Set aside the journal", self.set_journal_aside, "set_journal_aside")
        for button in (self.restore_button, self.discard_button, self.set_aside_button):
            row.addWidget(button)
        self.refresh()

    def refresh(self) -> None:
        split = self.editor.split
        pending = split is not None and split.recovery is not None
        untrusted = split is not None and split.journal_problem is not None
        self.restore_button.setVisible(pending)
        self.discard_button.setVisible(pending)
        self.set_aside_button.setVisible(untrusted)
        self.setVisible(pending or untrusted)

    def restore(self) -> None:
        self.editor.restore_recovery()
        self.changed.emit()

    def discard(self) -> None:
        self.editor.discard_recovery()
        self.changed.emit()

    def set_journal_aside(self) -> None:
        self.editor.set_journal_aside()
        self.changed.emit()
