"""Keep the main window inside the screen's available area (never taller or wider than it)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


def fitted_rect(frame: QRect, available: QRect) -> QRect:
    """``frame`` shrunk to at most ``available``'s size, then moved so that it lies inside it."""
    width = min(frame.width(), available.width())
    height = min(frame.height(), available.height())
    left = min(max(frame.left(), available.left()), available.right() - width + 1)
    top = min(max(frame.top(), available.top()), available.bottom() - height + 1)
    return QRect(left, top, width, height)


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move a top-level window so that its frame lies inside its screen's available geometry.

    A maximized or full-screen window is left alone: the window manager already fits it.
    """
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    frame = window.frameGeometry()
    target = fitted_rect(frame, screen.availableGeometry())
    if target == frame:
        return
    # resize() sets the client area, move() the frame's corner: keep the title bar and borders inside too
    window.resize(
        target.width() - (frame.width() - window.width()),
        target.height() - (frame.height() - window.height()),
    )
    window.move(target.topLeft())
