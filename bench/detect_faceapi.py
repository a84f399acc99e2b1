"""Speed and recall of the face-api detector ports (SSD MobileNetV1, tiny 416/608).

    .venv/bin/python bench/detect_faceapi.py [--threads 2] [--runs 7] [--models ssd,tiny416,tiny608]
                                             [--no-accuracy] [--no-timing] [--json OUT]

Timing protocol: ``detector.detect(rgb_array)`` wall time (pad + resize +
network + decoding + NMS + result objects; JPEG decoding excluded, as in
face-api's ``locateFaces`` on a decoded tensor), median of ``--runs`` calls
after two warm-up calls, on ``--threads`` intra-op threads:

* ``demo``: each of face-api's demo photos (1920 px wide), median per image,
  then the median over the six; compared with face-api 1.7.15 in node (tfjs
  4.22 WASM SIMD, 1 thread, 2-vCPU AMD EPYC), ``../shared/.../timing.json``;
* ``640x480``: sample1 resized to 640×480;
* ``native``: the five ``wider_val_native_dev`` images (1024 px wide).

Recall (until the official WIDER evaluator is wired in): a ground-truth face
counts as found when a detection overlaps it with IoU ≥ 0.5 (greedy matching
by descending score, one detection per face); faces marked invalid are left
out; sizes are box heights in pixels; reported at the detector's default
threshold and at 0.05 (its ceiling). Sets: ``wider_val_416_dev`` (100 images
stretched to 416×416) and ``wider_val_native_dev`` (5 images, 1024 px).
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
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.detect.ssd import SsdDetector  # noqa: E402
from core.detect.tiny import TinyFaceDetector  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402

DEMO = ROOT / "tests" / "data" / "faceapi_demo"
TIMING_REF = SHARED_DIR / "data" / "faceapi_ref" / "ref" / "timing.json"
SETS = {
    "wider_val_416_dev": SHARED_DIR / "data" / "wider_val_416_dev",
    "wider_val_native_dev": SHARED_DIR / "data" / "wider_val_native_dev",
}
FACEAPI_KEYS = {
    "ssd": "ssd_locateFaces",
    "tiny416": "tiny_face_detector_416",
    "tiny608": "tiny_face_detector_608",
}
MIN_HEIGHTS = (10, 20)


def build(name: str):
    if name == "ssd":
        return SsdDetector(device="cpu")
    if name in ("tiny416", "tiny608"):
        return TinyFaceDetector(device="cpu", max_side=int(name[4:]))
    raise SystemExit(f"unknown model {name}")


def time_detect(det, image: np.ndarray, runs: int) -> tuple[float, dict[str, float], float, float]:
    """Median wall ms of ``det.detect(image)``, the median of each stage, the
    median process CPU ms (all threads; less sensitive than wall time to other
    work on a shared machine, equal to wall time with 1 thread on an idle one)
    and the fastest wall ms (the closest to an idle machine's time)."""
    for _ in range(2):
        det.detect(image)
    walls, cpus, stages = [], [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        res = det.detect(image)
        walls.append((time.perf_counter() - t0) * 1e3)
        cpus.append((time.process_time() - c0) * 1e3)
        stages.append(res.timings_ms)
    stage_medians = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    return statistics.median(walls), stage_medians, statistics.median(cpus), min(walls)


def timing(det, name: str, runs: int) -> dict:
    out: dict = {}
    demo = {p.stem: load_image(p) for p in sorted(DEMO.glob("sample*.jpg"))}
    per_image = {k: time_detect(det, img, runs) for k, img in demo.items()}
    out["demo_per_image_ms"] = {k: round(v[0], 1) for k, v in per_image.items()}
    out["demo_median_ms"] = round(statistics.median(v[0] for v in per_image.values()), 1)
    out["demo_min_of_medians_ms"] = round(min(v[0] for v in per_image.values()), 1)
    out["demo_median_cpu_ms"] = round(statistics.median(v[2] for v in per_image.values()), 1)
    out["demo_median_of_fastest_ms"] = round(statistics.median(v[3] for v in per_image.values()), 1)
    out["demo_stages_ms"] = {
        stage: round(statistics.median(v[1][stage] for v in per_image.values()), 1)
        for stage in ("preprocess", "forward", "postprocess")
    }
    vga = np.asarray(Image.fromarray(demo["sample1"]).resize((640, 480), Image.BILINEAR))
    wall, _, cpu, _ = time_detect(det, vga, runs)
    out["640x480_ms"], out["640x480_cpu_ms"] = round(wall, 1), round(cpu, 1)
    native_dir = SETS["wider_val_native_dev"] / "images"
    if native_dir.is_dir():
        natives = [load_image(p) for p in sorted(native_dir.rglob("*.jpg"))]
        native = [time_detect(det, img, runs) for img in natives]
        out["native_median_ms"] = round(statistics.median(v[0] for v in native), 1)
        out["native_median_cpu_ms"] = round(statistics.median(v[2] for v in native), 1)
        out["native_sizes"] = sorted({f"{im.shape[1]}x{im.shape[0]}" for im in natives})
    if TIMING_REF.is_file():
        ref = json.loads(TIMING_REF.read_text())["summary_median_over_images_ms"][FACEAPI_KEYS[name]]
        out["faceapi_node_ms"] = round(ref, 1)
        out["speedup_vs_faceapi"] = round(ref / out["demo_median_ms"], 2)
    return out


def _iou(box: np.ndarray, gts: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], gts[:, 2]) - np.maximum(box[0], gts[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], gts[:, 3]) - np.maximum(box[1], gts[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1]) + (gts[:, 2] - gts[:, 0]) * (gts[:, 3] - gts[:, 1]) - inter
    return inter / np.maximum(area, 1e-12)


def recall(det, set_dir: Path, thresholds: tuple[float, ...]) -> dict:
    """Recall at IoU 0.5 for faces with height ≥ each of MIN_HEIGHTS, per score threshold."""
    from core.wider.groundtruth import load_ground_truth
    from core.wider.labels import ATTRIBUTE_NAMES

    gt = load_ground_truth(set_dir)
    invalid_col = ATTRIBUTE_NAMES.index("invalid")
    low = min(thresholds)
    found = {t: dict.fromkeys(MIN_HEIGHTS, 0) for t in thresholds}
    total = dict.fromkeys(MIN_HEIGHTS, 0)
    n_det = dict.fromkeys(thresholds, 0)
    for i, name in enumerate(gt.names):
        rows = slice(gt.offsets[i], gt.offsets[i + 1])
        boxes = gt.boxes[rows]
        valid = ~gt.placeholder[rows] & (gt.attributes[rows, invalid_col] == 0)
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        heights = boxes[:, 3]
        for m in MIN_HEIGHTS:
            total[m] += int(np.sum(valid & (heights >= m)))
        image = load_image(set_dir / "images" / name)
        faces = det.detect(image, min_score=low).faces  # sorted by descending score
        for t in thresholds:
            matched = np.zeros(len(xyxy), dtype=bool)
            kept = [f for f in faces if f.score > t]
            n_det[t] += len(kept)
            for face in kept:
                if not len(xyxy):
                    break
                ious = np.where(matched, -1.0, _iou(np.asarray(face.box), xyxy))
                j = int(np.argmax(ious))
                if ious[j] >= 0.5:
                    matched[j] = True
            for m in MIN_HEIGHTS:
                found[t][m] += int(np.sum(matched & valid & (heights >= m)))
    return {
        "images": len(gt.names),
        "faces": {f">={m}px": total[m] for m in MIN_HEIGHTS},
        "recall": {
            f"score>{t}": {f">={m}px": round(found[t][m] / max(total[m], 1), 4) for m in MIN_HEIGHTS}
            for t in thresholds
        },
        "detections": {f"score>{t}": n_det[t] for t in thresholds},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--models", default="ssd,tiny416,tiny608")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "models": {},
    }
    for name in args.models.split(","):
        det = build(name)
        entry = {} if args.no_timing else {"timing": timing(det, name, args.runs)}
        if not args.no_accuracy:
            for set_name, set_dir in SETS.items():
                if set_dir.is_dir():
                    entry[set_name] = recall(det, set_dir, (det.min_score, 0.05))
        entry["loadavg_after"] = os.getloadavg()
        report["models"][name] = entry
        print(f"== {name}", json.dumps(entry, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
