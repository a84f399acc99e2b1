"""Help ▸ Keyboard shortcuts: lists every command and lets the user remap it."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.settings import SHORTCUTS, Settings


class ShortcutsDialog(QDialog):
    """A table of command → key sequence; edits are saved on OK and applied at once."""

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(460, 420)
        self._settings = settings
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.setHorizontalHeaderLabels(["Command", "Shortcut"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.editors: dict[str, QKeySequenceEdit] = {}
        for row, spec in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(spec.text.rstrip("…")))
            editor = QKeySequenceEdit(QKeySequence(settings.shortcut(spec.key)))
            self.editors[spec.key] = editor
            self.table.setCellWidget(row, 1, editor)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.restore_defaults)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Click a shortcut and press the new key combination."))
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def restore_defaults(self) -> None:
        for spec in SHORTCUTS:
            self.editors[spec.key].setKeySequence(QKeySequence(spec.default))

    def accept(self) -> None:
        for spec in SHORTCUTS:
            sequence = self.editors[spec.key].keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            self._settings.set_shortcut(spec.key, sequence)
        self._settings.sync()
        super().accept()
