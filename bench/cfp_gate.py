"""DREAM's gate on CFP dev: yaw and ``Y(yaw)`` histograms of frontals and profiles, and the yaw estimates.

    OMP_NUM_THREADS=1 .venv/bin/python bench/cfp_gate.py [--root ../shared/data/cfp_dev] [--cache DIR]
        [--plot OUT.png]

Reads the cached CFP features (CenterFace boxes and 5 points, face-api's 68
landmarks, the fused yaw) of every protocol image and prints, per yaw
estimate, how often frontals come out below 20°, profiles above 50°, and how
well the 35° cut separates them. Estimates: the one verification uses
(:func:`core.recognize.pose.estimate_yaw`, the cue model of
:mod:`core.recognize.yaw_cues`; also on its held-out fold 9 alone), the fused
PnP estimate it starts from, that estimate's two PnP fits, and a 5-point
*foreshortening* estimate measured here only (not used): the eye distance
over the eye-to-mouth height, ``acos(ratio / median frontal ratio)``, taken
instead of the fused yaw when it is larger and the nose sits off the
eye-mouth line by more than :data:`NOSE_OFFSET` face heights (so a wide face
seen frontally is not called turned). ``--plot`` writes a PNG of the |yaw| and
gate histograms of the fused estimate (frontals blue, profiles orange).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cfp.evaluate import fold_keys  # noqa: E402
from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol, is_profile_key  # noqa: E402
from core.cfp.stitching import identities_of_folds, table_identities  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.dream import gate_value  # noqa: E402
from core.recognize.pose import fused_yaw, yaw_from_inner68  # noqa: E402
from core.recognize.yaw import yaw_from_points5  # noqa: E402

#: Nose offset from the eye-mouth line (face heights) above which the foreshortening estimate may
#: apply: above 99.9 % of CFP frontals (0.15), below 99 % of profiles (0.19).
NOSE_OFFSET = 0.15
FRONTAL_MAX, PROFILE_MIN, CUT = 20.0, 50.0, 35.0
HELD_OUT_FOLD = 9  # never read by tools/train_yaw_cues.py until its last line
FRONTAL_BGR, PROFILE_BGR = (200, 110, 40), (30, 140, 240)


def foreshortening_yaw(points5: np.ndarray, fused: np.ndarray, frontal: np.ndarray) -> np.ndarray:
    """The fused yaw, replaced by the 5-point foreshortening estimate where that is larger (see above)."""
    eyes = (points5[:, 0] + points5[:, 1]) / 2
    mouth = (points5[:, 3] + points5[:, 4]) / 2
    height = np.linalg.norm(mouth - eyes, axis=1)
    down = (mouth - eyes) / height[:, None]
    across = np.stack([down[:, 1], -down[:, 0]], axis=1)
    nose_offset = ((points5[:, 2] - (eyes + mouth) / 2) * across).sum(axis=1) / height
    ratio = np.linalg.norm(points5[:, 1] - points5[:, 0], axis=1) / height
    ratio0 = np.nanmedian(ratio[frontal])
    turned = np.degrees(np.arccos(np.clip(ratio / ratio0, 0.0, 1.0)))
    base = np.nan_to_num(fused, nan=0.0)
    use = (np.abs(nose_offset) > NOSE_OFFSET) & (turned > np.abs(base))
    return np.where(use, turned * np.where(base < 0, -1.0, 1.0), fused)


def yaw_statistics(yaw: np.ndarray, profile: np.ndarray) -> dict[str, float]:
    a = np.abs(np.nan_to_num(yaw, nan=0.0))
    return {
        "frontal_below_20": float((a[~profile] < FRONTAL_MAX).mean()),
        "profile_above_50": float((a[profile] > PROFILE_MIN).mean()),
        "accuracy_at_35": float(((a >= CUT) == profile).mean()),
        "profile_median": float(np.median(a[profile])),
        "frontal_median": float(np.median(a[~profile])),
    }


def _histogram_panel(
    values: list[np.ndarray], edges: np.ndarray, title: str, marks: list[float]
) -> np.ndarray:
    """One white panel with outlined histograms (fraction of each group per bin), ticks and marks."""
    w, h, left, bottom, top = 640, 300, 50, 40, 30
    panel = np.full((h, w, 3), 255, np.uint8)
    fractions = [np.histogram(v, edges)[0] / max(len(v), 1) for v in values]
    peak = max(float(f.max()) for f in fractions) or 1.0
    x = lambda v: int(left + (v - edges[0]) / (edges[-1] - edges[0]) * (w - left - 20))  # noqa: E731
    y = lambda f: int(h - bottom - f / peak * (h - bottom - top))  # noqa: E731
    for mark in marks:
        cv2.line(panel, (x(mark), top), (x(mark), h - bottom), (160, 160, 160), 1)
    for frac, color in zip(fractions, (FRONTAL_BGR, PROFILE_BGR), strict=True):
        for i, f in enumerate(frac):
            if f > 0:
                cv2.rectangle(panel, (x(edges[i]), y(f)), (x(edges[i + 1]), h - bottom), color, 2)
    cv2.line(panel, (left, h - bottom), (w - 20, h - bottom), (0, 0, 0), 1)
    for v in np.linspace(edges[0], edges[-1], 7):
        cv2.putText(
            panel, f"{v:.3g}", (x(v) - 10, h - bottom + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1
        )
    cv2.putText(panel, title, (left, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
    return panel


def write_plot(path: Path, yaw: np.ndarray, profile: np.ndarray) -> None:
    """|yaw| and gate histograms of frontals (blue) and profiles (orange) into one PNG."""
    a = np.abs(yaw[np.isfinite(yaw)])
    prof = profile[np.isfinite(yaw)]
    gate = gate_value(a)
    legend = "CFP dev, frontal blue / profile orange"
    panels = [
        _histogram_panel([a[~prof], a[prof]], np.arange(0, 93, 3.0), f"|yaw| (deg), {legend}", [20, 35, 50]),
        _histogram_panel([gate[~prof], gate[prof]], np.linspace(0, 1, 41), f"gate Y(yaw), {legend}", [0.5]),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.vstack(panels)):
        raise OSError(f"could not write {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=str(SHARED_DIR / "data" / "cfp_dev"))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder")
    parser.add_argument("--plot", type=Path, default=None, help="write the histograms to this PNG")
    args = parser.parse_args(argv)
    cfp = CfpProtocol.open(args.root)
    table = load_features(cfp.root, fold_keys(cfp, ("FP", "FF"), cfp.folds("FP")), args.cache)
    profile = np.array([is_profile_key(k) for k in table.keys])
    fused = np.array([fused_yaw(lm, p5).yaw for lm, p5 in zip(table.landmarks68, table.points5, strict=True)])
    estimates = {
        "cue model (used)": table.yaw,
        "fused PnP": fused,
        "inner 51 landmarks": np.array([yaw_from_inner68(p).yaw for p in table.landmarks68]),
        "CenterFace 5 points (PnP)": np.array([yaw_from_points5(p).yaw for p in table.points5]),
        "fused + 5-point foreshortening": foreshortening_yaw(table.points5, fused, ~profile),
    }
    fold9 = np.isin(table_identities(table), sorted(identities_of_folds([HELD_OUT_FOLD])))
    print(f"CFP dev: {len(table)} images, {int(profile.sum())} profiles")
    print("estimate                         frontal<20  profile>50  cut 35   median profile")
    for name, yaw in estimates.items():
        s = yaw_statistics(yaw, profile)
        print(
            f"{name:32s} {100 * s['frontal_below_20']:8.1f} %  {100 * s['profile_above_50']:8.1f} %  "
            f"{100 * s['accuracy_at_35']:6.2f} %  {s['profile_median']:6.1f}°"
        )
    for name in ("cue model (used)", "fused PnP"):
        s = yaw_statistics(estimates[name][fold9], profile[fold9])
        print(
            f"{name + f', fold {HELD_OUT_FOLD}':32s} {100 * s['frontal_below_20']:8.1f} %  {100 * s['profile_above_50']:8.1f} %  "
            f"{100 * s['accuracy_at_35']:6.2f} %  {s['profile_median']:6.1f}°  (the cue model's held-out fold)"
        )
    gate = gate_value(np.abs(np.nan_to_num(table.yaw, nan=0.0)))
    print(
        f"gate Y (used): frontal median {np.median(gate[~profile]):.4f}, profile median "
        f"{np.median(gate[profile]):.3f}, profiles with Y > 0.5: {100 * (gate[profile] > 0.5).mean():.1f} %"
    )
    if args.plot is not None:
        write_plot(args.plot, table.yaw, profile)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
