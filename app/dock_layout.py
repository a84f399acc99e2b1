"""The dock layout: the canvas in the middle, the file list and every panel as docks around it.

The older of the two layouts (View ▸ Layout ▸ Docks); the default is one
workspace per task (:mod:`app.workspaces`). Both give the main window the same
calls: show a panel, close one, fill the View menu, save what to restore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMenu

from app.panel_base import in_scroll_area
from app.screen_fit import fit_to_screen

if TYPE_CHECKING:
    from app.main_window import MainWindow


class DockLayout:
    """Puts the window's canvas, file list and panels into docks; owns nothing else."""

    kind = "docks"

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        window.setCentralWidget(window.view)
        dock = QDockWidget("Files", window)
        dock.setObjectName("dock_files")
        dock.setWidget(window.file_view)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.file_dock = dock
        self.panel_docks: dict[str, QDockWidget] = {}
        for panel in window.panels:
            dock = QDockWidget(panel.title, window)
            dock.setObjectName(f"dock_{panel.object_name}")
            dock.setWidget(in_scroll_area(panel))
            dock.visibilityChanged.connect(self._fit_after_dock_change)
            same_area = [
                self.panel_docks[p.object_name]
                for p in window.panels
                if p.object_name in self.panel_docks and p.area == panel.area
            ]
            window.addDockWidget(panel.area, dock)
            if same_area:  # panels sharing a side become tabs rather than squeezing each other
                window.tabifyDockWidget(same_area[0], dock)
            dock.setVisible(panel.start_visible)
            window.panel_activity.watch(panel, dock)
            self.panel_docks[panel.object_name] = dock
        for panel in window.panels:  # the first panel of each side is the tab in front
            if panel.start_visible:
                self.panel_docks[panel.object_name].raise_()
                break

    def _fit_after_dock_change(self, visible: bool) -> None:
        if visible:  # after the layout has taken the new dock in
            QTimer.singleShot(0, self.window, lambda: fit_to_screen(self.window))

    def fill_view_menu(self, menu: QMenu) -> None:
        menu.addAction(self.file_dock.toggleViewAction())
        for dock in self.panel_docks.values():
            menu.addAction(dock.toggleViewAction())

    def show_panel(self, name: str) -> None:
        dock = self.panel_docks[name]
        dock.show()
        dock.raise_()

    def close_panel(self, name: str) -> None:
        self.panel_docks[name].close()  # its toggle action turns off: the panel is released

    def set_file_list_width(self, width: int) -> None:
        self.window.resizeDocks([self.file_dock], [width], Qt.Orientation.Horizontal)

    def save(self) -> None:
        """Nothing beyond the window's own state (saveState holds the docks)."""
