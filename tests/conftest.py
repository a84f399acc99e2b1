"""Shared fixtures: isolated settings/data dirs, the ../shared skip rule, GUI windows."""

from __future__ import annotations

import os

import pytest

from core.paths import SHARED_DIR

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
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
