"""Calibrate the verification thresholds of a stem without a DREAM block on CFP dev folds 1–8.

    OMP_NUM_THREADS=1 python tools/calibrate_stem.py --stem faceres [--root ../shared/data/cfp_dev] [--cache DIR]

Writes ``resources/models/<weights>_calibration.json``: per pose bucket (FF,
FP) the best-accuracy cut over the folds' protocol pairs and the thresholds
at FAR 1e-1 … 1e-4 over every pair of their identities
(:func:`core.cfp.calibrate.calibrate_buckets`), with the sha256 of the
weights measured. Fold 9 is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.calibrate import DEFAULT_FARS, calibrate_buckets  # noqa: E402
from core.cfp.evaluate import fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol, parse_folds  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.cfp.stitching import identities_of_folds  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.dream import calibration_to_json, l2_normalize  # noqa: E402
from core.recognize.stem_calibration import calibration_path  # noqa: E402
from core.recognize.stems import stem_spec  # noqa: E402
from core.zoo.weights import read_sidecar, resolve  # noqa: E402

TRAIN_FOLDS = "1-8"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stem", default="faceres")
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    args = parser.parse_args(argv)
    spec = stem_spec(args.stem)
    cfp = CfpProtocol.open(args.root)
    folds = parse_folds(TRAIN_FOLDS)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), folds), args.cache)
    table = with_stem(cfp.root, table, spec.name, args.cache)
    buckets = calibrate_buckets(
        cfp, table, l2_normalize(table.embeddings), set(identities_of_folds(TRAIN_FOLDS)), folds, DEFAULT_FARS
    )
    payload = {
        "stem": spec.name,
        "weights": spec.weights,
        "weights_sha256": str(read_sidecar(resolve(spec.weights)).get("sha256", "")),
        "views": spec.views,
        "train_folds": TRAIN_FOLDS,
        "data": "CFP dev (../shared/data/cfp_dev), identities of the train folds; fold 9 never read",
        "regenerate": f"OMP_NUM_THREADS=1 python tools/calibrate_stem.py --stem {spec.name}",
        "calibration": calibration_to_json({"stem": buckets}),
    }
    out = calibration_path(spec.name)
    out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for bucket, cal in buckets.items():
        ops = ", ".join(f"FAR {op.target_far:g}: {op.threshold:.4f}" for op in cal.operating_points)
        print(f"{bucket}: accuracy cut {cal.accuracy_threshold:.4f}; {ops}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
