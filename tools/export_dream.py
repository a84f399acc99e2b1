"""Ship a DREAM block (+ sidecar) into resources/models.

    OMP_NUM_THREADS=1 python tools/export_dream.py --stem faceres|faceapi [--root CFP_ROOT] [--cache DIR] [--out PATH]
    python tools/export_dream.py RUN_DIR [--data CFP_ROOT] [--out PATH]          # a `train dream` run (face-api)
    python tools/make_notice.py

``--stem``: the shipped blocks. Trained here on CFP dev folds 1-7 in both
feature forms (the paper's raw one and ADR 0010's centred one), learning rate,
steps and form chosen on fold 8, thresholds calibrated on folds 1-8
(export_stem_dream); fold 9 is never read. RUN_DIR: a block from the Train
workspace or `main.py train dream` (core/cfp/export.py:export_dream). Both
calibrate thresholds for the stem alone and the stem + DREAM, FF and FP buckets.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core.cfp.dream_stem import VAL_FOLD  # noqa: E402
from core.cfp.evaluate import fold_keys  # noqa: E402
from core.cfp.export import export_dream, export_stem_dream  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402


def _print_calibration(meta: dict) -> None:
    for mode, buckets in json.loads(meta["calibration"]).items():
        for bucket, cal in buckets.items():
            points = ", ".join(
                f"FAR {op['target_far']:g}: t={op['threshold']:.4f} TAR={op['tar']:.3f} ({op['impostors']} impostors)"
                for op in cal["operating_points"]
            )
            print(f"{mode:5s} {bucket}: accuracy threshold {cal['accuracy_threshold']:.4f}; {points}")


def _export_stem(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    cfp = CfpProtocol.open(args.root)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), list(range(1, VAL_FOLD + 1))), args.cache)
    table = with_stem(cfp.root, table, args.stem, args.cache)
    meta, chosen = export_stem_dream(cfp, table, args.stem, out_path=args.out)
    for lr, steps, eer in chosen.candidates:
        print(f"{chosen.form}: lr {lr:g}, {steps:3d} steps: fold {VAL_FOLD} FP EER {100 * eer:.2f} %")
    print(
        f"forms: {meta['form_choice']}; chosen: {chosen.form}, {meta['chosen']}; {meta['training_pairs']} pairs"
    )
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", nargs="?", help="the --out folder of `main.py train dream` (face-api)")
    parser.add_argument("--data", default=None, help="CFP root (when the run used --data)")
    parser.add_argument("--stem", default=None, help="train and ship this stem's block (faceres, faceapi)")
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"), help="CFP root (--stem)")
    parser.add_argument("--cache", default=None, help="CFP feature cache folder (--stem)")
    parser.add_argument("--out", default=None, help="output .pt (default resources/models/dream_<stem>.pt)")
    args = parser.parse_args(argv)
    if (args.run_dir is None) == (args.stem is None):
        parser.error("give either RUN_DIR (face-api) or --stem NAME")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    meta = _export_stem(args) if args.stem else export_dream(args.run_dir, args.data, args.out)
    _print_calibration(meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
