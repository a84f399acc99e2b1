"""CFP-FP and CFP-FF: face-api's descriptor alone vs with the shipped DREAM block, per fold and mean.

    .venv/bin/python bench/cfp.py [--root ../shared/data/cfp_dev] [--held-out 9] [--yaw] [--json OUT]

For each protocol and mode: accuracy (threshold chosen on the other folds),
EER and AUC per fold, the mean ± std over all folds, and the mean over the
held-out folds only. The shipped block was trained on folds 1–8 (its
``train_folds`` meta), so only the held-out folds (default: every fold not
in ``train_folds``) measure generalisation; rows of training folds are marked
``train`` and are *in-sample* for DREAM. ``--yaw`` adds the yaw check
(frontal < 20°, profile > 50°, frontal-vs-profile at a 35° cut) for the
fused estimate and for each of its two parts.

Stem features are read from the CFP feature cache (extracted on first use:
~12 min for the 6300 dev images at 1 thread on a busy 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.cfp.evaluate import evaluate_protocol, fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol, is_profile_key, parse_folds  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.dream import shared_mapper  # noqa: E402


def yaw_check(table) -> dict:
    """Yaw statistics of the fused estimate and of its two PnP fits."""
    from core.recognize.face_model3d import MEAN_FACE_68
    from core.recognize.pose import INNER_POINTS, yaw_from_inner68
    from core.recognize.yaw import solve_pose, yaw_from_points5

    profile = np.array([is_profile_key(k) for k in table.keys])
    variants = {
        "fused (used)": table.yaw,
        "inner 51 landmarks": np.array([yaw_from_inner68(p).yaw for p in table.landmarks68]),
        "CenterFace 5 points": np.array([yaw_from_points5(p).yaw for p in table.points5]),
        "all 68 landmarks": np.array([solve_pose(p, MEAN_FACE_68, "68").yaw for p in table.landmarks68]),
    }
    del INNER_POINTS
    out = {}
    for name, yaw in variants.items():
        a = np.abs(np.nan_to_num(yaw, nan=0.0))
        out[name] = {
            "frontal_below_20": float((a[~profile] < 20).mean()),
            "profile_above_50": float((a[profile] > 50).mean()),
            "accuracy_at_35": float(((a >= 35) == profile).mean()),
            "profile_median": float(np.median(a[profile])),
            "frontal_median": float(np.median(a[~profile])),
        }
    return {"images": len(profile), "profiles": int(profile.sum()), "estimates": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument(
        "--held-out", default=None, help="held-out folds (default: those not in the block's train_folds)"
    )
    parser.add_argument("--yaw", action="store_true", help="also print the yaw check")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    cfp = CfpProtocol.open(args.root)
    mapper = shared_mapper()
    folds = sorted(set(cfp.folds("FP")) & set(cfp.folds("FF")))
    train_folds = parse_folds(mapper.meta.get("train_folds", "1-8"))
    held = parse_folds(args.held_out) if args.held_out else [k for k in folds if k not in train_folds]
    t0 = time.perf_counter()
    keys = fold_keys(cfp, ("FP", "FF"), folds)
    table = load_features(cfp.root, keys)
    print(f"CFP root {cfp.root}: folds {folds}; DREAM trained on folds {train_folds}; held out: {held}")
    print(f"{len(keys)} images, features in {time.perf_counter() - t0:.1f} s (cached after the first run)\n")
    report: dict = {"root": str(cfp.root), "folds": folds, "held_out": held, "train_folds": train_folds}
    for protocol in ("FP", "FF"):
        results = {
            mode: evaluate_protocol(cfp, table, protocol, folds, mapper, use_dream=mode == "dream")
            for mode in ("stem", "dream")
        }
        print(f"CFP-{protocol}   accuracy % / EER % / AUC      stem alone  |  stem + DREAM")
        for i, k in enumerate(folds):
            s, d = results["stem"].folds[i], results["dream"].folds[i]
            tag = "HELD-OUT" if k in held else "train   "
            print(
                f"  fold {k} {tag}  {100 * s.accuracy:6.2f} / {100 * s.eer:5.2f} / {s.auc:.4f}"
                f"  |  {100 * d.accuracy:6.2f} / {100 * d.eer:5.2f} / {d.auc:.4f}"
            )
        summary = {}
        for mode, res in results.items():
            sel = [f for f in res.folds if f.fold in held]
            summary[mode] = {
                "all": res.to_json(),
                "eer_std": res.eer_std,
                "held_out": {
                    "folds": [f.fold for f in sel],
                    "accuracy_mean": float(np.mean([f.accuracy for f in sel])) if sel else None,
                    "eer_mean": float(np.mean([f.eer for f in sel])) if sel else None,
                    "auc_mean": float(np.mean([f.auc for f in sel])) if sel else None,
                },
            }
        for label, key in (("mean, all folds", "all"), ("mean, held-out", "held_out")):
            cells = []
            for mode in ("stem", "dream"):
                m = summary[mode][key]
                if m["accuracy_mean"] is None:
                    cells.append("   —")
                    continue
                std = f" ± {100 * m['accuracy_std']:.2f}" if key == "all" else ""
                cells.append(
                    f"{100 * m['accuracy_mean']:6.2f}{std} / {100 * m['eer_mean']:5.2f} / {m['auc_mean']:.4f}"
                )
            print(f"  {label:16s} {cells[0]}  |  {cells[1]}")
        h_s, h_d = summary["stem"]["held_out"], summary["dream"]["held_out"]
        if h_s["eer_mean"] is not None:
            print(
                f"  held-out EER change with DREAM: {100 * (h_d['eer_mean'] - h_s['eer_mean']):+.2f} points; "
                f"accuracy {100 * (h_d['accuracy_mean'] - h_s['accuracy_mean']):+.2f} points\n"
            )
        report[protocol] = summary
    if args.yaw:
        check = yaw_check(table)
        report["yaw"] = check
        print(f"Yaw check on {check['images']} images ({check['profiles']} profiles):")
        for name, s in check["estimates"].items():
            print(
                f"  {name:20s} frontal <20°: {100 * s['frontal_below_20']:5.1f} %   profile >50°: "
                f"{100 * s['profile_above_50']:5.1f} %   35° cut: {100 * s['accuracy_at_35']:5.2f} %   "
                f"median |yaw| frontal {s['frontal_median']:.1f}°, profile {s['profile_median']:.1f}°"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
