"""One full-window workspace per task, switched from the mode bar, its shortcuts and the View menu."""

from __future__ import annotations

import gc
import weakref
from collections import Counter

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolBar

from app.main_window import MainWindow
from app.settings import SHORTCUTS, Keys
from tests.app.test_attributes_panel import _synthetic_embedding

MODES = ["Detect", "Annotate", "Evaluate", "Verify", "Attributes", "Live", "Unlock", "Train"]
NAMES = ["detection", "annotation", "evaluation", "verification", "attributes", "live", "unlock", "training"]


def _mode_bar(window) -> QToolBar:
    return window.findChild(QToolBar, "mode_bar")


def _view_menu(window) -> QMenu:
    return next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")


def _in_front(window, name: str) -> bool:
    """Everything that tells the user where they are agrees on ``name``."""
    workspaces = window.layout_manager
    panel = window.panel(name)
    return (
        workspaces.current == name
        and workspaces.actions[name].isChecked()
        and window.windowTitle() == f"FaceScope — {panel.mode}"
        and panel.isVisible()
        and window.view.layers.active == name
    )


def test_the_mode_bar_holds_one_large_button_per_task_on_the_left_edge(window):
    bar = _mode_bar(window)
    assert window.toolBarArea(bar) == Qt.ToolBarArea.LeftToolBarArea
    assert bar.orientation() == Qt.Orientation.Vertical
    assert [a.text() for a in bar.actions()] == MODES
    assert bar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextUnderIcon
    buttons = [bar.widgetForAction(a) for a in bar.actions()]
    assert all(not a.icon().isNull() and a.isCheckable() for a in bar.actions())
    assert len({b.width() for b in buttons}) == 1  # one column of equal buttons
    assert _in_front(window, "detection")  # the first start opens Detect
    assert [a.isChecked() for a in bar.actions()].count(True) == 1
    assert bar.actions()[0].toolTip() == "Detection workspace (Ctrl+1)"


def test_ctrl_number_switches_to_each_workspace(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    for number, name in reversed(list(enumerate(NAMES, start=1))):
        qtbot.keyClick(window.view, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda n=name: _in_front(window, n))
        assert [w.isVisible() for w in window.layout_manager.pages.values()].count(True) == 1


def test_the_view_menu_lists_the_workspaces_and_switches_too(qtbot, window):
    menu_actions = {a.text(): a for a in _view_menu(window).actions()}
    assert all(mode in menu_actions for mode in MODES)
    menu_actions["Train"].trigger()
    assert _in_front(window, "training")
    menu_actions["Annotate"].trigger()
    assert _in_front(window, "annotation")


def test_each_workspace_shows_what_its_task_works_on(qtbot, window):
    view, files, stack = window.view, window.file_view, window.layout_manager.stack
    window.show_panel("detection")  # image tasks: files, canvas, the panel beside it
    qtbot.waitUntil(lambda: view.isVisible() and files.isVisible())
    assert stack.geometry().left() >= view.geometry().right()
    window.show_panel("evaluation")  # a wide row of columns: below the canvas
    qtbot.waitUntil(
        lambda: (
            stack.mapTo(window, stack.rect().topLeft()).y() > view.mapTo(window, view.rect().topLeft()).y()
        )
    )
    assert view.isVisible() and files.isVisible()
    window.show_panel("live")  # video on the canvas; no file list
    qtbot.waitUntil(lambda: not files.isVisible())
    assert view.isVisible()
    for name in ("verification", "unlock", "training"):  # views of their own: the whole window
        window.show_panel(name)
        qtbot.waitUntil(lambda: not view.isVisible() and not files.isVisible())
        splitter = window.layout_manager.splitter
        assert stack.width() >= splitter.width() - 2 * splitter.handleWidth()  # at most two handles beside it


def test_leaving_a_workspace_keeps_its_results_and_closing_it_releases_them(qtbot, window, tmp_path):
    window.show_panel("detection")
    window.show_panel("attributes")
    panel = window.panel("attributes")
    data = _synthetic_embedding(tmp_path, n=100)
    panel.show_embedding(data)
    data_ref = weakref.ref(data)
    del data
    window.show_panel("training")  # away and back: the embedding is still there
    window.show_panel("attributes")
    gc.collect()
    assert data_ref() is not None and panel.embedding.data is not None
    window.layout_manager.close_action.trigger()  # View ▸ Close workspace
    gc.collect()
    assert data_ref() is None and panel.embedding.data is None
    assert _in_front(window, "training")  # back to the workspace used before
    assert window.view.layers.get("attributes") is None or window.view.layers.get("attributes").hidden


def test_the_workspace_shown_last_opens_on_the_next_start(qtbot, settings):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show_panel("unlock")
    first.close()
    assert settings.get(Keys.WORKSPACE) == "unlock"
    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    assert _in_front(again, "unlock")
    again.close()


def test_the_dock_layout_is_still_one_menu_choice_away(qtbot, window, settings):
    layouts = next(a.menu() for a in _view_menu(window).actions() if a.text() == "&Layout")
    docks = next(a for a in layouts.actions() if a.objectName() == "action_layout_docks")
    docks.trigger()
    assert settings.get(Keys.WINDOW_LAYOUT) == "docks"
    assert "next" in window.statusBar().currentMessage() or "again" in window.statusBar().currentMessage()
    docked = MainWindow(settings)
    qtbot.addWidget(docked)
    docked.show()
    assert _mode_bar(docked) is None and sorted(docked.panel_docks) == sorted(NAMES)
    assert docked.windowTitle() == "FaceScope"
    docked.show_panel("evaluation")
    qtbot.waitUntil(lambda: docked.view.layers.active == "evaluation")
    docked.close_panel("evaluation")
    assert docked.panel_docks["evaluation"].isHidden()
    docked.close()


def test_no_two_commands_share_a_default_key():
    keys = Counter(seq for spec in SHORTCUTS for seq in spec.default.split("; "))
    assert [key for key, n in keys.items() if n > 1] == []
    assert [s.default for s in SHORTCUTS if s.key.startswith("mode_")] == [f"Ctrl+{i}" for i in range(1, 9)]


def test_splitters_keep_where_the_user_put_them_per_workspace(qtbot, window):
    splitter = window.layout_manager.splitter
    window.show_panel("detection")
    window.layout_manager.set_file_list_width(150)
    qtbot.waitUntil(lambda: splitter.sizes()[0] == 150)
    window.layout_manager.actions["detection"].trigger()  # the checked button again changes nothing
    assert splitter.sizes()[0] == 150
    window.show_panel("annotation")
    qtbot.waitUntil(lambda: splitter.sizes()[0] != 150)  # a workspace of its own
    window.show_panel("detection")
    qtbot.waitUntil(lambda: splitter.sizes()[0] == 150)
