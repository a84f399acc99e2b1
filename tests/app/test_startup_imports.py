"""The window opens without importing torch: engine modules load in the first job, not at start-up.

Importing torch takes 1–2 s on the project's machines, which alone would
break the 2 s start-up target (issue 2); a panel that imports an engine
module at module level or in its constructor puts it back on the critical
path. This test builds the real main window in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
from app.settings import Keys, Settings
settings = Settings(sys.argv[1])
settings.set(Keys.DETECTION_AUTO, False)
window = MainWindow(settings)
window.show()
app.processEvents()
loaded = sorted(m for m in ("torch", "torchvision") if m in sys.modules)
window.close()
print("ENGINE:" + ",".join(loaded))
"""


def test_main_window_does_not_import_torch(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FACESCOPE_DATA_DIR": str(tmp_path / "data")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "settings.ini")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("ENGINE:"))
    assert line == "ENGINE:", f"the main window imported {line[7:]} at start-up"


def test_attribute_model_names_match_the_engine():
    from app.attributes.panel import MODEL_CHOICES
    from core.attributes.model import BASELINE_MODEL, DEFAULT_MODEL, HEAD_MODEL

    assert list(MODEL_CHOICES.values()) == [DEFAULT_MODEL, HEAD_MODEL, BASELINE_MODEL]
