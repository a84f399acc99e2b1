"""The window fits the screen and every workspace's (and dock's) widgets fit, at common laptop and desktop sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect

from app.main_window import MainWindow
from app.panels import PANELS
from app.screen_fit import fitted_rect
from app.settings import Keys
from tests.app.layout_probe import widget_faults

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (QRect(0, 0, 1400, 983), QRect(0, 0, 1366, 768)),  # larger than the screen: shrunk
        (QRect(500, 400, 800, 600), QRect(500, 168, 800, 600)),  # hanging off the bottom: moved up
        (QRect(-50, -20, 800, 600), QRect(0, 0, 800, 600)),  # off the top left: moved in
        (QRect(10, 10, 800, 600), QRect(10, 10, 800, 600)),  # inside: unchanged
    ],
)
def test_fitted_rect_shrinks_then_moves_inside(frame, expected):
    assert fitted_rect(frame, QRect(0, 0, 1366, 768)) == expected


def test_fitted_rect_respects_a_panel_at_the_top():
    available = QRect(0, 32, 1920, 1048)  # a desktop bar above
    assert fitted_rect(QRect(0, 0, 1400, 1280), available) == QRect(0, 32, 1400, 1048)


def _inside_screen(window) -> bool:
    return window.screen().availableGeometry().contains(window.frameGeometry())


def test_test_screen_is_the_fixed_desktop(window):
    assert window.screen().availableGeometry() == QRect(0, 0, 1920, 1080)
    assert window.size().width() == 1400 and window.size().height() == 900  # the default fits: unchanged


def test_an_oversized_window_is_fitted_when_shown(qtbot, settings):
    big = MainWindow(settings)
    qtbot.addWidget(big)
    big.resize(2600, 1700)
    big.show()
    qtbot.waitExposed(big)
    assert _inside_screen(big)
    big.close()


def test_every_workspace_keeps_the_window_on_screen(window, qtbot):
    for panel in window.panels:
        window.show_panel(panel.object_name)
        qtbot.waitUntil(panel.isVisible)
        qtbot.waitUntil(lambda: _inside_screen(window))  # the fit runs queued after the switch
        assert widget_faults(window) == []


def test_showing_every_dock_keeps_the_window_on_screen(qtbot, settings):
    settings.set(Keys.WINDOW_LAYOUT, "docks")
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    for dock in window.panel_docks.values():
        dock.show()
        dock.raise_()
        qtbot.waitUntil(lambda d=dock: d.isVisible())
        qtbot.waitUntil(lambda: _inside_screen(window))  # the fit runs queued after the dock change
        assert widget_faults(dock) == []
    window.close()


def test_saved_geometry_from_a_larger_screen_is_fitted(qtbot, settings):
    big = MainWindow(settings)
    qtbot.addWidget(big)
    big.setGeometry(0, 0, 2400, 1500)
    big.close()  # saves the geometry
    restored = MainWindow(settings)
    qtbot.addWidget(restored)
    restored.show()
    qtbot.waitExposed(restored)
    assert _inside_screen(restored)
    restored.close()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_every_panel_fits_the_window_at(size, tmp_path):
    width, height = size
    screens = {
        "screens": [{"name": "probe", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}]
    }
    config = tmp_path / "screen.json"
    config.write_text(json.dumps(screens))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "OMP_NUM_THREADS": "1",
        "FACESCOPE_SETTINGS": str(tmp_path / "probe.ini"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.app.layout_probe"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["available"] == [0, 0, width, height]
    names = [p.object_name for p in PANELS]
    assert report["checked"] == [f"{layout}/{name}" for layout in ("workspaces", "docks") for name in names]
    assert report["faults"] == []


def test_breakdown_headers_show_their_whole_words(window, qtbot):
    window.show_panel("evaluation")
    table = window.panel("evaluation").table
    qtbot.waitUntil(table.isVisible)
    header = table.horizontalHeader()
    for col in range(table.columnCount()):
        item = table.horizontalHeaderItem(col)
        needed = header.fontMetrics().horizontalAdvance(item.text())
        assert header.sectionSize(col) >= needed, f"header {item.text()!r} elided"
        assert item.toolTip()
