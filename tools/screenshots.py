"""Regenerate docs/screenshots: the workbench with each panel raised, at a given screen size.

Runs offscreen on a virtual screen of the asked size (Qt's offscreen platform
with a screen configuration file), so it needs no X server:

    .venv/bin/python tools/screenshots.py [--size 1366x768] [--out docs/screenshots]

It opens the bundled samples with the default detector, waits for the first
detection, then brings each panel in front (its workspace, or its dock raised
with ``--layout docks``) and saves ``<panel>.png`` (plus ``main.png`` as the
window opens) and ``scaleface_maps.png`` (the bundled ScaleFace with its small
branch's response map); with ``--celeba-root DIR`` also ``attributes_embedding.png``
(the bundled LMLE's embedding of ``--celeba-range`` with its clusters; the first
run extracts those faces' features, minutes on a CPU). Settings and user data go
to a temporary folder, so the user's own are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _virtual_screen(width: int, height: int, folder: Path) -> str:
    config = folder / "screen.json"
    screen = {"name": "virtual", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
    config.write_text(json.dumps({"windowFrameMargins": False, "screens": [screen]}))
    return f"offscreen:configfile={config}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1366x768", help="screen size WIDTHxHEIGHT (default 1366x768)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the PNGs")
    parser.add_argument(
        "--layout", choices=("workspaces", "docks"), default="workspaces", help="window layout"
    )
    parser.add_argument("--settle-s", type=float, default=8.0, help="seconds to wait for the first detection")
    parser.add_argument(
        "--celeba-root", default=None, help="CelebA folder: also shoot the LMLE embedding plot"
    )
    parser.add_argument(
        "--celeba-range", default="1-2000", help="images of the embedding plot (training images)"
    )
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="facescope_shots_"))
    os.environ["QT_QPA_PLATFORM"] = _virtual_screen(width, height, work)
    os.environ["FACESCOPE_SETTINGS"] = str(work / "settings.ini")
    os.environ["FACESCOPE_DATA_DIR"] = str(work / "data")
    sys.path.insert(0, str(ROOT))

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Keys, Settings
    from core.paths import SAMPLES_DIR

    app = QApplication(sys.argv[:1])
    settings = Settings()
    settings.set(Keys.WINDOW_LAYOUT, args.layout)
    window = MainWindow(settings)
    window.show()
    window.open_paths([SAMPLES_DIR])

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settle(args.settle_s)
    window.grab().save(str(out / "main.png"))
    for panel in window.panels:
        window.show_panel(panel.object_name)
        settle(1.5)
        window.grab().save(str(out / f"{panel.object_name}.png"))
        print(f"{out / panel.object_name}.png  window {window.width()}x{window.height()}")
    scaleface_shot(window, settle, out / "scaleface_maps.png")
    if args.celeba_root:
        attributes_shot(window, settle, out / "attributes_embedding.png", args.celeba_root, args.celeba_range)
    window.close()
    window.jobs.wait(60.0)  # a detection still running must not outlive the interpreter
    return 0


def scaleface_shot(window, settle, path: Path) -> None:
    """The bundled ScaleFace on the first sample, its small branch's response map shown."""
    from app.detectors import select_detector

    window.show_panel("detection")
    panel = window.panel("detection")
    select_detector(panel.model_box, "scaleface")
    panel.run_detection()
    for _ in range(300):  # the first ScaleFace job loads the model
        settle(0.2)
        if (
            panel.shown is not None
            and panel.shown.model == "scaleface"
            and panel.map_boxes["small"].isEnabled()
        ):
            break
    panel.map_boxes["small"].setChecked(True)
    settle(1.0)
    window.grab().save(str(path))
    print(f"{path}  ScaleFace with the small branch's response map")


def attributes_shot(window, settle, path: Path, root: str, id_range: str) -> None:
    """The bundled LMLE's embedding of CelebA images ``id_range``, with its clusters."""
    window.show_panel("attributes")
    panel = window.panel("attributes")
    panel.root_edit.setText(root)
    panel._root_changed()
    panel.range_edit.setText(id_range)
    panel.load_embedding()
    for _ in range(6000):  # feature and map extraction: minutes on a CPU
        settle(0.2)
        if panel.embed_job is not None and panel.embed_job.is_done:
            break
    settle(1.0)
    window.grab().save(str(path))
    print(f"{path}  {panel.status.text()}")


if __name__ == "__main__":
    sys.exit(main())
