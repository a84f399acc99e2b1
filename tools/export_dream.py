"""Ship a finished ``dream`` training run as resources/models/dream_faceapi.pt (+ sidecar).

    python tools/export_dream.py RUN_DIR --data CFP_ROOT [--out PATH]
    python tools/make_notice.py

Calibrates thresholds on the run's training folds (stem alone and stem +
DREAM, FF and FP buckets) and writes the weights container; see
core/cfp/export.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cfp.export import export_dream  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="the --out folder of `main.py train dream`")
    parser.add_argument("--data", default=None, help="CFP root (when the run used --data)")
    parser.add_argument("--out", default=None, help="output .pt (default resources/models/dream_faceapi.pt)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    meta = export_dream(args.run_dir, args.data, args.out)
    calibration = json.loads(meta["calibration"])
    for mode, buckets in calibration.items():
        for bucket, cal in buckets.items():
            points = ", ".join(
                f"FAR {op['target_far']:g}: t={op['threshold']:.4f} TAR={op['tar']:.3f} ({op['impostors']} impostors)"
                for op in cal["operating_points"]
            )
            print(f"{mode:5s} {bucket}: accuracy threshold {cal['accuracy_threshold']:.4f}; {points}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
