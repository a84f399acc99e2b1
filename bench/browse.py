"""Browsing speed: listing and opening a 50,000-file folder, switching images.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/browse.py

Targets: a folder of 50,000 files opens in under 1 s (names only, nothing
decoded), flat or spread over sub-folders as in a WIDER ``images/`` folder
(opened through its sub-folders because its top level holds no image).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.io.files import list_images  # noqa: E402
from core.paths import SAMPLES_DIR  # noqa: E402

TARGET_OPEN_S = 1.0
FILE_COUNT = 50_000
SUB_FOLDER_COUNT = 61  # WIDER's event folders


def _median_open_s(app, window, folder: Path, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        window.open_folder(folder)
        app.processEvents()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _open_line(what: str, seconds: float) -> str:
    verdict = "meets" if seconds < TARGET_OPEN_S else "MISSES"
    return f"{what:<32} median {seconds * 1000:7.0f} ms  ({verdict} the {TARGET_OPEN_S:.0f} s target)"


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Keys, Settings

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "many"
        folder.mkdir()
        for i in range(FILE_COUNT):
            (folder / f"frame_{i:05d}.jpg").touch()
        tree = Path(tmp) / "images"
        for event in range(SUB_FOLDER_COUNT):
            (tree / f"{event}--Event").mkdir(parents=True)
        for i in range(FILE_COUNT):
            event = i % SUB_FOLDER_COUNT
            (tree / f"{event}--Event" / f"{event}_Event_{i:05d}.jpg").touch()
        listing = []
        for _ in range(5):
            start = time.perf_counter()
            list_images(folder)
            listing.append(time.perf_counter() - start)
        settings = Settings(Path(tmp) / "settings.ini")
        settings.set(Keys.DETECTION_AUTO, False)
        window = MainWindow(settings)
        window.show()
        open_s = _median_open_s(app, window, folder)
        open_tree_s = _median_open_s(app, window, tree)
        assert window.file_model.rowCount() == FILE_COUNT
        window.open_folder(SAMPLES_DIR)
        switches = []
        for row in range(1, window.file_model.rowCount()):
            start = time.perf_counter()
            window.show_row(row)
            while window.workbench.current is None or window.workbench.current.path != window.current_path:
                app.processEvents()
            app.processEvents()
            switches.append(time.perf_counter() - start)
        window.close()
    print("browsing (2-core CPU, offscreen Qt)")
    print(f"list 50,000 names               median {statistics.median(listing) * 1000:7.0f} ms")
    print(_open_line("open 50,000-file folder in GUI", open_s))
    print(_open_line(f"open 50,000 in {SUB_FOLDER_COUNT} sub-folders", open_tree_s))
    print(
        f"switch image (bundled samples, with prefetch) median {statistics.median(switches) * 1000:5.0f} ms, "
        f"max {max(switches) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
