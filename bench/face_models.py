"""Per-face timing of the face-api per-face models (PyTorch ports) vs face-api in node.

    .venv/bin/python bench/face_models.py [--threads 2] [--runs 7] [--json OUT]

Protocol, as ``make_ref.js`` timed face-api (tfjs 4.22 WASM SIMD, 1 thread,
2-vCPU AMD EPYC; ``../shared/data/faceapi_ref/ref/timing.json``): for each
demo image, the crops of all its faces are extracted beforehand; one timed
call runs pad + resize + network for all of them; the per-face time is the
median call over ``--runs`` (after a warm-up) divided by the face count,
and the figure is the median over the six images. face-api runs its faces
one after another, so two columns are printed for us: ``batched`` (all faces
of the image in one forward pass: what the wrappers do) and ``one-by-one``
(one forward per face: like face-api).

Needs the reference boxes of ``../shared``; without them the three faces
of sample1 (hand boxes) are timed and no ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.imageio import load_image  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.age_gender import AgeGenderEstimator  # noqa: E402
from core.recognize.crops import crop_image  # noqa: E402
from core.recognize.embedder import Embedder  # noqa: E402
from core.recognize.expression import ExpressionClassifier  # noqa: E402
from core.recognize.landmarker import Landmarker  # noqa: E402

DEMO = ROOT / "tests" / "data" / "faceapi_demo"
REF = SHARED_DIR / "data" / "faceapi_ref" / "ref"
HAND_BOXES = {"sample1": [[415, 355, 590, 595], [840, 420, 1025, 650], [1475, 200, 1680, 440]]}


def image_boxes() -> dict[str, np.ndarray]:
    if (REF / "images_pil").is_dir():
        out = {}
        for i in range(1, 7):
            ref = json.loads((REF / "images_pil" / f"sample{i}.json").read_text())
            b = np.array(
                [[f["detection"]["box"][k] for k in ("x", "y", "width", "height")] for f in ref["faces"]]
            )
            b[:, 2:] += b[:, :2]
            out[f"sample{i}"] = b
        return out
    return {k: np.array(v, dtype=np.float64) for k, v in HAND_BOXES.items()}


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up (oneDNN primitive creation for this batch size)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", help="write the results as JSON to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    lm, emb = Landmarker(device="cpu"), Embedder(device="cpu")
    runners = {
        "face_landmark_68": lm,
        "face_landmark_68_tiny": Landmarker(tiny=True, device="cpu"),
        "face_recognition": emb,
        "age_gender": AgeGenderEstimator(device="cpu"),
        "face_expression": ExpressionClassifier(device="cpu"),
    }
    crops: dict[str, dict[str, list[np.ndarray]]] = {k: {} for k in runners}
    for name, boxes in image_boxes().items():
        image = load_image(DEMO / f"{name}.jpg")
        res = lm.predict(image, boxes)
        lm_crops = [crop_image(image, r) for r in res.crops]
        crops["face_landmark_68"][name] = crops["face_landmark_68_tiny"][name] = lm_crops
        crops["face_recognition"][name] = [crop_image(image, r) for r in emb.crops(image, res.points)]
        aligned = [crop_image(image, r) for r in runners["age_gender"].crops(image, res.points)]
        crops["age_gender"][name] = crops["face_expression"][name] = aligned

    node = {}
    timing_path = REF / "timing.json"
    if timing_path.exists():
        node = json.loads(timing_path.read_text()).get("summary_per_face_ms", {})

    rows = []
    for key, runner in runners.items():
        batched, single = [], []
        for _name, cs in crops[key].items():
            batched.append(median_ms(lambda r=runner, c=cs: r.forward_crops(c), args.runs) / len(cs))
            single.append(
                median_ms(lambda r=runner, c=cs: [r.forward_crops([x]) for x in c], args.runs) / len(cs)
            )
        rows.append(
            {
                "model": key,
                "batched_ms_per_face": statistics.median(batched),
                "one_by_one_ms_per_face": statistics.median(single),
                "faceapi_node_ms_per_face": node.get(key),
            }
        )

    print(
        f"face-api per-face models, PyTorch {torch.__version__} on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads; median per face over {len(next(iter(crops.values())))} images"
    )
    print(f"{'model':24s} {'batched ms':>11s} {'1-by-1 ms':>10s} {'face-api ms':>12s} {'speed-up b/1':>14s}")
    for r in rows:
        ref = r["faceapi_node_ms_per_face"]
        ratio = (
            f"{ref / r['batched_ms_per_face']:5.1f}x /{ref / r['one_by_one_ms_per_face']:5.1f}x"
            if ref
            else "    n/a"
        )
        print(
            f"{r['model']:24s} {r['batched_ms_per_face']:11.2f} {r['one_by_one_ms_per_face']:10.2f} "
            f"{ref if ref else float('nan'):12.2f} {ratio:>14s}"
        )
    print("face-api: tfjs 4.22 WASM SIMD, 1 thread, node 20, 2-vCPU AMD EPYC (ref/timing.json)")
    if hasattr(os, "getloadavg"):
        print(
            f"load average at start {load_start:.1f}, at end {os.getloadavg()[0]:.1f} (other jobs skew timings)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
