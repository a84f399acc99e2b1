"""One full-window workspace per task, switched from a mode bar on the window's left edge.

Like Qt Creator's modes: a vertical bar of large checkable buttons (icon over
text), one per panel, Ctrl+1 … Ctrl+8 and the View menu switching too. A
workspace is one splitter showing the panel with the shell parts it works on
(``Panel.workspace_parts``): the file list and the shared canvas for the image
tasks, the canvas alone for Live, nothing for Verify, Unlock and Train, whose
views are their own. A panel sits beside the canvas, or below it where it is a
wide row of columns (``Panel.area`` at the bottom: Evaluate, Attributes). The
canvas and file list are shared, so they stay in the one splitter and are
shown or hidden, never moved (a widget has one parent).

Leaving a workspace keeps what its panel holds (switching back to compare must
not recompute an embedding); closing it (View ▸ Close workspace) releases it,
as closing a dock does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QScrollArea, QSplitter, QStackedWidget, QToolBar, QToolButton

from app.panel_base import Panel, in_scroll_area
from app.screen_fit import fit_to_screen
from app.settings import Keys

if TYPE_CHECKING:
    from app.main_window import MainWindow

FILE_LIST_WIDTH = 220
PANEL_MIN_WIDTH = 380
PANEL_MAX_SHARE = 0.45  # of the width beside the canvas: the image stays the larger part
MODE_ICON_SIZE = QSize(28, 28)


class ModeBar(QToolBar):
    """The vertical bar of workspace buttons, all as wide as the widest, the current one checked."""

    def __init__(self, parent=None) -> None:
        super().__init__("Modes", parent)
        self.setObjectName("mode_bar")
        self.setOrientation(Qt.Orientation.Vertical)
        self.setMovable(False)
        self.setFloatable(False)
        self.setIconSize(MODE_ICON_SIZE)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        self.toggleViewAction().setVisible(False)  # the bar is how modes are reached: not to be hidden
        self.group = QActionGroup(self)
        self.group.setExclusive(True)

    def add_mode(self, action: QAction) -> QToolButton:
        self.group.addAction(action)
        self.addAction(action)
        button = self.widgetForAction(action)
        button.setObjectName(f"mode_button_{action.data()}")
        return button

    def even_out(self) -> None:
        """Every button as wide as the widest, so the bar reads as one column."""
        buttons = [self.widgetForAction(a) for a in self.actions()]
        width = max((b.sizeHint().width() for b in buttons), default=0)
        for button in buttons:
            button.setFixedWidth(width)


class Workspaces:
    """Builds the mode bar and the workspace splitter into ``window``; switches, closes, remembers."""

    kind = "workspaces"

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.panels: dict[str, Panel] = {p.object_name: p for p in window.panels}
        self.splitter = QSplitter(Qt.Orientation.Horizontal)  # the file list | the work area
        self.splitter.setObjectName("workspace_splitter")
        self.splitter.setChildrenCollapsible(False)
        self.work_area = QSplitter()  # the canvas beside or above the panel
        self.work_area.setObjectName("workspace_work_area")
        self.work_area.setChildrenCollapsible(False)
        self.stack = QStackedWidget()
        self.stack.setObjectName("workspace_stack")
        self.pages: dict[str, QScrollArea] = {}
        for panel in window.panels:
            self.pages[panel.object_name] = in_scroll_area(panel)
            self.stack.addWidget(self.pages[panel.object_name])
            window.panel_activity.add(panel)
        self.work_area.addWidget(window.view)
        self.work_area.addWidget(self.stack)
        self.work_area.setStretchFactor(0, 1)  # the canvas takes what the window gains
        self.splitter.addWidget(window.file_view)
        self.splitter.addWidget(self.work_area)
        self.splitter.setStretchFactor(1, 1)
        window.setCentralWidget(self.splitter)
        self.bar = ModeBar(window)
        window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, self.bar)
        self.actions: dict[str, QAction] = {}
        style = window.style()
        for number, panel in enumerate(window.panels, start=1):
            action = QAction(style.standardIcon(panel.mode_icon), panel.mode, window)
            action.setObjectName(f"action_mode_{panel.object_name}")
            action.setData(panel.object_name)
            action.setCheckable(True)
            # the tooltip names the key the user has mapped (the shortcuts dialog may change it)
            action.changed.connect(
                lambda a=action, title=panel.title: _name_shortcut(a, f"{title} workspace")
            )
            action.triggered.connect(lambda _=False, name=panel.object_name: self.switch(name))
            window.addAction(action)  # its shortcut works whatever has the focus
            window.actions[f"mode_{number}"] = action  # remappable like every command (settings/shortcuts)
            self.bar.add_mode(action)
            self.actions[panel.object_name] = action
        self.bar.even_out()
        self.close_action = QAction("Close workspace (free its results)", window)
        self.close_action.setObjectName("action_close_workspace")
        self.close_action.triggered.connect(lambda: self.close_panel(self.current))
        self._sizes: dict[str, tuple[list[int], list[int]]] = {}
        self._history: list[str] = []
        self.current = ""
        saved = window.settings.get(Keys.WORKSPACE)
        self.switch(saved if saved in self.panels else window.panels[0].object_name)

    # --- switching ------------------------------------------------------------
    def switch(self, name: str) -> None:
        """Show ``name``'s workspace: its panel, the parts it works on, its layer on top."""
        panel = self.panels[name]
        if name == self.current:  # its button again: keep the splitters where the user put them
            self.actions[name].setChecked(True)
            self.window.panel_activity.opened(panel)
            return
        if self.current:
            self._sizes[self.current] = (self.splitter.sizes(), self.work_area.sizes())
        self.stack.setCurrentWidget(self.pages[name])
        self.window.file_view.setVisible("files" in panel.workspace_parts)
        self.window.view.setVisible("canvas" in panel.workspace_parts)
        below = panel.area == Qt.DockWidgetArea.BottomDockWidgetArea
        self.work_area.setOrientation(Qt.Orientation.Vertical if below else Qt.Orientation.Horizontal)
        outer, inner = self._sizes.get(name) or self._default_sizes(panel)
        self.splitter.setSizes(outer)
        self.work_area.setSizes(inner)
        self.actions[name].setChecked(True)
        self.window.setWindowTitle(f"FaceScope — {panel.mode}")
        if name in self._history:
            self._history.remove(name)
        self._history.append(name)
        self.current = name
        self.window.settings.set(Keys.WORKSPACE, name)
        self.window.panel_activity.opened(panel)
        QTimer.singleShot(0, self.window, lambda: fit_to_screen(self.window))

    def _default_sizes(self, panel: Panel) -> tuple[list[int], list[int]]:
        """The file list at its width; the panel at its wanted width beside the canvas, or its
        ``below_share`` of the height below it."""
        total = max(self.splitter.width(), self.window.width() - self.bar.width())
        files = FILE_LIST_WIDTH if "files" in panel.workspace_parts else 0
        work = total - files
        if "canvas" not in panel.workspace_parts:
            return [files, work], [0, work]
        if panel.area == Qt.DockWidgetArea.BottomDockWidgetArea:
            height = max(self.work_area.height(), self.window.height() // 2)  # not yet laid out: a guess
            below = int(height * panel.below_share)
            return [files, work], [height - below, below]
        wanted = max(PANEL_MIN_WIDTH, self.pages[panel.object_name].sizeHint().width())
        width = min(wanted, int(work * PANEL_MAX_SHARE))
        return [files, work], [work - width, width]

    # --- the window's calls -----------------------------------------------------
    def fill_view_menu(self, menu: QMenu) -> None:
        for action in self.actions.values():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.close_action)

    def show_panel(self, name: str) -> None:
        self.switch(name)

    def close_panel(self, name: str) -> None:
        """Release ``name``'s panel and hide its layer; closing the workspace in front goes back to the last."""
        if name == self.current:
            earlier = [n for n in self._history if n != name]
            self.switch(earlier[-1] if earlier else next(n for n in self.panels if n != name))
        if name in self._history:
            self._history.remove(name)
        self.window.panel_activity.closed(self.panels[name])

    def set_file_list_width(self, width: int) -> None:
        files, work = self.splitter.sizes()
        self.splitter.setSizes([width, work + files - width])

    def save(self) -> None:
        self.window.settings.set(Keys.WORKSPACE, self.current)


def _name_shortcut(action: QAction, text: str) -> None:
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    tip = f"{text} ({keys})" if keys else text
    if action.toolTip() != tip:  # setting it emits changed again: stop there
        action.setToolTip(tip)


def fill_layout_menu(window: MainWindow, menu: QMenu) -> None:
    """View ▸ Layout: workspaces or docks; the choice is stored and takes effect at the next start."""
    group = QActionGroup(menu)
    for kind, text in ((Workspaces.kind, "Workspaces (mode bar)"), ("docks", "Docks")):
        action = menu.addAction(text)
        action.setObjectName(f"action_layout_{kind}")
        action.setCheckable(True)
        action.setChecked(kind == window.layout_manager.kind)
        action.triggered.connect(lambda _=False, k=kind: _choose_layout(window, k))
        group.addAction(action)


def _choose_layout(window: MainWindow, kind: str) -> None:
    window.settings.set(Keys.WINDOW_LAYOUT, kind)
    if kind != window.layout_manager.kind:
        window.statusBar().showMessage("The new layout takes effect when FaceScope starts again.", 15000)
