"""DREAM stitched onto the faceres stem, in the paper's raw form and in ADR 0010's centred space (a measurement).

    OMP_NUM_THREADS=1 .venv/bin/python bench/cfp_dream_stem.py [--root ../shared/data/cfp_dev] [--cache DIR]

Clean folds: the block (``f + Y(yaw)·R(f)``, two 1024×1024 FC + ReLU) is
trained on the stitching pairs of folds 1–7 (profiles → their identity's
mean frontal, :mod:`core.cfp.stitching`), the learning rate and the number of
full-batch Adam steps are chosen by the CFP-FP EER of fold 8, and fold 9 is
reported once: EER and AUC with and without the block, and the EER
difference with a paired bootstrap 95 % interval. *Raw* works on the unit
embedding (centre 0); *centred* subtracts the mean frontal embedding of the
training identities first (``core.recognize.dream.to_dream_space``). Nothing
is written: the block is not shipped (ADR 0025).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.evaluate import evaluate_protocol, fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.cfp.stitching import build_stitching, dream_center, identities_of_folds  # noqa: E402
from core.models.dream import DreamBlock  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.bootstrap import paired_bootstrap  # noqa: E402
from core.recognize.dream import DreamMapper  # noqa: E402

TRAIN, VAL, TEST = "1-7", 8, 9
RATES = (1e-4, 1e-3)
CHECKPOINTS = (25, 50, 100, 200)


def _evaluate(cfp, table, block, center, protocol: str, fold: int):
    """(stem, stem + DREAM) evaluations of one fold (EER and AUC need no threshold)."""
    mapper = DreamMapper(block=block, center=center)
    return tuple(
        evaluate_protocol(cfp, table, protocol, [fold], mapper, use_dream=dream, shipped_threshold=0.0)
        for dream in (False, True)
    )


def train_and_choose(cfp, table, center) -> tuple[DreamBlock, str]:
    """The block with the lowest fold-8 FP EER over :data:`RATES` × :data:`CHECKPOINTS`."""
    pairs = build_stitching(table, identities_of_folds(TRAIN), center)
    x, yaw, target = (torch.from_numpy(a) for a in (pairs.inputs, pairs.yaw, pairs.targets))
    best: tuple[float, str, dict] | None = None
    for lr in RATES:
        torch.manual_seed(0)
        block = DreamBlock(x.shape[1])
        optimiser = torch.optim.Adam(block.parameters(), lr=lr)
        for step in range(1, max(CHECKPOINTS) + 1):
            optimiser.zero_grad()
            loss = ((block(x, yaw) - target) ** 2).sum(dim=1).mean()
            loss.backward()
            optimiser.step()
            if step in CHECKPOINTS:
                _, dream = _evaluate(cfp, table, block.eval(), center, "FP", VAL)
                block.train()
                print(
                    f"    lr {lr:g} step {step}: loss {loss.item():.4f}, fold {VAL} FP EER {100 * dream.eer_mean:.2f} %"
                )
                if best is None or dream.eer_mean < best[0]:
                    state = {k: v.detach().clone() for k, v in block.state_dict().items()}
                    best = (dream.eer_mean, f"lr {lr:g}, {step} steps", state)
    assert best is not None
    chosen = DreamBlock(x.shape[1])
    chosen.load_state_dict(best[2])
    print(f"  {len(pairs)} training pairs; chosen on fold {VAL}: {best[1]} (FP EER {100 * best[0]:.2f} %)")
    return chosen.eval(), best[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cfp = CfpProtocol.open(args.root)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), list(range(1, TEST + 1))), args.cache)
    table = with_stem(cfp.root, table, "faceres", args.cache)
    for form in ("raw", "centred"):
        center = (
            dream_center(table, identities_of_folds(TRAIN))
            if form == "centred"
            else np.zeros(table.embeddings.shape[1], np.float32)
        )
        print(f"DREAM on faceres, {form} form")
        block, _ = train_and_choose(cfp, table, center)
        for protocol in ("FP", "FF"):
            stem, dream = _evaluate(cfp, table, block, center, protocol, TEST)
            ci = paired_bootstrap(stem.pairs.scores, dream.pairs.scores, stem.pairs.labels)
            print(
                f"  fold {TEST} {protocol}: EER / AUC stem {100 * stem.eer_mean:.2f} % / {stem.auc_mean:.4f}, "
                f"+ DREAM {100 * dream.eer_mean:.2f} % / {dream.auc_mean:.4f}; EER change {100 * ci.difference:+.2f} "
                f"points (paired bootstrap 95 % CI {100 * ci.low:+.2f} … {100 * ci.high:+.2f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
