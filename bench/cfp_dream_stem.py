"""DREAM stitched onto the faceres stem, in the paper's raw form and in ADR 0010's centred space (a measurement).

    OMP_NUM_THREADS=1 .venv/bin/python bench/cfp_dream_stem.py [--root ../shared/data/cfp_dev] [--cache DIR]

Clean folds (:mod:`core.cfp.dream_stem`): the block (``f + Y(yaw)·R(f)``,
two 1024×1024 FC + ReLU) is trained on the stitching pairs of folds 1–7
(profiles → their identity's mean frontal, :mod:`core.cfp.stitching`), the
learning rate and the number of full-batch Adam steps are chosen by the
CFP-FP EER of fold 8, and fold 9 is reported once: EER and AUC with and
without the block, and the EER difference with a paired bootstrap 95 %
interval. *Raw* works on the unit embedding (centre 0); *centred* subtracts
the mean frontal embedding of the training identities first. The shipped
block (``tools/export_dream.py --stem faceres``) is the form with the lower
fold-8 EER (a tie keeps the raw one); nothing is written here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.dream_stem import TEST_FOLD, VAL_FOLD, evaluate_fold, train_and_choose  # noqa: E402
from core.cfp.evaluate import fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.bootstrap import paired_bootstrap  # noqa: E402
from core.recognize.dream import FORMS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cfp = CfpProtocol.open(args.root)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), list(range(1, TEST_FOLD + 1))), args.cache)
    table = with_stem(cfp.root, table, "faceres", args.cache)
    for form in FORMS:
        chosen = train_and_choose(cfp, table, form)
        print(f"DREAM on faceres, {form} form: {chosen.training_pairs} training pairs (folds 1-7)")
        for lr, steps, eer in chosen.candidates:
            print(f"    lr {lr:g}, {steps:3d} steps: fold {VAL_FOLD} FP EER {100 * eer:.2f} %")
        print(
            f"  chosen on fold {VAL_FOLD}: lr {chosen.lr:g}, {chosen.steps} steps ({100 * chosen.val_eer:.2f} %)"
        )
        for protocol in ("FP", "FF"):
            stem, dream = evaluate_fold(cfp, table, chosen.mapper(), protocol, TEST_FOLD)
            ci = paired_bootstrap(stem.pairs.scores, dream.pairs.scores, stem.pairs.labels)
            print(
                f"  fold {TEST_FOLD} {protocol}: EER / AUC stem {100 * stem.eer_mean:.2f} % / {stem.auc_mean:.4f}, "
                f"+ DREAM {100 * dream.eer_mean:.2f} % / {dream.auc_mean:.4f}; EER change {100 * ci.difference:+.2f} "
                f"points (paired bootstrap 95 % CI {100 * ci.low:+.2f} … {100 * ci.high:+.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
