"""Starting the workbench: QApplication, logging, the main window, first images."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from pathlib import Path

from core.logging_setup import setup_logging
from core.paths import SAMPLES_DIR

log = logging.getLogger(__name__)
PROCESS_START = time.perf_counter()


def build_parser(epilog: str = "") -> argparse.ArgumentParser:
    """The workbench's options; ``epilog`` is printed as given after them (main.py lists the commands)."""
    parser = argparse.ArgumentParser(
        prog="facescope",
        usage="%(prog)s [options] [paths ...]\n       %(prog)s <command> [command options]",
        description="FaceScope workbench: opens the images or folders given (default: the bundled samples).",
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("paths", nargs="*", help="images or folders to open (default: the bundled samples)")
    parser.add_argument(
        "--settings", type=Path, help="settings file (INI); default: the user's config folder"
    )
    parser.add_argument(
        "--no-samples", action="store_true", help="start empty instead of opening the samples"
    )
    parser.add_argument(
        "--quit-after-paint", action="store_true", help=argparse.SUPPRESS
    )  # startup benchmark
    return parser


def parse_args(argv: list[str], epilog: str = "") -> argparse.Namespace:
    return build_parser(epilog).parse_args(argv)


def run_gui(argv: list[str], epilog: str = "") -> int:
    """Open the workbench on ``argv``'s paths; ``epilog`` ends its ``--help``."""
    args = parse_args(argv, epilog)
    setup_logging()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    # lazy: `main.py --help` and the CLI never import Qt or the window
    from app.main_window import MainWindow
    from app.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FaceScope")
    app.setOrganizationName("FaceScope")
    window = MainWindow(Settings(args.settings) if args.settings else None)
    # torch + Qt leave ~200k long-lived objects; moving them out of the collector's sight keeps
    # bulk work (e.g. building 40k WIDER label objects) from paying for repeated full scans.
    gc.freeze()
    window.show()
    log.info("window shown %.0f ms after process start", (time.perf_counter() - PROCESS_START) * 1000)
    if args.quit_after_paint:

        def report_paint() -> None:
            sys.stdout.write(f"first_paint_at {time.time():.4f}\n")
            sys.stdout.flush()
            QTimer.singleShot(0, window.close)

        window.view.painted.connect(report_paint)
        sys.stdout.write(f"window_shown_at {time.time():.4f}\n")
        sys.stdout.flush()
    if args.paths:
        window.open_paths([Path(p) for p in args.paths])
    elif not args.no_samples:
        window.open_folder(SAMPLES_DIR)
    return app.exec()
