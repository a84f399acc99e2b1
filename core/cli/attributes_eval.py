"""``python main.py attributes-eval --celeba-root DIR [--method lmle|baseline|triplet] [--range A-B |
--partition val] [--model NAME] [--json OUT|-]``: score a shipped attribute model on CelebA.

DIR holds ``images/`` (or ``img_align_celeba/``) and ``list_attr_celeba.txt``.
By default every listed image is scored except those in the model's own
training range (its sidecar meta ``train_range``), so on the dev copy
(000001-008000, trained on 1-7000) this is the validation split 7001-8000.
Frozen features are cached (see :mod:`core.attributes.features`), so only
the first run on a folder decodes its images.

JSON (``--json``; ``-`` = stdout)::

    {"method": "lmle", "images": 1000, "range": "7001-8000",
     "attributes": {"Bald": {"accuracy": a, "balanced_accuracy": b, "positive_rate": p}, ...},
     "mean_accuracy": a, "mean_balanced_accuracy": b}

``--compare`` scores the model (``--method``/``--model``, LMLE by default)
and each baseline (``--against NAME_OR_PATH``, repeatable; default the shipped
class-weighted linear, LMLE-head and triplet models) on the same faces, outside every
compared model's training range, and adds paired bootstrap 95 % intervals
(over faces) of the difference in mean balanced accuracy, over all 40
attributes and over the 10 rarest (lowest positive rate in the first model's
training range when the folder holds it, else in the scored faces)::

    {"images": 1000, "range": "7001-8000", "rarest10": ["Bald", ...],
     "methods": {"lmle_celeba": {<the schema above>}, "lmle_celeba_linear": {...}, ...},
     "differences": {"lmle_celeba - lmle_celeba_linear": {
         "all": {"difference": d, "ci95_low": lo, "ci95_high": hi, "resamples": 2000},
         "rarest10": {...}}, ...}}

Without ``--json`` a table sorted by positive rate goes to stdout. Exit
codes: 0 ok, 1 data or model error, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from core.attributes.bootstrap import paired_bootstrap, rarest
from core.attributes.celeba import CelebA, CelebAFormatError, parse_range
from core.attributes.metrics import evaluate_predictions
from core.cli.output import emit_json
from core.io.imageio import ImageLoadError
from core.progress import Progress, relay

log = logging.getLogger(__name__)

METHODS = ("lmle", "lmle-head", "baseline", "triplet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--celeba-root", required=True, help="folder with images/ and list_attr_celeba.txt")
    parser.add_argument(
        "--method", choices=METHODS, default="lmle", help="which shipped model (default lmle)"
    )
    parser.add_argument("--model", default=None, help="weights name or .pt path (overrides --method's file)")
    parser.add_argument("--range", dest="id_range", default=None, help="image numbers, e.g. 7001-8000")
    parser.add_argument("--partition", choices=("train", "val", "test"), default=None, help="official split")
    parser.add_argument(
        "--json", dest="json_out", default=None, metavar="OUT", help="JSON to OUT ('-' = stdout)"
    )
    parser.add_argument("--feature-cache", default="", help="feature cache folder (default: user data dir)")
    parser.add_argument(
        "--compare", action="store_true", help="also score the baselines; bootstrap CIs of the differences"
    )
    parser.add_argument(
        "--against", action="append", default=None, metavar="MODEL", help="--compare: a baseline (repeatable)"
    )


def _selection(dataset, models, args) -> tuple[object, str]:
    """The rows to score and a description of them: the asked range, else every row outside
    the models' training ranges."""

    if args.id_range or args.partition:
        table = dataset.select(args.id_range, args.partition)
        return table, args.id_range or args.partition
    train_ranges = [str(m.meta.get("train_range", "")) for m in models]
    train_ranges = [r for r in dict.fromkeys(train_ranges) if r]
    table = dataset.table
    if train_ranges:
        ids = table.image_ids()
        keep = np.ones(len(ids), dtype=bool)
        for train_range in train_ranges:
            lo, hi = parse_range(train_range)
            keep &= (ids < lo) | (ids > hi)
        table = table.take(np.flatnonzero(keep))
        ids = table.image_ids()
        desc = (
            f"{ids.min()}-{ids.max()}"
            if len(ids) and (np.diff(ids) == 1).all()
            else f"all but {', '.join(train_ranges)}"
        )
        return table, desc
    return table, "all"


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.features import FeatureCache

    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.model import METHOD_MODELS, AttributeModel

    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # feature-extraction progress is this command's normal stderr output
    names = [args.model or METHOD_MODELS[args.method]]
    if args.compare:
        names += args.against or [METHOD_MODELS[m] for m in ("baseline", "lmle-head", "triplet")]
    try:
        dataset = CelebA.open(args.celeba_root)
        models = [AttributeModel.load(name) for name in names]
        table, desc = _selection(dataset, models, args)
    except (FileNotFoundError, ValueError) as exc:  # CelebAFormatError is a ValueError
        code = 1 if isinstance(exc, (CelebAFormatError, FileNotFoundError)) else 2
        log.error("%s", exc)
        return code
    if len(table) == 0:
        log.error("no images to evaluate (%s)", desc)
        return 2
    cache = FeatureCache(dataset.images_dir, args.feature_cache or None)
    try:
        predictions = [_decide(dataset, cache, model, table) for model in models]
    except (ImageLoadError, OSError) as exc:
        log.error("%s", exc)
        return 1
    reports = [
        evaluate_predictions(table.labels, p, table.names, m.method)
        for p, m in zip(predictions, models, strict=True)
    ]
    if args.compare:
        doc = compare_doc(dataset, table, desc, names, models, predictions, reports)
        if args.json_out is not None:
            emit_json(doc, args.json_out, indent=2)
        else:
            sys.stdout.write(_compare_table(doc))
        return 0
    report = reports[0]
    doc = {"method": models[0].method, "images": len(table), "range": desc, **report.to_json()}
    # the schema's key order: method, attributes, means (images/range are informative extras)
    if args.json_out is not None:
        emit_json(doc, args.json_out, indent=2)
    else:
        sys.stdout.write(_table(report, desc, len(table)))
    return 0


def _decide(dataset, cache, model, table) -> np.ndarray:
    """``(N, A)`` bool predictions of one model on the table's faces (cached features)."""
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.features import FLIP_SUFFIX

    if model.method == "triplet":
        train = dataset.select(str(model.meta.get("train_range", "")))
        model.set_bank(_features(cache, train.images), train.labels)
    mirrored = [n + FLIP_SUFFIX for n in table.images]
    feats = _features(cache, table.images)
    flipped = _features(cache, mirrored) if model.tta else None
    maps = flipped_maps = None
    if model.needs_maps:  # a learned model's stage reads the conv128 maps, cached like the features
        # lazy: the engine (torch) loads when this command runs, not for every command's --help
        from core.attributes.conv_cache import ConvMapCache

        conv = ConvMapCache(dataset.images_dir)
        maps = _features(conv, table.images, "conv128 maps")
        flipped_maps = _features(conv, mirrored, "conv128 maps") if model.tta else None
    return model.decide(feats, flipped, maps=maps, flipped_maps=flipped_maps)[0]


def compare_doc(dataset, table, desc, names, models, predictions, reports) -> dict:
    """The ``--compare`` JSON: every model's report and bootstrap intervals of first − each other."""
    train_range = str(models[0].meta.get("train_range", ""))
    train = dataset.select(train_range) if train_range else table
    rate = (train if len(train) else table).positive_rate()
    rare = rarest(rate)
    labels = [Path(str(n)).stem for n in names]
    doc = {
        "images": len(table),
        "range": desc,
        "rarest10": [table.names[a] for a in rare],
        "methods": {label: r.to_json() for label, r in zip(labels, reports, strict=True)},
        "differences": {},
    }
    for label, pred in zip(labels[1:], predictions[1:], strict=True):
        overall = paired_bootstrap(table.labels, predictions[0], pred)
        rare10 = paired_bootstrap(table.labels, predictions[0], pred, attributes=rare)
        doc["differences"][f"{labels[0]} - {label}"] = {
            "all": overall.to_json(),
            "rarest10": rare10.to_json(),
        }
    return doc


def _compare_table(doc: dict) -> str:
    lines = [f"{doc['images']} images ({doc['range']}); mean balanced accuracy"]
    lines += [f"  {name:28s} {m['mean_balanced_accuracy']:.4f}" for name, m in doc["methods"].items()]
    for pair, d in doc["differences"].items():
        a, r = d["all"], d["rarest10"]
        lines.append(
            f"  {pair}: {a['difference']:+.4f} [{a['ci95_low']:+.4f}, {a['ci95_high']:+.4f}] (95 % CI); "
            f"10 rarest {r['difference']:+.4f} [{r['ci95_low']:+.4f}, {r['ci95_high']:+.4f}]"
        )
    return "\n".join(lines) + "\n"


def _features(cache, names, what: str = "features") -> np.ndarray:
    """Rows of ``names`` from a feature or conv-map cache, logging the progress of what it computes."""

    def log_progress(progress: Progress) -> None:
        if progress.done == progress.total or progress.done % 1024 < 64:
            log.info("%s: %d/%d images", what, progress.done, progress.total)

    return relay(cache.iter_get(list(names)), log_progress)


def _table(report, desc: str, count: int) -> str:
    rows = sorted(report.attributes.items(), key=lambda kv: kv[1].positive_rate)
    lines = [
        f"{report.method} on {count} images ({desc})",
        f"{'attribute':22s} {'pos.rate':>8s} {'acc':>6s} {'bal.acc':>7s}",
    ]
    lines += [f"{n:22s} {m.positive_rate:8.3f} {m.accuracy:6.3f} {m.balanced_accuracy:7.3f}" for n, m in rows]
    lines.append(f"{'mean':22s} {'':8s} {report.mean_accuracy:6.3f} {report.mean_balanced_accuracy:7.3f}")
    return "\n".join(lines) + "\n"
