"""Per-face timing of the face-api per-face models (PyTorch ports) vs face-api in node.

    .venv/bin/python bench/face_models.py [--threads 2] [--runs 7] [--repeat 1] [--json OUT] [--node-dir DIR]

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
of sample1 (hand boxes) are timed and no reference ratio is printed.

The reference timings come from a quiet machine. On a busy one, pass
``--node-dir`` (an npm work dir with face-api installed, see
``bench/faceapi_node_timing.js``) to time face-api here too, on the very same
crops, before and after ours, and read the "vs here" ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.io.imageio import load_image  # noqa: E402
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


KIND_OF = {
    "face_landmark_68": "det",
    "face_landmark_68_tiny": "det",
    "face_recognition": "desc",
    "age_gender": "al",
    "face_expression": "al",
}


def node_timing(node_dir: Path, crop_dir: Path, runs: int) -> dict[str, float]:
    """Per-face ms of face-api itself on this machine, now (see faceapi_node_timing.js)."""
    script = Path(__file__).with_name("faceapi_node_timing.js")
    out = subprocess.run(
        ["node", str(script), str(crop_dir), str(runs)],
        cwd=node_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["per_face_ms"]


def write_crops_for_node(crops: dict[str, dict[str, list[np.ndarray]]], crop_dir: Path) -> None:
    index: dict[str, dict[str, list[dict]]] = {}
    for name, kinds in crops.items():
        index[name] = {}
        for kind, cs in kinds.items():
            index[name][kind] = []
            for j, c in enumerate(cs):
                fname = f"{name}_{kind}_{j}.rgb"
                np.ascontiguousarray(c, dtype=np.uint8).tofile(crop_dir / fname)
                index[name][kind].append({"file": fname, "width": int(c.shape[1]), "height": int(c.shape[0])})
    (crop_dir / "index.json").write_text(json.dumps(index))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--repeat", type=int, default=1, help="repeat the whole measurement, keep each model's lowest median"
    )
    ap.add_argument("--json", help="write the results as JSON to this file")
    ap.add_argument(
        "--node-dir",
        type=Path,
        help="npm work dir with @vladmandic/face-api@1.7.15, @tensorflow/tfjs@4.22.0 and "
        "@tensorflow/tfjs-backend-wasm@4.22.0 installed: also time face-api here, before and after ours",
    )
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
    # crops[image][kind]: det = landmark crop, desc = dlib square, al = aligned (landmark bbox + 10 %)
    crops: dict[str, dict[str, list[np.ndarray]]] = {}
    for name, boxes in image_boxes().items():
        image = load_image(DEMO / f"{name}.jpg")
        res = lm.predict(image, boxes)
        crops[name] = {
            "det": [crop_image(image, r) for r in res.crops],
            "desc": [crop_image(image, r) for r in emb.crops(image, res.points)],
            "al": [crop_image(image, r) for r in runners["age_gender"].crops(image, res.points)],
        }

    reference: dict[str, float] = {}
    timing_path = REF / "timing.json"
    if timing_path.exists():
        reference = json.loads(timing_path.read_text()).get("summary_per_face_ms", {})

    here: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.node_dir:
            write_crops_for_node(crops, Path(tmp))
            here.append(node_timing(args.node_dir, Path(tmp), args.runs))
        best: dict[str, list[float]] = {key: [float("inf"), float("inf")] for key in runners}
        for _ in range(args.repeat):  # whole passes, each model's least disturbed pass is kept
            for key, runner in runners.items():
                batched, single = [], []
                for kinds in crops.values():
                    cs = kinds[KIND_OF[key]]
                    batched.append(median_ms(lambda r=runner, c=cs: r.forward_crops(c), args.runs) / len(cs))
                    single.append(
                        median_ms(lambda r=runner, c=cs: [r.forward_crops([x]) for x in c], args.runs)
                        / len(cs)
                    )
                best[key][0] = min(best[key][0], statistics.median(batched))
                best[key][1] = min(best[key][1], statistics.median(single))
        rows = [
            {
                "model": key,
                "batched_ms_per_face": b,
                "one_by_one_ms_per_face": s1,
                "faceapi_ref_ms_per_face": reference.get(key),
            }
            for key, (b, s1) in best.items()
        ]
        if args.node_dir:
            here.append(node_timing(args.node_dir, Path(tmp), args.runs))
    for r in rows:
        r["faceapi_here_ms_per_face"] = statistics.mean(h[r["model"]] for h in here) if here else None

    print(
        f"face-api per-face models, PyTorch {torch.__version__} on {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads; median per face over {len(crops)} images"
        + (f", best of {args.repeat} repetitions" if args.repeat > 1 else "")
    )
    print(
        f"{'model':24s} {'batched ms':>11s} {'1-by-1 ms':>10s} {'face-api ref':>13s} {'vs ref b/1':>14s}"
        + (f" {'face-api here':>14s} {'vs here b/1':>14s}" if here else "")
    )

    def ratio(ref: float | None, r: dict) -> str:
        if not ref:
            return "n/a"
        return f"{ref / r['batched_ms_per_face']:5.1f}x /{ref / r['one_by_one_ms_per_face']:5.1f}x"

    for r in rows:
        ref = r["faceapi_ref_ms_per_face"]
        line = (
            f"{r['model']:24s} {r['batched_ms_per_face']:11.2f} {r['one_by_one_ms_per_face']:10.2f} "
            f"{ref if ref else float('nan'):13.2f} {ratio(ref, r):>14s}"
        )
        if here:
            line += f" {r['faceapi_here_ms_per_face']:14.2f} {ratio(r['faceapi_here_ms_per_face'], r):>14s}"
        print(line)
    print("face-api ref: tfjs 4.22 WASM SIMD, 1 thread, node 20, quiet 2-vCPU AMD EPYC (ref/timing.json)")
    if here:
        print("face-api here: the same, on this machine, mean of a run before and one after ours")
    if hasattr(os, "getloadavg"):
        print(
            f"load average at start {load_start:.1f}, at end {os.getloadavg()[0]:.1f} (other jobs skew timings)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
