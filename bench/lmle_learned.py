"""The learned LMLE (fine-tuned conv256 stage) against the same-stage class-weighted baseline.

    .venv/bin/python bench/lmle_learned.py train --split A --method lmle --out runs/a-lmle [--per-attribute]
        [--steps N] [--set task.NAME=VALUE ...]
    .venv/bin/python bench/lmle_learned.py outputs --out runs/a-lmle [--query 7001-8000 --name test]
        (a stopped run's last checkpoint, or the run scoring other images into NAME.npz)
    .venv/bin/python bench/lmle_learned.py sweep runs/a-lmle [--sizes 25,50,100,200] [--ks 1,5,10,20,40]
    .venv/bin/python bench/lmle_learned.py compare runs/a-lmle runs/a-linear [--size 50 --k 10]
        [--outputs test] [--json OUT]

Splits: ``A`` trains on 1-6000 and scores 6001-7000 (the inner fold every
choice is made on); ``final`` trains on 1-7000 and scores 7001-8000, the
reported images, once, with the choices of fold A. A fold-A run can also be
read once on 7001-8000 (``outputs --query 7001-8000 --name test``, then
``compare --outputs test``): train 1-6000, choose on 6001-7000, report on
7001-8000, the protocol a learned model to ship is measured by. ``train`` resumes a
stopped run (its --out folder holds the engine's checkpoint), then writes
``outputs.npz`` (training and query embeddings, or logits) and
``timing.json`` (training wall time). ``sweep`` re-clusters a trained
embedding with other cluster sizes and k; ``compare`` prints mean balanced
accuracy overall and on the 10 rarest attributes with paired bootstrap 95 %
intervals (over faces) of the differences. Needs the caches of
``bench/lmle_cache.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.attributes.bootstrap import paired_bootstrap, rarest  # noqa: E402
from core.attributes.clustering import cluster_attributes  # noqa: E402
from core.attributes.export import read_run  # noqa: E402
from core.attributes.knn import cluster_knn  # noqa: E402
from core.attributes.learned_task import LearnedConfig, LearnedTask, query_outputs  # noqa: E402
from core.attributes.metrics import balanced_accuracy  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.train.config import build_config, from_dict  # noqa: E402
from core.train.loop import train  # noqa: E402

SPLITS = {"A": ("1-6000", "6001-7000"), "final": ("1-7000", "7001-8000")}
CELEBA = SHARED_DIR / "data" / "celeba_89x109_dev"


def run_training(args: argparse.Namespace) -> int:
    train_range, query_range = SPLITS[args.split]
    task = LearnedTask()
    overrides = [
        "device=cpu",
        f"max_steps={args.steps}",
        f'task.celeba_root="{args.celeba_root}"',
        f'task.train_range="{train_range}"',
        f'task.val_range="{query_range}"',
        f'task.method="{args.method}"',
        f"task.shared={'false' if args.per_attribute else 'true'}",
        *args.set,
    ]
    config = build_config(task.config_cls, overrides=overrides, train_defaults=task.train_defaults)
    start = time.perf_counter()
    for record in train(task, config, run_dir=args.out, resume=True):
        if record.get("event") == "step" and record["step"] % 50 == 0:
            print(f"step {record['step']} loss {record['loss']:.4f}", flush=True)
    seconds = time.perf_counter() - start
    write_outputs(task, args)
    (args.out / "timing.json").write_text(
        json.dumps({"train_seconds_this_call": seconds, "threads": torch.get_num_threads()}) + "\n"
    )
    print(f"trained in {seconds:.0f} s on {torch.get_num_threads()} threads -> {args.out}")
    return 0


def from_checkpoint(args: argparse.Namespace) -> int:
    """``NAME.npz`` of a run's last checkpoint (a stopped run, or other query images: ``--query``)."""
    ckpt, config = read_run(args.out, "lmle_learned")
    task = LearnedTask()
    task_cfg = config["task"]
    if args.query:
        task_cfg["val_range"] = args.query
    core = task.build_model(from_dict(LearnedConfig, task_cfg))
    core.load_state_dict(ckpt["model"])
    args.method = task.cfg.method
    write_outputs(task, args)
    print(f"outputs of step {int(ckpt['step'])} -> {args.out}")
    return 0


def write_outputs(task: LearnedTask, args: argparse.Namespace) -> None:
    core, split = task.model, task.train_split
    query = query_outputs(core, task.val_split)
    out = {"query_labels": task.val_split.labels, "train_labels": split.labels, "method": args.method}
    if args.method == "lmle":
        bank = core.train_embeddings()
        shared = core.cfg.shared
        out["train_emb"] = (bank[:, 0] if shared else bank).half().numpy()
        out["query_emb"] = (query[:, 0] if shared else query).half().numpy()
    else:
        out["logits"] = query.numpy()
    np.savez(args.out / f"{getattr(args, 'name', 'outputs')}.npz", **out)


def _as_attributes(emb: np.ndarray, num_attr: int) -> torch.Tensor:
    x = torch.from_numpy(emb.astype(np.float32))
    return x[:, None].expand(-1, num_attr, -1) if x.ndim == 2 else x


def train_layout(outputs: dict, size: int, seed: int = 0):
    """Clusters of about ``size`` faces per class on the saved training embeddings."""
    labels = torch.from_numpy(outputs["train_labels"])
    return cluster_attributes(
        _as_attributes(outputs["train_emb"], labels.shape[1]),
        labels,
        min_size=size,
        iters=10,
        generator=torch.Generator().manual_seed(seed),
    )


def lmle_predictions(outputs: dict, size: int, k: int, layout=None) -> np.ndarray:
    layout = layout or train_layout(outputs, size)
    query = _as_attributes(outputs["query_emb"], outputs["train_labels"].shape[1])
    return cluster_knn(query, layout.centroids, layout.centroid_label, k).positive.numpy()


def predictions(run: Path, size: int, k: int, name: str = "outputs") -> tuple[np.ndarray, dict]:
    outputs = dict(np.load(run / f"{name}.npz"))
    if str(outputs["method"]) == "linear":
        return outputs["logits"] > 0, outputs
    return lmle_predictions(outputs, size, k), outputs


def mean_ba(truth: np.ndarray, pred: np.ndarray, columns=None) -> float:
    cols = range(truth.shape[1]) if columns is None else columns
    return float(np.mean([balanced_accuracy(truth[:, a], pred[:, a]) for a in cols]))


def sweep(args: argparse.Namespace) -> int:
    outputs = dict(np.load(args.run / "outputs.npz"))
    truth = outputs["query_labels"]
    rare = rarest(outputs["train_labels"].mean(0))
    print(f"{'cluster size':>12s} {'k':>4s} {'mean BA':>8s} {'rare-10 BA':>10s}")
    result = {}
    for size in (int(s) for s in args.sizes.split(",")):
        layout = train_layout(outputs, size)
        for k in (int(v) for v in args.ks.split(",")):
            pred = lmle_predictions(outputs, size, k, layout)
            result[f"{size}x{k}"] = (mean_ba(truth, pred), mean_ba(truth, pred, rare))
            print(
                f"{size:12d} {k:4d} {result[f'{size}x{k}'][0]:8.4f} {result[f'{size}x{k}'][1]:10.4f}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def compare(args: argparse.Namespace) -> int:
    preds, truth, rare, doc = {}, None, None, {}
    for run in args.runs:
        pred, outputs = predictions(run, args.size, args.k, args.outputs)
        preds[run.name] = pred
        truth = outputs["query_labels"] if truth is None else truth
        rare = rarest(outputs["train_labels"].mean(0)) if rare is None else rare
    first = args.runs[0].name
    print(f"{'run':24s} {'mean BA':>8s} {'rare-10 BA':>10s}")
    for name, pred in preds.items():
        doc[name] = {"mean_balanced_accuracy": mean_ba(truth, pred), "rarest10": mean_ba(truth, pred, rare)}
        print(f"{name:24s} {doc[name]['mean_balanced_accuracy']:8.4f} {doc[name]['rarest10']:10.4f}")
    for name in list(preds)[1:]:
        overall = paired_bootstrap(truth, preds[first], preds[name])
        rare10 = paired_bootstrap(truth, preds[first], preds[name], attributes=rare)
        doc[f"{first} - {name}"] = {"all": overall.to_json(), "rarest10": rare10.to_json()}
        print(
            f"{first} - {name}: {overall.difference:+.4f} [{overall.low:+.4f}, {overall.high:+.4f}]; "
            f"10 rarest {rare10.difference:+.4f} [{rare10.low:+.4f}, {rare10.high:+.4f}]"
        )
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train")
    p.add_argument("--split", choices=SPLITS, required=True)
    p.add_argument("--method", choices=("lmle", "linear"), default="lmle")
    p.add_argument("--per-attribute", action="store_true", help="one embedding per attribute, not shared")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--set", action="append", default=[], help="a task override, e.g. task.cluster_size=100")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--celeba-root", type=Path, default=CELEBA)
    p = sub.add_parser("outputs", help="outputs.npz from a run's last checkpoint")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--query", default=None, help="score these images instead of the split's (e.g. 7001-8000)")
    p.add_argument("--name", default="outputs", help="file name: NAME.npz in the run folder")
    p = sub.add_parser("sweep")
    p.add_argument("run", type=Path)
    p.add_argument("--sizes", default="25,50,100,200")
    p.add_argument("--ks", default="1,5,10,20,40")
    p.add_argument("--json", type=Path, default=None)
    p = sub.add_parser("compare")
    p.add_argument("runs", type=Path, nargs="+", help="the first is compared with each other")
    p.add_argument("--size", type=int, default=50)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--outputs", default="outputs", help="which NAME.npz of each run to compare")
    p.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    commands = {"train": run_training, "outputs": from_checkpoint, "sweep": sweep, "compare": compare}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
