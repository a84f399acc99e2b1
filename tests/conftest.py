"""Shared fixtures: isolated settings/data dirs, the ../shared skip rule, GUI windows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.paths import SHARED_DIR

# GUI tests see one fixed screen, a 1920×1080 desktop, so that the window (fitted to the screen) has the same
# size on every machine; tests of other screen sizes start their own process.
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = (
        f"offscreen:configfile={Path(__file__).with_name('offscreen_screen.json')}"
    )
# As main.py does for the app: idle OpenMP threads sleep (workers share the cores with the GUI thread).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Nothing a test does may touch the real user's data or settings."""
    monkeypatch.setenv("FACESCOPE_DATA_DIR", str(tmp_path / "user_data"))
    monkeypatch.setenv("FACESCOPE_SETTINGS", str(tmp_path / "settings" / "facescope.ini"))


def pytest_collection_modifyitems(config, items):
    if SHARED_DIR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs the research data in {SHARED_DIR} (absent on this machine)")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)
