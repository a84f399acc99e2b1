"""ScaleFace's ablation table: each variant's AP beside a base run, with paired bootstrap intervals.

    nice -n 10 .venv/bin/python bench/scaleface_ablation.py \\
        base=runs/abl_base/last.pt no_ohem=runs/abl_no_ohem/last.pt ... \\
        [--base base] [--same-as base=base_s1,base_s2] [--sets 416-val,native] [--replicates 1000]

Every run is a ``label=checkpoint`` pair (a training run's ``last.pt``); the
first label is the base unless ``--base`` names one. Per set (those of
``bench/wider_ranges.py``: the 416 px dev set's val part and the native dev
images, neither trained on) and run: AP on valid faces ≥ 10 px, and the small
branch's own recall in its range; per variant, the difference to the base
with a 95 % paired bootstrap interval over images (``core.wider.ap_bootstrap``).

Seeds: ``--same-as base=base_s1,base_s2`` declares runs that differ from
``base`` only in the training seed; their spread is printed as the seed-to-seed
range, the size a difference needs before a single-seed row means anything.
Predictions are cached beside each checkpoint (``<label>.<set>.npz``), so a
second call only re-computes the statistics.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import LoadWatch  # noqa: E402
from bench.wider_ap import DATA  # noqa: E402
from bench.wider_ranges import GE10, load_set, own_branch_recall, run  # noqa: E402
from core.detect.on_split import EVAL_MIN_SCORE  # noqa: E402
from core.wider.ap_bootstrap import paired_ap_bootstrap  # noqa: E402
from core.wider.evaluation import evaluate  # noqa: E402


def predictions_of(label: str, checkpoint: Path, set_name: str, dataset) -> tuple[dict, dict]:
    """``run``'s predictions and groups, cached beside the checkpoint."""
    cache = checkpoint.parent / f"{label}.{set_name}.npz"
    if cache.is_file() and cache.stat().st_mtime >= checkpoint.stat().st_mtime:
        with np.load(cache, allow_pickle=False) as data:
            keys = [str(k) for k in data["keys"]]
            return (
                {k: data[f"p{i}"] for i, k in enumerate(keys)},
                {k: data[f"g{i}"].astype(object) for i, k in enumerate(keys)},
            )
    from core.detect.registry import create_detector

    detector = create_detector("scaleface", device="cpu", checkpoint=str(checkpoint))
    predictions, groups = run(detector, dataset, EVAL_MIN_SCORE)
    keys = list(predictions)
    arrays = {"keys": np.array(keys)}
    for i, k in enumerate(keys):
        arrays[f"p{i}"] = predictions[k]
        arrays[f"g{i}"] = np.asarray(groups[k], dtype=str)
    np.savez(cache, **arrays)
    return predictions, groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("runs", nargs="+", help="label=path/to/last.pt")
    parser.add_argument("--base", default=None)
    parser.add_argument("--same-as", default="", help="base=seed_run,seed_run: runs that differ only in seed")
    parser.add_argument("--sets", default="416-val,native")
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"nothing to do: {DATA} is absent (the WIDER dev subsets live in ../shared)")
        return 0
    runs = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            parser.error(f"{item!r}: expected label=checkpoint with an existing file")
        runs[label] = Path(path)
    base = args.base or next(iter(runs))
    if base not in runs:
        parser.error(f"--base {base!r} is not among the runs")
    seeds = [s for s in args.same_as.partition("=")[2].split(",") if s]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    watch = LoadWatch()
    for set_name in args.sets.split(","):
        gt, dataset = load_set(set_name)
        preds = {label: predictions_of(label, path, set_name, dataset) for label, path in runs.items()}
        ap = {
            label: evaluate(gt, p, settings=[GE10], breakdown=False).settings[GE10].ap
            for label, (p, _) in preds.items()
        }
        print(f"\n{set_name}: {len(dataset)} images, AP on valid faces >= 10 px (base {base})")
        for label, (p, groups) in preds.items():
            small = own_branch_recall(gt, p, groups)["small"]
            line = f"  {label:<14} AP>=10 {ap[label]:.3f}  own small recall {small:.3f}"
            if label != base:
                interval = paired_ap_bootstrap(gt, preds[base][0], p, GE10, replicates=args.replicates)
                line += f"  vs base {interval}"
            print(line)
        group = [base, *[s for s in seeds if s in ap]]
        if len(group) > 1:
            values = [ap[s] for s in group]
            print(f"  seed spread of {base} ({len(group)} seeds): {min(values):.3f} .. {max(values):.3f}")
    print("\n" + watch.footer("scaleface_ablation"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
