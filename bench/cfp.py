"""CFP-FP and CFP-FF for every stem, with and without its own DREAM block, per fold and mean.

    .venv/bin/python bench/cfp.py [--root ../shared/data/cfp_dev] [--stems faceres,faceapi] [--held-out 9]
                                  [--cache DIR] [--yaw] [--json OUT]

For each protocol and stem: accuracy (threshold chosen on the other folds),
EER and AUC per fold, the mean over the tuning folds and the mean over the
held-out folds. Both DREAM blocks were trained on folds 1–7 and chosen on fold
8, and faceres's alignment, input and views chosen, on folds 1–8 (face-api's
block's ``train_folds`` and ``val_folds`` meta), so only the held-out folds
(default: every fold in neither) measure
generalisation (the held-out EER difference of every two rows comes with a
paired bootstrap 95 % interval over the held-out pairs); rows of tuning folds are marked ``tuning`` and are
*in-sample* for DREAM and for the faceres settings. ``--yaw`` adds the yaw check
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
from core.cfp.stem_features import with_stem  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.bootstrap import paired_bootstrap  # noqa: E402
from core.recognize.dream import shared_mapper  # noqa: E402
from core.recognize.stem_calibration import mapper_for_stem  # noqa: E402
from core.recognize.stems import STEMS, stem_spec  # noqa: E402


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


def _rows(cfp, table, stems: list[str], cache) -> list[tuple[str, object, object, bool]]:
    """(label, feature table, mapper, DREAM on) of every stem, with its own DREAM block where it has one."""
    rows = []
    for stem in stems:
        spec = stem_spec(stem)
        stem_table = with_stem(cfp.root, table, spec.name, cache)
        mapper = mapper_for_stem(spec.name) if spec.has_dream else None
        rows.append((f"{spec.name}", stem_table, mapper, False))
        if spec.has_dream:
            rows.append((f"{spec.name} + DREAM", stem_table, mapper, True))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument(
        "--held-out",
        default=None,
        help="held-out folds (default: those that neither trained nor chose the block)",
    )
    parser.add_argument("--stems", default=",".join(STEMS), help="stems to measure (default: all)")
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    parser.add_argument("--yaw", action="store_true", help="also print the yaw check")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    cfp = CfpProtocol.open(args.root)
    mapper = shared_mapper()
    folds = sorted(set(cfp.folds("FP")) & set(cfp.folds("FF")))
    # folds that trained or chose the block (train + validation) are tuning folds, never held out
    chose = [mapper.meta.get("train_folds", "1-8"), mapper.meta.get("val_folds") or ""]
    train_folds = parse_folds(",".join(chose))
    held = parse_folds(args.held_out) if args.held_out else [k for k in folds if k not in train_folds]
    t0 = time.perf_counter()
    keys = fold_keys(cfp, ("FP", "FF"), folds)
    table = load_features(cfp.root, keys, args.cache)
    rows = _rows(cfp, table, [s for s in args.stems.split(",") if s], args.cache)
    print(
        f"CFP root {cfp.root}: folds {folds}; chosen on / DREAM trained on folds {train_folds}; held out: {held}"
    )
    print(f"{len(keys)} images, features in {time.perf_counter() - t0:.1f} s (cached after the first run)\n")
    report: dict = {"root": str(cfp.root), "folds": folds, "held_out": held, "train_folds": train_folds}
    for protocol in ("FP", "FF"):
        results = {
            label: evaluate_protocol(cfp, t, protocol, folds, m, use_dream=dream)
            for label, t, m, dream in rows
        }
        report[protocol] = _print_protocol(protocol, results, folds, held)
        report[protocol]["eer_differences"] = _print_differences(results, held)
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


def _print_differences(results: dict, held: list[int]) -> dict:
    """Held-out EER of every row minus every earlier row's, with a paired bootstrap 95 % interval."""
    labels = list(results)
    keep = np.isin(results[labels[0]].pairs.fold, held)
    out = {}
    for i, base in enumerate(labels):
        first = results[base].pairs
        for label in labels[i + 1 :]:
            other = results[label].pairs
            ci = paired_bootstrap(first.scores[keep], other.scores[keep], first.labels[keep])
            out[f"{label} − {base}"] = {"difference": ci.difference, "low": ci.low, "high": ci.high}
            print(f"  held-out EER, {label} − {base}: {100 * ci.difference:+.2f} points "
                  f"(paired bootstrap 95 % CI {100 * ci.low:+.2f} … {100 * ci.high:+.2f})")  # fmt: skip
    print()
    return out


def _mean(sel: list, name: str) -> float | None:
    return float(np.mean([getattr(f, name) for f in sel])) if sel else None


def _print_protocol(protocol: str, results: dict, folds: list[int], held: list[int]) -> dict:
    """One table per protocol: a row per fold (tuning or HELD-OUT), then the means; returns the JSON part."""
    labels = list(results)
    print(f"CFP-{protocol}   accuracy % / EER % / AUC   " + "  |  ".join(f"{lab:>24s}" for lab in labels))
    for i, k in enumerate(folds):
        tag = "HELD-OUT" if k in held else "tuning  "
        cells = [results[lab].folds[i] for lab in labels]
        print(
            f"  fold {k} {tag}  "
            + "  |  ".join(f"{100 * f.accuracy:6.2f} / {100 * f.eer:5.2f} / {f.auc:.4f}" for f in cells)
        )
    summary = {}
    for label, res in results.items():
        sel = [f for f in res.folds if f.fold in held]
        tuning = [f for f in res.folds if f.fold not in held]
        summary[label] = {
            "all": res.to_json(),
            "eer_std": res.eer_std,
            "held_out": {
                "folds": [f.fold for f in sel],
                **{f"{n}_mean": _mean(sel, n) for n in ("accuracy", "eer", "auc")},
            },
            "tuning": {
                "folds": [f.fold for f in tuning],
                **{f"{n}_mean": _mean(tuning, n) for n in ("accuracy", "eer", "auc")},
            },
        }
    for title, key in (("mean, tuning", "tuning"), ("mean, held-out", "held_out")):
        cells = []
        for label in labels:
            m = summary[label][key]
            if m["accuracy_mean"] is None:
                cells.append(f"{'—':>24s}")
                continue
            cells.append(
                f"{100 * m['accuracy_mean']:6.2f} / {100 * m['eer_mean']:5.2f} / {m['auc_mean']:.4f}"
            )
        print(f"  {title:16s} " + "  |  ".join(cells))
    print()
    return summary


if __name__ == "__main__":
    sys.exit(main())
