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

from app.settings import SHORTCUTS, Settings, key_sequences, shortcut_text

SHORTCUT_COLUMN, ALTERNATIVE_COLUMN = 1, 2


class ShortcutsDialog(QDialog):
    """A table of command → key sequence and an optional alternative; saved on OK, applied at once."""

    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 420)
        self._settings = settings
        self.table = QTableWidget(len(SHORTCUTS), 3)
        self.table.setHorizontalHeaderLabels(["Command", "Shortcut", "Alternative"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.editors: dict[str, QKeySequenceEdit] = {}
        self.alternative_editors: dict[str, QKeySequenceEdit] = {}
        for row, spec in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(spec.text.rstrip("…")))
            self.editors[spec.key] = QKeySequenceEdit()
            self.alternative_editors[spec.key] = QKeySequenceEdit()
            self.table.setCellWidget(row, SHORTCUT_COLUMN, self.editors[spec.key])
            self.table.setCellWidget(row, ALTERNATIVE_COLUMN, self.alternative_editors[spec.key])
            self._show(spec.key, settings.shortcut(spec.key))
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

    def _show(self, key: str, text: str) -> None:
        """Put the stored ``text``'s first two key sequences in ``key``'s row."""
        sequences = key_sequences(text) + [QKeySequence(), QKeySequence()]
        self.editors[key].setKeySequence(sequences[0])
        self.alternative_editors[key].setKeySequence(sequences[1])

    def restore_defaults(self) -> None:
        for spec in SHORTCUTS:
            self._show(spec.key, spec.default)

    def accept(self) -> None:
        for spec in SHORTCUTS:
            sequences = [
                self.editors[spec.key].keySequence(),
                self.alternative_editors[spec.key].keySequence(),
            ]
            self._settings.set_shortcut(spec.key, shortcut_text(sequences))
        self._settings.sync()
        super().accept()
