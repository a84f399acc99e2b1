"""LMLE vs the class-weighted linear baseline on *inner* splits of the training images 1-7000.

    .venv/bin/python bench/lmle_inner.py [--celeba-root ../shared/data/celeba_89x109_dev]
        [--folds A,B] [--seeds 0] [--wd 0.001,0.003,0.01,0.03] [--set task.NAME=VALUE ...] [--json OUT]

Model selection for ADR 0011, never touching the validation images 7001-8000:
fold A trains on 1-6000 and scores 6001-7000, fold B trains on 1001-7000 and
scores 1-1000. Per fold: the linear baseline for each weight decay of the
grid, and LMLE trained through the engine (the shipped task defaults plus
``--set`` overrides) for each seed. Both decide on the image and its mirror.

Reported per method: mean balanced accuracy over the 40 attributes and by
imbalance group (training positive rate < 10 %, 10-30 %, >= 30 %), the mean
ROC AUC of its score (logit for the baseline, the cluster-wise kNN margin
for LMLE: how well the score *ranks* faces, whatever the threshold), the
best-threshold balanced accuracy (an oracle on the tuning images, a
diagnostic only), and "LMLE + linear": the sum of both z-scored scores, which
asks whether the LMLE embedding knows anything the linear model does not.
Each LMLE run takes ~2-4 minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.attributes.baselines import fit_linear  # noqa: E402
from core.attributes.celeba import CelebA  # noqa: E402
from core.attributes.lmle_task import LMLETask, load_split  # noqa: E402
from core.attributes.metrics import IMBALANCE_GROUPS, balanced_accuracy, group_means, roc_auc  # noqa: E402
from core.attributes.model import AttributeModel  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.train.config import build_config  # noqa: E402
from core.train.loop import train  # noqa: E402

FOLDS = {"A": ("1-6000", "6001-7000"), "B": ("1001-7000", "1-1000")}


def best_threshold_ba(truth: np.ndarray, score: np.ndarray) -> float:
    """Highest balanced accuracy of ``score > t`` over all thresholds ``t`` (``(N,)`` arrays)."""
    t = truth.astype(bool)
    order = np.argsort(-score, kind="mergesort")
    tp = np.concatenate([[0], np.cumsum(t[order])])  # predicted positive = the first i faces
    fp = np.concatenate([[0], np.cumsum(~t[order])])
    pos, neg = t.sum(), (~t).sum()
    return float(np.max((tp / max(pos, 1) + (neg - fp) / max(neg, 1)) / 2))


def summarise(truth: np.ndarray, score: np.ndarray, rate: np.ndarray) -> dict:
    """``(Q, A)`` truth and scores (> 0 = positive) -> the reported figures."""
    pred = score > 0
    ba = np.array([balanced_accuracy(truth[:, a], pred[:, a]) for a in range(truth.shape[1])])
    auc = np.array([roc_auc(truth[:, a], score[:, a]) for a in range(truth.shape[1])])
    oracle = np.array([best_threshold_ba(truth[:, a], score[:, a]) for a in range(truth.shape[1])])
    return {
        "mean_balanced_accuracy": float(ba.mean()),
        "groups": {k: v[0] for k, v in group_means(ba, rate).items()},
        "mean_auc": float(np.nanmean(auc)),
        "best_threshold_ba": float(oracle.mean()),
        "per_attribute_ba": ba.tolist(),
    }


def lmle_scores(root: Path, train_range: str, seed: int, sets: list[str], tune) -> np.ndarray:
    """Train LMLE on ``train_range`` through the engine and return the tuning faces' kNN margins."""
    task = LMLETask()
    overrides = [
        "device=cpu",
        f"seed={seed}",
        "checkpoint_every=0",
        f'task.celeba_root="{root}"',
        f'task.train_range="{train_range}"',
        'task.val_range=""',
        *sets,
    ]
    config = build_config(task.config_cls, overrides=overrides, train_defaults=task.train_defaults)
    with tempfile.TemporaryDirectory() as run:
        for record in train(task, config, run_dir=Path(run) / "run"):
            if record.get("event") == "step" and record["step"] % 500 == 0:
                print(f"    step {record['step']} loss {record['loss']:.3f}", file=sys.stderr, flush=True)
    core, cfg = task.model, task.cfg
    layout = core.final_layout() if cfg.method == "lmle" else None
    model = AttributeModel(
        cfg.method, tune.names, head=core.head, layout=layout, knn_k=cfg.knn_k, meta={"tta": int(cfg.tta)}
    )
    if cfg.method == "triplet":
        model.set_bank(task.train_split.features, task.train_split.labels)
    return model.decide(tune.features, tune.flipped if model.tta else None)[1]


def run_fold(root: Path, fold: str, seeds: list[int], wds: list[float], sets: list[str]) -> dict:
    train_range, tune_range = FOLDS[fold]
    dataset = CelebA.open(root)
    tr = load_split(dataset, train_range, flipped=True)
    tune = load_split(dataset, tune_range, flipped=True)
    rate = tr.labels.mean(0)
    out: dict = {"train_range": train_range, "tune_range": tune_range, "methods": {}}
    views = tr.views()
    x = torch.from_numpy(views.reshape(-1, views.shape[2]))
    y = torch.from_numpy(np.repeat(tr.labels, views.shape[1], axis=0))
    linear_scores = {}
    for wd in wds:
        model = AttributeModel(
            "linear", tune.names, linear=fit_linear(x, y, weight_decay=wd), meta={"tta": 1}
        )
        linear_scores[wd] = model.decide(tune.features, tune.flipped)[1]
        out["methods"][f"linear wd={wd:g}"] = summarise(tune.labels, linear_scores[wd], rate)
    best_wd = max(wds, key=lambda w: out["methods"][f"linear wd={w:g}"]["mean_balanced_accuracy"])
    for seed in seeds:
        print(f"  fold {fold}: LMLE seed {seed}", file=sys.stderr, flush=True)
        margin = lmle_scores(root, train_range, seed, sets, tune)
        out["methods"][f"LMLE seed={seed}"] = summarise(tune.labels, margin, rate)
        lin = linear_scores[best_wd]
        fused = margin / margin.std(0).clip(1e-6) + lin / lin.std(0).clip(1e-6)
        out["methods"][f"LMLE seed={seed} + linear wd={best_wd:g}"] = summarise(tune.labels, fused, rate)
    return out


def print_fold(fold: str, result: dict) -> None:
    groups = [g[0] for g in IMBALANCE_GROUPS]
    print(f"\nfold {fold}: train {result['train_range']}, tune {result['tune_range']}")
    header = f"{'method':34s} {'mean BA':>8s} " + " ".join(f"{g:>13s}" for g in groups)
    header += f" {'mean AUC':>9s} {'best-thr BA':>11s}"
    print(header)
    print("-" * len(header))
    for name, r in result["methods"].items():
        cells = " ".join(f"{r['groups'][g]:13.4f}" for g in groups)
        print(
            f"{name:34s} {r['mean_balanced_accuracy']:8.4f} {cells} {r['mean_auc']:9.4f} {r['best_threshold_ba']:11.4f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--celeba-root", type=Path, default=SHARED_DIR / "data" / "celeba_89x109_dev")
    parser.add_argument("--folds", default="A,B")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--wd", default="0.001,0.003,0.01,0.03", help="linear baseline L2 grid")
    parser.add_argument("--set", action="append", default=[], help="an lmle task override, e.g. task.dim=16")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not (args.celeba_root / "list_attr_celeba.txt").is_file():
        print(f"no CelebA at {args.celeba_root} (needs ../shared)", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    seeds = [int(s) for s in args.seeds.split(",")]
    wds = [float(w) for w in args.wd.split(",")]
    doc = {"sets": args.set, "folds": {}}
    for fold in args.folds.split(","):
        doc["folds"][fold] = run_fold(args.celeba_root, fold, seeds, wds, args.set)
        print_fold(fold, doc["folds"][fold])
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
