"""The attribute editor: the six WIDER attributes of the selected box(es).

One row of exclusive buttons per attribute. With several boxes selected a row
shows the shared value, or no button checked when the values differ (mixed);
clicking a value sets it on every selected box (bulk edit, one undo step).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from core.wider.attributes import ATTRIBUTES
from core.wider.labels import FaceBox


class AttributeEditor(QGroupBox):
    """attribute_chosen(str name, int code): the user picked a value for the selection."""

    attribute_chosen = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Attributes", parent)
        self.setObjectName("attribute_editor")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(2)
        self.buttons: dict[str, list[QPushButton]] = {}
        for row, (name, enum) in enumerate(ATTRIBUTES.items()):
            grid.addWidget(QLabel(name), row, 0)
            buttons = []
            for column, member in enumerate(enum):
                button = QPushButton(member.name.lower())
                button.setCheckable(True)
                button.setObjectName(f"attr_{name}_{int(member)}")
                button.setFocusPolicy(button.focusPolicy().NoFocus)  # keys stay with the canvas
                button.clicked.connect(lambda _=False, n=name, c=int(member): self._choose(n, c))
                grid.addWidget(button, row, 1 + column)
                buttons.append(button)
            self.buttons[name] = buttons
        self.summary = QLabel()
        grid.addWidget(self.summary, len(ATTRIBUTES), 0, 1, 4)
        self.show_faces([])

    def _choose(self, name: str, code: int) -> None:
        self.attribute_chosen.emit(name, code)

    def show_faces(self, faces: list[FaceBox]) -> None:
        """Reflect the selection: shared values checked, mixed rows unchecked, disabled when empty."""
        self.setEnabled(bool(faces))
        for name, buttons in self.buttons.items():
            codes = {int(getattr(face, name)) for face in faces}
            for code, button in enumerate(buttons):
                button.setChecked(len(codes) == 1 and code in codes)
        if not faces:
            self.summary.setText("Select a box to edit its attributes.")
        elif len(faces) == 1:
            f = faces[0]
            self.summary.setText(f"x {f.x:g}  y {f.y:g}  w {f.w:g}  h {f.h:g}")
        else:
            self.summary.setText(f"{len(faces)} boxes selected (bulk edit)")

    def checked_code(self, name: str) -> int | None:
        checked = [code for code, button in enumerate(self.buttons[name]) if button.isChecked()]
        return checked[0] if len(checked) == 1 else None
