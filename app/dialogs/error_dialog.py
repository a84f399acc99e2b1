"""A non-modal error dialog that collects errors instead of stacking popups.

Whether an error shows its traceback follows from its type (:func:`shown_details`).
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from core.errors import UserError


def shown_details(exc: object, traceback_text: str) -> str:
    """The traceback to show under an error: none for a :class:`UserError`.

    A user error's message already says what to fix; its traceback would only
    suggest a bug. Anything else keeps the traceback for the bug report.
    """
    return "" if isinstance(exc, UserError) else traceback_text


class ErrorDialog(QDialog):
    """Shows the latest error on top and keeps earlier ones (with tracebacks) below.

    Non-modal: the workbench stays usable while it is open. Reused for every
    error, so a burst of failures never opens a burst of windows.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("FaceScope — errors")
        self.setModal(False)
        self.resize(640, 360)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.count = 0

    def add_error(self, title: str, message: str, details: str = "") -> None:
        self.count += 1
        self.summary.setText(f"<b>{title}</b><br>{message}")
        block = f"[{self.count}] {title}: {message}\n{details}".rstrip()
        self.details.appendPlainText(block + "\n")
        self.show()
        self.raise_()
