"""GUI fixtures: a main window in tmp_path that must close cleanly."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.settings import Keys, Settings


@pytest.fixture
def settings(tmp_path):
    s = Settings(tmp_path / "settings" / "facescope.ini")
    # Foundation tests do not need models: detection runs only when a test asks.
    s.set(Keys.DETECTION_AUTO, False)
    return s


@pytest.fixture
def window(qtbot, settings):
    """A shown main window; on teardown it must close with no job left and no stray window."""
    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert win.jobs.running_count() == 0, "a job was still running after the window closed"
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in before]
    assert not leaked, f"top-level widgets left open: {[type(w).__name__ for w in leaked]}"
