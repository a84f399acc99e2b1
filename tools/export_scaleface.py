"""Ship a finished ScaleFace training run as resources/models/scaleface.pt (+ sidecar).

    python tools/export_scaleface.py RUN_DIR [--out PATH]
    python tools/make_notice.py

See core/detect/training/export.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.detect.training.export import export_scaleface  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="the --out folder of `main.py train scaleface`")
    parser.add_argument("--out", default=None, help="output .pt (default resources/models/scaleface.pt)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    meta = export_scaleface(args.run_dir, args.out)
    print(
        f"exported step {meta['steps']}, {meta['train_seconds'] / 60:.1f} min of training; last eval {meta['last_eval']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
