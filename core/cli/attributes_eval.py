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

Without ``--json`` a table sorted by positive rate goes to stdout. Exit
codes: 0 ok, 1 data or model error, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from core.attributes.celeba import CelebA, CelebAFormatError, parse_range
from core.attributes.metrics import evaluate_predictions
from core.cli.output import emit_json
from core.io.imageio import ImageLoadError
from core.progress import Progress, relay

log = logging.getLogger(__name__)

METHODS = ("lmle", "baseline", "triplet")


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


def _selection(dataset, model, args) -> tuple[object, str]:
    """The rows to score and a description of them."""

    if args.id_range or args.partition:
        table = dataset.select(args.id_range, args.partition)
        return table, args.id_range or args.partition
    train_range = str(model.meta.get("train_range", ""))
    table = dataset.table
    if train_range:
        lo, hi = parse_range(train_range)
        ids = table.image_ids()
        table = table.take(np.flatnonzero((ids < lo) | (ids > hi)))
        ids = table.image_ids()
        desc = (
            f"{ids.min()}-{ids.max()}" if len(ids) and (np.diff(ids) == 1).all() else f"all but {train_range}"
        )
        return table, desc
    return table, "all"


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.features import FLIP_SUFFIX, FeatureCache

    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.model import METHOD_MODELS, AttributeModel

    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # feature-extraction progress is this command's normal stderr output
    try:
        dataset = CelebA.open(args.celeba_root)
        model = AttributeModel.load(args.model or METHOD_MODELS[args.method])
        table, desc = _selection(dataset, model, args)
    except (FileNotFoundError, ValueError) as exc:  # CelebAFormatError is a ValueError
        code = 1 if isinstance(exc, (CelebAFormatError, FileNotFoundError)) else 2
        log.error("%s", exc)
        return code
    if len(table) == 0:
        log.error("no images to evaluate (%s)", desc)
        return 2
    cache = FeatureCache(dataset.images_dir, args.feature_cache or None)
    try:
        if model.method == "triplet":
            train = dataset.select(str(model.meta.get("train_range", "")))
            model.set_bank(_features(cache, train.images), train.labels)
        feats = _features(cache, table.images)
        flipped = _features(cache, [n + FLIP_SUFFIX for n in table.images]) if model.tta else None
    except (ImageLoadError, OSError) as exc:
        log.error("%s", exc)
        return 1
    positive, _ = model.decide(feats, flipped)
    report = evaluate_predictions(table.labels, positive, table.names, model.method)
    doc = {"method": model.method, "images": len(table), "range": desc, **report.to_json()}
    # the schema's key order: method, attributes, means (images/range are informative extras)
    if args.json_out is not None:
        emit_json(doc, args.json_out, indent=2)
    else:
        sys.stdout.write(_table(report, desc, len(table)))
    return 0


def _features(cache, names) -> np.ndarray:
    def log_progress(progress: Progress) -> None:
        if progress.done == progress.total or progress.done % 1024 < 64:
            log.info("features: %d/%d images", progress.done, progress.total)

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
