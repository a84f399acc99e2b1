"""Shows every workspace, then every dock, of a main window on this process's screen; prints the faults, as JSON.

Run in a subprocess (``python -m tests.app.layout_probe``) with ``QT_QPA_PLATFORM=offscreen:configfile=…``:
the offscreen screen's size is fixed when the QApplication starts, so each size needs its own process.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from itertools import combinations
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QLayout, QWidget


def _layout_widgets(layout: QLayout) -> list[QWidget]:
    """The visible widgets a layout places, including those of its nested layouts."""
    found = []
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is not None and item.widget().isVisible():
            found.append(item.widget())
        elif item.layout() is not None:
            found.extend(_layout_widgets(item.layout()))
    return found


def _scrolled(widget: QWidget) -> bool:
    """A scroll area's content: it may be larger than its viewport, that is the point."""
    viewport = widget.parentWidget()
    area = viewport.parentWidget() if viewport is not None else None
    return isinstance(area, QAbstractScrollArea) and area.viewport() is viewport


def _name(widget: QWidget) -> str:
    text = widget.text()[:30] if isinstance(widget, QLabel) else ""
    return f"{type(widget).__name__}({widget.objectName() or text})"


def widget_faults(root: QWidget) -> list[str]:
    """Children that leave their parent, siblings in a layout that overlap, wrapped text cut short."""
    faults = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        parent = widget.parentWidget()
        if widget is not root and parent is not None and not widget.isWindow() and not _scrolled(widget):
            if not parent.rect().contains(widget.geometry()):
                faults.append(f"{_name(widget)} {widget.geometry()} leaves {_name(parent)} {parent.rect()}")
        if isinstance(widget, QLabel) and widget.wordWrap() and widget.text():
            needed = widget.heightForWidth(widget.width())
            if widget.height() < needed:
                faults.append(f"{_name(widget)} is {widget.height()} px tall, its text needs {needed}")
        if widget.layout() is not None:
            for a, b in combinations(_layout_widgets(widget.layout()), 2):
                if a.geometry().intersects(b.geometry()):
                    faults.append(f"{_name(a)} {a.geometry()} overlaps {_name(b)} {b.geometry()}")
    return faults


def probe() -> dict:
    """Each workspace in turn, then every dock shown and each raised in turn; the faults of each, and
    the window against the screen. ``checked`` names what was looked at, so a probe that saw nothing fails."""
    # lazy: the window module imports the whole app, after the environment below is set
    from app.main_window import MainWindow
    from app.settings import Keys, Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings(Path(os.environ["FACESCOPE_SETTINGS"]))
    settings.set(Keys.DETECTION_AUTO, False)
    faults: list[str] = []
    checked: list[str] = []
    for layout in ("workspaces", "docks"):
        settings.set(Keys.WINDOW_LAYOUT, layout)
        window = MainWindow(settings)
        window.show()
        for dock in window.panel_docks.values():
            dock.show()
        available = window.screen().availableGeometry()
        for panel in window.panels:
            name = panel.object_name
            window.show_panel(name)
            for _ in range(5):
                app.processEvents()
            frame = window.frameGeometry()
            if not available.contains(frame):
                faults.append(f"{layout}, {name} in front: the window {frame} leaves the screen {available}")
            shown = window.panel_docks[name] if layout == "docks" else window
            faults.extend(f"{layout}, {name}: {fault}" for fault in widget_faults(shown))
            checked.append(f"{layout}/{name}")
        window.close()
    return {"available": _rect(available), "checked": checked, "faults": faults}


def _rect(rect: QRect) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FACESCOPE_SETTINGS", str(Path(tmp) / "facescope.ini"))
        os.environ.setdefault("FACESCOPE_DATA_DIR", str(Path(tmp) / "data"))
        sys.stdout.write(json.dumps(probe()) + "\n")
