"""The annotation editor's keyboard commands, built from app/settings.py's shortcut table.

Keys that other widgets need (arrows, Tab, Return, Backspace, Delete, Ctrl+A)
only act while the canvas has focus; the others act anywhere in the window.
Actions are enabled only while a split is open, so they never take keys from
the rest of the workbench otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.settings import SHORTCUT_BY_KEY, Settings

CANVAS_ONLY = {
    "ann_delete",
    "ann_select_all",
    "ann_next_box",
    "ann_accept",
    "ann_reject",
    "ann_accept_above",
    "ann_nudge_left",
    "ann_nudge_right",
    "ann_nudge_up",
    "ann_nudge_down",
    "ann_nudge_left_10",
    "ann_nudge_right_10",
    "ann_nudge_up_10",
    "ann_nudge_down_10",
}

NUDGES = {
    "ann_nudge_left": (-1, 0),
    "ann_nudge_right": (1, 0),
    "ann_nudge_up": (0, -1),
    "ann_nudge_down": (0, 1),
    "ann_nudge_left_10": (-10, 0),
    "ann_nudge_right_10": (10, 0),
    "ann_nudge_up_10": (0, -10),
    "ann_nudge_down_10": (0, 10),
}
ATTRIBUTE_KEYS = {
    "ann_cycle_blur": "blur",
    "ann_cycle_occlusion": "occlusion",
    "ann_toggle_expression": "expression",
    "ann_toggle_illumination": "illumination",
    "ann_toggle_invalid": "invalid",
    "ann_toggle_pose": "pose",
}


class AnnotationActions(QObject):
    """Owns one QAction per ``ann_*`` shortcut; :meth:`apply` re-reads remapped keys."""

    def __init__(self, settings: Settings, canvas_widget: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.canvas_widget = canvas_widget
        self.actions: dict[str, QAction] = {}

    def add(self, key: str, slot: Callable[[], object], checkable: bool = False) -> QAction:
        spec = SHORTCUT_BY_KEY[key]
        action = QAction(spec.text.removeprefix("Annotation: "), self.canvas_widget)
        action.setObjectName(f"action_{key}")
        action.setCheckable(checkable)
        if key in CANVAS_ONLY:
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        else:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False: slot())
        self.canvas_widget.addAction(action)  # works wherever the canvas shows: the boxes are edited there
        self.actions[key] = action
        action.setShortcuts(self.settings.shortcut_sequences(key))
        return action

    def apply(self) -> None:
        for key, action in self.actions.items():
            action.setShortcuts(self.settings.shortcut_sequences(key))

    def set_enabled(self, enabled: bool) -> None:
        for action in self.actions.values():
            action.setEnabled(enabled)

    def trigger(self, key: str) -> None:
        self.actions[key].trigger()

    def remove(self) -> None:
        for action in self.actions.values():
            self.canvas_widget.removeAction(action)
        self.actions.clear()
