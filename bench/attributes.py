"""LMLE vs the class-weighted linear baseline vs LMLE's head alone vs triplet + kNN on CelebA, per attribute.

    .venv/bin/python bench/attributes.py [--celeba-root ../shared/data/celeba_89x109_dev]
        [--val-range 7001-8000] [--json OUT] [--gui]

Evaluates the four bundled models (``resources/models/lmle_celeba*.pt``, all
trained on images 1-7000; LMLE with a fine-tuned trunk stage, the others on
the same frozen features) on the
validation images: accuracy and balanced accuracy per attribute, sorted by
imbalance (positive rate of the training images), then the means over the
40 attributes and over the 10 rarest, with paired bootstrap 95 % intervals
(over faces) of LMLE's mean balanced accuracy minus each baseline's. The triplet baseline's kNN bank is
rebuilt from the cached training features. Features are extracted once and
cached (first run: a few minutes on 2 CPU cores).

``--ablation`` re-clusters the shipped LMLE embedding with other cluster
counts and k (where the large-margin rule decides). ``--gui`` also times the Attributes panel's embedding plot with 10,000
points (offscreen Qt): redraw after choosing an attribute, a hover lookup,
and a box selection.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.attributes.bootstrap import paired_bootstrap, rarest  # noqa: E402
from core.attributes.celeba import CelebA, parse_range  # noqa: E402
from core.attributes.conv_cache import ConvMapCache  # noqa: E402
from core.attributes.features import FLIP_SUFFIX, FeatureCache  # noqa: E402
from core.attributes.metrics import evaluate_predictions  # noqa: E402
from core.attributes.model import (  # noqa: E402
    BASELINE_MODEL,
    DEFAULT_MODEL,
    HEAD_MODEL,
    TRIPLET_MODEL,
    AttributeModel,
)
from core.paths import SHARED_DIR  # noqa: E402
from core.progress import Progress, relay  # noqa: E402

METHODS = {
    "LMLE": DEFAULT_MODEL,
    "linear (class-weighted)": BASELINE_MODEL,
    "LMLE head (frozen features)": HEAD_MODEL,
    "triplet + kNN": TRIPLET_MODEL,
}


def features(cache: FeatureCache, names) -> np.ndarray:
    def show(progress: Progress) -> None:
        if progress.done % 1024 < 64 or progress.done == progress.total:
            print(f"  features {progress.done}/{progress.total}", file=sys.stderr, flush=True)

    return relay(cache.iter_get(list(names)), show)


def evaluate(root: Path, val_range: str) -> dict:
    dataset = CelebA.open(root)
    cache = FeatureCache(dataset.images_dir)
    val = dataset.select(val_range)
    val_feats = features(cache, val.images)
    val_flipped = features(cache, [n + FLIP_SUFFIX for n in val.images])
    reports, timings, train_ranges, predictions = {}, {}, {}, {}
    for label, name in METHODS.items():
        model = AttributeModel.load(name)
        train_range = str(model.meta.get("train_range", ""))
        train_ranges[label] = train_range
        lo, hi = parse_range(train_range)
        vlo, vhi = parse_range(val_range)
        if not (hi < vlo or vhi < lo):
            raise SystemExit(f"{name} was trained on {train_range}, which overlaps {val_range}")
        if model.method == "triplet":
            train = dataset.select(train_range)
            model.set_bank(features(cache, train.images), train.labels)
        maps = flipped_maps = None
        if model.needs_maps:  # a learned model: its stage reads the conv128 maps (cached)
            conv = ConvMapCache(dataset.images_dir)
            maps = conv.get(list(val.images))
            flipped_maps = conv.get([n + FLIP_SUFFIX for n in val.images]) if model.tta else None
        start = time.perf_counter()
        positive, _ = model.decide(
            val_feats, val_flipped if model.tta else None, maps=maps, flipped_maps=flipped_maps
        )
        timings[label] = (time.perf_counter() - start) / len(val) * 1000
        reports[label] = evaluate_predictions(val.labels, positive, val.names, model.method)
        predictions[label] = positive
    train_rate = dataset.select(train_ranges["LMLE"]).positive_rate()
    return {
        "dataset": dataset,
        "val": val,
        "reports": reports,
        "predictions": predictions,
        "ms": timings,
        "train_rate": train_rate,
    }


def intervals(result: dict) -> dict:
    """Paired bootstrap 95 % intervals (over faces) of LMLE's mean BA minus each baseline's,
    over all attributes and over the 10 rarest (by training positive rate)."""
    truth, preds = result["val"].labels, result["predictions"]
    rare = rarest(result["train_rate"])
    out = {}
    for label in list(preds)[1:]:
        overall = paired_bootstrap(truth, preds["LMLE"], preds[label])
        rare10 = paired_bootstrap(truth, preds["LMLE"], preds[label], attributes=rare)
        out[f"LMLE - {label}"] = {"all": overall.to_json(), "rarest10": rare10.to_json()}
        print(
            f"LMLE - {label}: {overall.difference:+.4f} [{overall.low:+.4f}, {overall.high:+.4f}] (95 % CI); "
            f"10 rarest {rare10.difference:+.4f} [{rare10.low:+.4f}, {rare10.high:+.4f}]"
        )
    return out


def print_table(result: dict, val_range: str) -> dict:
    reports, val = result["reports"], result["val"]
    names = list(val.names)
    rate = dict(zip(names, result["train_rate"], strict=True))
    order = sorted(names, key=lambda n: rate[n])
    labels = list(reports)
    short = {
        "LMLE": "LMLE",
        "linear (class-weighted)": "linear",
        "LMLE head (frozen features)": "LMLE head",
        "triplet + kNN": "triplet",
    }
    print(
        f"CelebA dev copy ({result['dataset'].root.name}), validation images {val_range} ({len(val)} faces)"
    )
    print("sorted by imbalance (positive rate of the training images 1-7000); acc / balanced acc")
    header = f"{'attribute':22s} {'pos.rate':>8s} " + " ".join(f"{short[m]:>15s}" for m in labels)
    print(header)
    print("-" * len(header))
    for n in order:
        cells = " ".join(
            f"{reports[m].attributes[n].accuracy:6.3f} / {reports[m].attributes[n].balanced_accuracy:5.3f}"
            for m in labels
        )
        print(f"{n:22s} {rate[n]:8.3f} {cells}")
    print("-" * len(header))
    rare = order[:10]
    means = {}
    for m in labels:
        r = reports[m]
        means[m] = {
            "mean_accuracy": r.mean_accuracy,
            "mean_balanced_accuracy": r.mean_balanced_accuracy,
            "rarest10_balanced_accuracy": float(np.mean([r.attributes[n].balanced_accuracy for n in rare])),
            "ms_per_face_classifier": result["ms"][m],
        }
    for key, title in (
        ("mean_accuracy", "mean accuracy (40)"),
        ("mean_balanced_accuracy", "mean balanced acc. (40)"),
        ("rarest10_balanced_accuracy", "balanced acc., 10 rarest"),
    ):
        print(f"{title:31s} " + " ".join(f"{means[m][key]:15.4f}" for m in labels))
    print(
        f"{'classifier ms/face (features cached)':31s} "
        + " ".join(f"{means[m]['ms_per_face_classifier']:15.3f}" for m in labels)
    )
    lm, base = (
        means["LMLE"]["mean_balanced_accuracy"],
        means["linear (class-weighted)"]["mean_balanced_accuracy"],
    )
    verdict = "beats" if lm > base else "does NOT beat"
    print(
        f"LMLE {verdict} the class-weighted baseline on mean balanced accuracy: {lm:.4f} vs {base:.4f} ({lm - base:+.4f})"
    )
    wins = sum(
        reports["LMLE"].attributes[n].balanced_accuracy
        > reports["linear (class-weighted)"].attributes[n].balanced_accuracy
        for n in names
    )
    print(f"LMLE higher on {wins} of {len(names)} attributes")
    return {
        "val_range": val_range,
        "images": len(val),
        "means": means,
        "attributes": {
            n: {"train_positive_rate": rate[n], **{m: reports[m].attributes[n].to_json() for m in labels}}
            for n in order
        },
    }


def ablation(root: Path, val_range: str) -> dict:
    """The shipped LMLE embedding with other cluster counts and k (re-clustered on the training
    originals): where the large-margin rule decides (k > 1 with several clusters per class)."""
    import torch

    from core.attributes.clustering import cluster_attributes
    from core.attributes.knn import cluster_knn

    dataset = CelebA.open(root)
    cache = FeatureCache(dataset.images_dir)
    model = AttributeModel.load(DEFAULT_MODEL)
    train = dataset.select(str(model.meta["train_range"]))
    val = dataset.select(val_range)
    conv = ConvMapCache(dataset.images_dir) if model.needs_maps else None
    mirrored = [n + FLIP_SUFFIX for n in val.images]

    def maps(names):
        return conv.get(list(names)) if conv is not None else None

    bank = model.embed(features(cache, train.images), maps=maps(train.images))
    flipped = features(cache, mirrored) if model.tta else None
    query = model.embed(
        features(cache, val.images),
        flipped,
        maps=maps(val.images),
        flipped_maps=maps(mirrored) if model.tta else None,
    )
    out = {}
    print("LMLE embedding, other clusterings (mean balanced accuracy over 40):")
    for clusters, k in ((1, 1), (2, 1), (2, 3), (4, 1), (4, 8), (8, 1), (8, 12), (8, 16), (16, 24)):
        layout = cluster_attributes(
            bank, torch.from_numpy(train.labels), max_clusters=clusters, min_size=20,
            generator=torch.Generator().manual_seed(0),
        )  # fmt: skip
        positive = cluster_knn(query, layout.centroids, layout.centroid_label, k).positive.numpy()
        report = evaluate_predictions(val.labels, positive, val.names, "lmle")
        out[f"{clusters}x{k}"] = report.mean_balanced_accuracy
        print(
            f"  {clusters:2d} clusters/class, k={k:2d}: {report.mean_balanced_accuracy:.4f} (acc {report.mean_accuracy:.4f})"
        )
    return out


def bench_gui() -> dict:
    """Time the embedding plot with 10,000 points (offscreen)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtWidgets import QApplication

    from app.attributes.embedding_view import EmbeddingView
    from app.attributes.jobs import EmbeddingData
    from core.attributes.celeba import CELEBA_ATTRIBUTES

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    n, a, d = 10_000, len(CELEBA_ATTRIBUTES), 16
    labels = rng.random((n, a)) < 0.2
    emb = rng.normal(size=(n, a, d)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    cents = rng.normal(size=(a, 16, d)).astype(np.float32)
    data = EmbeddingData(
        [Path("x.jpg")] * n,
        labels,
        emb,
        cents,
        np.tile(np.r_[[1] * 8, [0] * 8], (a, 1)).astype(np.int8),
        CELEBA_ATTRIBUTES,
        "bench",
    )
    view = EmbeddingView()
    view.resize(900, 600)
    view.show()
    view.set_data(data)
    app.processEvents()
    out = {}
    start = time.perf_counter()
    for i in range(5):
        view.attribute_box.setCurrentIndex(i + 1)
        app.processEvents()
        view.plot.grab()  # force a paint of all points
    out["redraw_ms"] = (time.perf_counter() - start) / 5 * 1000
    scene = view.viewbox.mapViewToScene(QPointF(0.0, 0.0))
    start = time.perf_counter()
    for _ in range(100):
        view.point_near(scene)
    out["hover_lookup_ms"] = (time.perf_counter() - start) / 100 * 1000
    start = time.perf_counter()
    view.select_rect(QRectF(-0.3, -0.3, 0.6, 0.6))
    out["box_select_ms"] = (time.perf_counter() - start) * 1000
    out["selected"] = int(len(view.selected))
    view.close()
    print(
        f"embedding plot, 10,000 points: redraw {out['redraw_ms']:.0f} ms, hover lookup {out['hover_lookup_ms']:.2f} ms, "
        f"box selection of {out['selected']} faces {out['box_select_ms']:.0f} ms"
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--celeba-root", type=Path, default=SHARED_DIR / "data" / "celeba_89x109_dev")
    parser.add_argument("--val-range", default="7001-8000")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--gui", action="store_true", help="also time the 10,000-point embedding plot")
    parser.add_argument("--ablation", action="store_true", help="LMLE with other cluster counts and k")
    args = parser.parse_args()
    if not (args.celeba_root / "list_attr_celeba.txt").is_file():
        print(f"no CelebA at {args.celeba_root} (needs ../shared)", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    result = evaluate(args.celeba_root, args.val_range)
    doc = print_table(result, args.val_range)
    doc["intervals"] = intervals(result)
    if args.ablation:
        doc["ablation"] = ablation(args.celeba_root, args.val_range)
    if args.gui:
        doc["gui"] = bench_gui()
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
