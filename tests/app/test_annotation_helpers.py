"""Helpers (no tests) for the annotation editor's GUI tests: open a split, drive the mouse in image pixels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.annotation.panel import AnnotationPanel
from app.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def panel_of(window: MainWindow) -> AnnotationPanel:
    panel = window.panel("annotation")
    assert isinstance(panel, AnnotationPanel)
    return panel


def wait_index(qtbot, panel: AnnotationPanel, index: int) -> None:
    qtbot.waitUntil(lambda: panel.editor.current == index, timeout=5000)


def open_split(qtbot, window: MainWindow, label_path: Path, images_root: Path) -> AnnotationPanel:
    panel = panel_of(window)
    panel.editor.autosaver._timer.setInterval(60_000)  # tests save explicitly unless they test autosave
    panel.open_split(label_path, images_root)
    qtbot.waitUntil(lambda: panel.editor.split is not None, timeout=5000)
    wait_index(qtbot, panel, 0)
    return panel


def screen(window: MainWindow, x: float, y: float):
    return window.view.mapFromScene(QPointF(x, y))


def click(window: MainWindow, x: float, y: float, modifier=NO_MOD) -> None:
    QTest.mouseClick(window.view.viewport(), LEFT, modifier, screen(window, x, y))


def drag(
    window: MainWindow, start: tuple[float, float], end: tuple[float, float], steps: int = 12, modifier=NO_MOD
):
    """Press at ``start``, move in ``steps`` (a real drag sends many moves), release at ``end`` (image pixels)."""
    viewport = window.view.viewport()
    QTest.mousePress(viewport, LEFT, modifier, screen(window, *start))
    for k in range(1, steps + 1):
        t = k / steps
        x = start[0] + (end[0] - start[0]) * t
        y = start[1] + (end[1] - start[1]) * t
        QTest.mouseMove(viewport, screen(window, x, y))
    QTest.mouseRelease(viewport, LEFT, modifier, screen(window, *end))


def rows(panel: AnnotationPanel, index: int | None = None) -> list[list]:
    from core.annotate.faces import face_to_row

    split = panel.editor.split
    assert split is not None
    return [face_to_row(f) for f in split.faces(panel.editor.current if index is None else index)]
