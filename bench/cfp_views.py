"""Which chip views faceres should average, chosen on CFP dev folds 1–8; fold 9 read once, on request.

    OMP_NUM_THREADS=2 .venv/bin/python bench/cfp_views.py [--views 1,1+1m,1.3,1.3+1.3m,1+1.3,1+1m+1.3+1.3m]
                                                          [--cv] [--held-out] [--root DIR] [--cache DIR]

A view set is ``+``-joined chip views: a template looseness (1 = the ArcFace
chip, 1.3 = 1.3× looser), ``m`` for mirrored; the embedding of a set is the
mean of its views' unit embeddings (:class:`core.recognize.faceres_embedder.ChipView`).
For each set, on folds 1–8 only:

* the stem alone: FP and FF EER and AUC, means over the folds (no training);
* DREAM (raw form) trained on folds 1–7, learning rate and steps chosen on fold 8
  (:func:`core.cfp.dream_stem.train_and_choose`, the shipped protocol): fold 8's FP EER;
* ``--cv``: DREAM by leave-one-fold-out over folds 1–8 (train on seven, read the eighth;
  lr 1e-3, 50/100/200 steps), mean FP EER over the eight (about 10 min a set on 2 cores).

``--held-out`` then reads fold 9 once for the first set (the baseline) and the
stem's own views: FP EER of the stem and of stem + DREAM (each set's block
chosen as above), with paired bootstrap 95 % intervals of the differences over
fold 9's pairs. Embeddings are cached per set (``<cache>/stems``; about
18 ms a view an image on 2 cores, so a new four-view set costs ~8 min).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.dream_stem import (  # noqa: E402
    TEST_FOLD,
    VAL_FOLD,
    evaluate_fold,
    form_center,
    train_and_choose,
    training_checkpoints,
)
from core.cfp.evaluate import evaluate_protocol, fold_keys  # noqa: E402
from core.cfp.features import FeatureTable, load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.cfp.stitching import build_stitching, identities_of_folds  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.bootstrap import paired_bootstrap  # noqa: E402
from core.recognize.dream import DreamMapper  # noqa: E402
from core.recognize.faceres_embedder import FaceResEmbedder, parse_views, views_name  # noqa: E402
from core.recognize.stems import stem_spec  # noqa: E402

TUNING = list(range(1, VAL_FOLD + 1))
DEFAULT_SETS = "1,1+1m,1.3,1.3+1.3m,1+1.3,1+1m+1.3+1.3m"


def _cv_eer(cfp: CfpProtocol, table: FeatureTable) -> dict[int, float]:
    """Mean FP EER over folds 1–8 of blocks trained on the other seven, per step count (lr 1e-3)."""
    by_steps: dict[int, list[float]] = {}
    center = form_center(table, "raw")  # the raw form's centre: zeros, whatever the folds
    for held in TUNING:
        train = ",".join(str(f) for f in TUNING if f != held)
        pairs = build_stitching(table, identities_of_folds(train), center)
        for steps, block in training_checkpoints(pairs, 1e-3, (50, 100, 200)):
            mapper = DreamMapper(block=block, center=center, form="raw")
            by_steps.setdefault(steps, []).append(evaluate_fold(cfp, table, mapper, "FP", held)[1].eer_mean)
    return {steps: float(np.mean(eers)) for steps, eers in by_steps.items()}


def _tuning_row(cfp: CfpProtocol, name: str, table: FeatureTable, cv: bool) -> None:
    cells = []
    for protocol in ("FP", "FF"):
        ev = evaluate_protocol(cfp, table, protocol, TUNING, shipped_threshold=0.0)
        cells.append(f"{100 * ev.eer_mean:5.2f} / {ev.auc_mean:.4f}")
    chosen = train_and_choose(cfp, table, "raw")
    line = f"{name:16s} {cells[0]}   {cells[1]}   {100 * chosen.val_eer:5.2f} (lr {chosen.lr:g}, {chosen.steps} steps)"
    if cv:
        line += "   " + ", ".join(f"{s}: {100 * e:.2f}" for s, e in _cv_eer(cfp, table).items())
    print(line, flush=True)


def _held_out(cfp: CfpProtocol, tables: dict[str, FeatureTable], baseline: str, shipped: str) -> None:
    print(
        f"\nfold {TEST_FOLD} (held out), FP EER %; blocks trained on folds 1-7 and chosen on fold {VAL_FOLD}"
    )
    scores = {}
    for name in (baseline, shipped):
        stem, dream = evaluate_fold(
            cfp, tables[name], train_and_choose(cfp, tables[name], "raw").mapper(), "FP", TEST_FOLD
        )
        scores[name] = (stem.pairs, dream.pairs)
        print(f"  {name:16s} stem {100 * stem.eer_mean:5.2f}   + DREAM {100 * dream.eer_mean:5.2f}")
    labels = scores[baseline][0].labels
    for what, a, b in (
        (f"{shipped} − {baseline}, stem", scores[baseline][0], scores[shipped][0]),
        (f"{shipped} − {baseline}, + DREAM", scores[baseline][1], scores[shipped][1]),
        (f"{shipped} + DREAM − {baseline} stem", scores[baseline][0], scores[shipped][1]),
    ):
        ci = paired_bootstrap(a.scores, b.scores, labels)
        print(
            f"  {what}: {100 * ci.difference:+.2f} points (paired bootstrap 95 % CI {100 * ci.low:+.2f} … {100 * ci.high:+.2f})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    parser.add_argument(
        "--views", default=DEFAULT_SETS, help="comma-separated view sets; the first is the baseline"
    )
    parser.add_argument("--cv", action="store_true", help="add leave-one-fold-out DREAM over folds 1-8")
    parser.add_argument(
        "--held-out", action="store_true", help=f"read fold {TEST_FOLD}: baseline vs the stem's views"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    cfp = CfpProtocol.open(args.root)
    folds = TUNING + ([TEST_FOLD] if args.held_out else [])
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), folds), args.cache)
    sets = [views_name(parse_views(text)) for text in args.views.split(",") if text]
    shipped = stem_spec("faceres").views
    if args.held_out and shipped not in sets:
        sets.append(shipped)
    print(
        f"CFP {cfp.root}: {len(table)} images; folds 1-{VAL_FOLD} (no fold {TEST_FOLD} above the last part)"
    )
    print(
        "views            FP EER / AUC     FF EER / AUC     DREAM fold-8 FP EER (chosen)"
        + ("   CV 1-8 by steps" if args.cv else "")
    )
    tables = {}
    for name in sets:
        embedder = FaceResEmbedder(views=parse_views(name))
        tables[name] = with_stem(cfp.root, table, "faceres", args.cache, embedder)
        _tuning_row(cfp, name, tables[name], args.cv)
    if args.held_out:
        _held_out(cfp, tables, sets[0], shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
