"""Ship LMLE attribute models into resources/models (+ sidecars).

    python tools/export_lmle.py RUN_DIR --learned --cluster-size N --k K [--celeba-root DIR] [--out PATH]
        an ``lmle_learned`` run (the paper's LMLE, a fine-tuned trunk stage) -> lmle_celeba.pt, its
        classifier clustering classes into groups of about N faces and voting over K centroids
    python tools/export_lmle.py RUN_DIR [--celeba-root DIR] [--out PATH]
        an ``lmle`` run (a head on frozen features) -> lmle_celeba_head.pt (or lmle_celeba_triplet.pt for a
        triplet run)
    python tools/export_lmle.py --linear --celeba-root DIR [--train-range 1-7000] [--weight-decay 0.01]
        the class-weighted linear baseline -> lmle_celeba_linear.pt
    python tools/make_notice.py

See core/attributes/export.py and core/attributes/learned_export.py. Exports are deterministic: the same run gives
the same file.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.attributes.export import export_linear, export_run  # noqa: E402
from core.attributes.learned_export import export_learned_run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", nargs="?", help="the --out folder of `main.py train lmle`")
    parser.add_argument("--linear", action="store_true", help="fit and export the linear baseline instead")
    parser.add_argument("--learned", action="store_true", help="RUN_DIR is an lmle_learned run")
    parser.add_argument("--cluster-size", type=int, default=None, help="--learned: faces per cluster")
    parser.add_argument("--k", type=int, default=None, help="--learned: centroids the kNN votes over")
    parser.add_argument("--celeba-root", default=None, help="CelebA folder (default: the run's own)")
    parser.add_argument("--train-range", default="1-7000", help="--linear: training images")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="--linear: L2 penalty")
    parser.add_argument("--no-flip", dest="flip", action="store_false", help="--linear: originals only")
    parser.add_argument("--out", default=None, help="output .pt (default: resources/models/...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.linear:
        if not args.celeba_root:
            parser.error("--linear needs --celeba-root")
        path = export_linear(args.celeba_root, args.train_range, args.weight_decay, args.out, flip=args.flip)
    else:
        if not args.run_dir:
            parser.error("give a RUN_DIR (or --linear)")
        if args.learned:
            if args.cluster_size is None or args.k is None:
                parser.error("--learned needs --cluster-size and --k (chosen on an inner fold)")
            path = export_learned_run(args.run_dir, args.cluster_size, args.k, args.celeba_root, args.out)
        else:
            path = export_run(args.run_dir, args.celeba_root, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
