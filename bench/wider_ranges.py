"""ScaleFace beside CenterFace and the peers, per scale range: AP, recall and each branch's own recall.

    nice -n 10 .venv/bin/python bench/wider_ranges.py [--models scaleface,centerface,yunet-n,...]
        [--sets 416-val,native] [--checkpoint RUN/last.pt] [--runs 5] [--json OUT]

Rows: ``scaleface`` (the bundled model, or ``--checkpoint``), ``centerface``,
``centerface-accurate`` / ``scaleface-accurate`` (``mode="accurate"``: several
scales, mirrored, box voting) and the peers of ``bench/peers`` when
``../shared/data/peers`` and onnxruntime are there.

Sets (``../shared/data``):

* ``416-val``: the "val" part of ``wider_val_416_dev`` under the fixed split of
  ``core/wider/dev_split.py`` — ScaleFace's validation images (the "train"
  part is what it trained on, so it is never reported);
* ``416-train``: the other part, for the record of how far training fitted it;
* ``native``: ``wider_val_native_dev`` (5 images at 1024 px), never trained on.

Per detector and set: official easy/medium/hard AP (the set's images only);
``AP>=10``: AP over the valid faces at least 10 px tall (others ignored, as
the official tool ignores faces outside a setting); per ScaleFace range (10–40,
40–140, ≥140 px) the AP and recall (IoU 0.5, every detection counted) of all
detections on that range's faces; for detectors with scale branches also each
branch's **own** recall on its range (only that branch's detections). Timing:
median ms per image of ``--runs`` runs at 640×480 and at native size (the
first native dev image), in the same process, and the ratio to CenterFace.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import LoadWatch  # noqa: E402
from bench.wider_ap import DATA, detector_factories, dev_set  # noqa: E402
from core.detect.on_split import EVAL_MIN_SCORE  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.scale_ranges import SCALE_RANGES  # noqa: E402
from core.wider.attributes import ATTRIBUTE_NAMES  # noqa: E402
from core.wider.evaluation import evaluate  # noqa: E402
from core.wider.predictions import image_key  # noqa: E402

SETS = {
    "416-val": ("wider_val_416_dev", "val"),
    "416-train": ("wider_val_416_dev", "train"),
    "native": ("wider_val_native_dev", "all"),
}
GE10 = "valid>=10px"


def load_set(name: str):
    folder, part = SETS[name]
    gt, dataset = dev_set(DATA / folder, part=part)
    valid = gt.attributes[:, ATTRIBUTE_NAMES.index("invalid")] == 0
    height = gt.boxes[:, 3]
    ge10 = dataclasses.replace(gt, keep={**gt.keep, GE10: valid & (height >= 10)})
    return ge10, dataset


def run(detector, dataset, min_score: float):
    """Predictions ``key -> (N, 5) x y w h score`` and each row's group name."""
    predictions, groups = {}, {}
    for sample in dataset:
        image = load_image(sample.path)
        result = detector.detect(image, min_score=min_score)
        key = image_key(sample.event, sample.name)
        rows = [[*f.box[:2], f.box[2] - f.box[0], f.box[3] - f.box[1], f.score] for f in result.faces]
        predictions[key] = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
        groups[key] = np.asarray([f.branch for f in result.faces], dtype=object)
    return predictions, groups


def range_stats(gt, predictions) -> dict[str, tuple[float, float, int]]:
    """``{range: (AP, recall, faces)}`` of every detection on each ScaleFace range's valid faces ≥ 10 px."""
    result = evaluate(gt, predictions, settings=[GE10], breakdown=True)
    return {
        e.value: (e.ap, e.recall, e.num_faces)
        for e in result.breakdown
        if e.group == "scaleface" and e.setting == GE10
    }


def own_branch_recall(gt, predictions, groups) -> dict[str, float]:
    out = {}
    for name in SCALE_RANGES:
        mine = {k: rows[groups[k] == name] if len(rows) else rows for k, rows in predictions.items()}
        out[name] = range_stats(gt, mine).get(name, (0, float("nan"), 0))[1]
    return out


def timing(detector, runs: int) -> dict[str, float]:
    first = sorted((DATA / "wider_val_native_dev" / "images").rglob("*.jpg"))[0]
    native = load_image(first)
    images = {"640x480": cv2.resize(native, (640, 480), interpolation=cv2.INTER_AREA), "native": native}
    out = {}
    for label, image in images.items():
        detector.detect(image)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            detector.detect(image)
            times.append((time.perf_counter() - start) * 1000)
        out[label] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="scaleface,centerface")
    parser.add_argument("--sets", default="416-val,native")
    parser.add_argument("--checkpoint", default=None, help="a ScaleFace last.pt instead of the bundled model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--min-score", type=float, default=EVAL_MIN_SCORE)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"nothing to do: {DATA} is absent (the WIDER dev subsets live in ../shared)")
        return 0
    from core.detect.registry import create_detector
    from core.device import default_device

    default_device()
    watch = LoadWatch()
    factories, notes = detector_factories(torch.get_num_threads(), Path("/nonexistent"))
    factories["scaleface"] = lambda: create_detector("scaleface", device="cpu", checkpoint=args.checkpoint)
    for name in ("centerface", "scaleface"):  # the accurate mode: scales, mirrored, box voting
        factories[f"{name}-accurate"] = lambda n=name: create_detector(
            n, mode="accurate", device="cpu", **({"checkpoint": args.checkpoint} if n == "scaleface" else {})
        )
    sets = {name: load_set(name) for name in args.sets.split(",")}
    report = []
    for model in args.models.split(","):
        detector = factories[model]()
        times = timing(detector, args.runs)
        for set_name, (gt, dataset) in sets.items():
            predictions, groups = run(detector, dataset, args.min_score)
            official = evaluate(gt, predictions, settings=["easy", "medium", "hard", GE10], breakdown=False)
            row = {
                "model": model,
                "set": set_name,
                "images": len(dataset),
                "ap": {s: r.ap for s, r in official.settings.items()},
                "ranges": range_stats(gt, predictions),
                "ms": times,
            }
            if detector.branch_kind == "branch" and model.startswith("scaleface"):
                row["own_branch_recall"] = own_branch_recall(gt, predictions, groups)
            report.append(row)
        del detector
    print_report(report)
    print("\n" + watch.footer("wider_ranges"))
    watch.write_json(args.json, report)
    return 0


def print_report(report: list[dict]) -> None:
    ref = {r["set"]: r for r in report if r["model"] == "centerface"}
    for row in report:
        ap = row["ap"]
        ranges = "  ".join(f"{name} AP {a:.3f} R {r:.3f} ({n})" for name, (a, r, n) in row["ranges"].items())
        base = ref.get(row["set"])
        ratio = f" ({ap[GE10] / base['ap'][GE10]:.2f}x CenterFace)" if base and base["ap"][GE10] else ""
        ms = row["ms"]
        speed = ""
        if base:
            speed = " = " + " / ".join(f"{ms[k] / base['ms'][k]:.2f}x" for k in ms)
        print(
            f"{row['model']:<12}{row['set']:<10} e/m/h {ap['easy']:.3f}/{ap['medium']:.3f}/{ap['hard']:.3f}"
            f"  AP>=10 {ap[GE10]:.3f}{ratio}\n    {ranges}\n"
            f"    ms 640x480 {ms['640x480']:.0f} native {ms['native']:.0f}{speed}"
        )
        if "own_branch_recall" in row:
            own = "  ".join(f"{k} {v:.3f}" for k, v in row["own_branch_recall"].items())
            print(f"    own-branch recall in range: {own}")


if __name__ == "__main__":
    sys.exit(main())
