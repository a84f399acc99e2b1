"""Choose the faceres stem's alignment and input on CFP tuning folds: one line per setting.

    OMP_NUM_THREADS=1 .venv/bin/python bench/cfp_stem_tuning.py [--folds 1-8] \
        [--preprocessing bgr_vggface2,rgb255] [--views 1.0,1.3,1.0+1.0m+1.3+1.3m] \
        [--points detector,landmarks68] \
        [--weights faceres,/tmp/faceres_deep.pt] [--cache-dir DIR]

A view set is ``+``-joined chip views: a template looseness (1.0 = the ArcFace
chip), ``m`` for mirrored; several views are averaged (test-time augmentation).
Every combination of the given settings is embedded once (cached under
``<cache dir>/stems``; ~45 ms a view at one thread) and evaluated on the
given folds with the CFP protocol (accuracy at the threshold of the other
folds, EER, AUC; means over the folds). Pass tuning folds only: the reported
fold (9) must not choose a setting.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.evaluate import evaluate_protocol, fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol, parse_folds  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.faceres_embedder import FaceResEmbedder, parse_views  # noqa: E402


def _list(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--folds", default="1-8")
    parser.add_argument("--preprocessing", default="bgr_vggface2")
    parser.add_argument("--views", default="1.0", help="comma-separated view sets (see above)")
    parser.add_argument("--points", default="detector")
    parser.add_argument("--weights", default="faceres")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument(
        "--faceapi", action="store_true", help="also print face-api's descriptor on the folds"
    )
    args = parser.parse_args(argv)

    cfp = CfpProtocol.open(args.root)
    folds = parse_folds(args.folds)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), folds), args.cache_dir)
    print(f"CFP {cfp.root}, folds {folds}: {len(table)} images; means over the folds")
    print("setting                                         FP acc / EER / AUC        FF acc / EER / AUC")
    combos = itertools.product(
        _list(args.weights),
        _list(args.preprocessing),
        _list(args.views),
        _list(args.points),
    )
    rows = [("faceapi", table)] if args.faceapi else []
    for weights, prep, views, points in combos:
        t0 = time.perf_counter()
        embedder = FaceResEmbedder(weights=weights, preprocessing=prep, views=parse_views(views))
        stem_table = with_stem(cfp.root, table, "faceres", args.cache_dir, embedder, points)
        name = f"{Path(weights).stem} {prep} {views} {points} ({time.perf_counter() - t0:.0f} s)"
        rows.append((name, stem_table))
    for name, t in rows:
        cells = []
        for protocol in ("FP", "FF"):
            ev = evaluate_protocol(cfp, t, protocol, folds)
            cells.append(f"{100 * ev.accuracy_mean:6.2f} / {100 * ev.eer_mean:5.2f} / {ev.auc_mean:.4f}")
        print(f"{name:46s}  {cells[0]}   {cells[1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
