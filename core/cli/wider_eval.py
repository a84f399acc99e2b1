"""``python main.py wider-eval``: evaluate a WIDER FACE submission folder.

Example::

    python main.py wider-eval --pred out/val_pred --gt ../shared/data/wider_val_gt/eval_tools_ground_truth \\
        --json results.json

Without ``--json`` a summary table goes to stdout; ``--json -`` writes the
JSON (see core/wider/report.py) to stdout instead. Exit codes: 0 success,
2 unreadable ground truth or malformed prediction file (the message names
the file and line).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.io.bounded import MIB
from core.wider.evaluation import evaluate
from core.wider.groundtruth import ALL_FACES, load_ground_truth
from core.wider.labels import WiderFormatError
from core.wider.matv5 import MatFormatError
from core.wider.predictions import PREDICTION_FILE_LIMIT, read_submission
from core.wider.report import result_to_json, write_result_json

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True, help="submission folder: <event>/<image stem>.txt files")
    parser.add_argument(
        "--gt",
        required=True,
        help="eval_tools ground_truth folder (or one of its .mat files), or a *_bbx_gt.txt label file "
        "(keep lists from a *keep*.json beside it)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        help="easy, medium, hard, all_faces (every face, not official) or all (= the ground truth's "
        "settings, the default); repeatable",
    )
    parser.add_argument(
        "--mode",
        choices=("official", "corrected"),
        default="official",
        help="official: the MATLAB eval_tools semantics (papers' numbers); corrected: real-valued IoU, "
        "best-overlap matching",
    )
    parser.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT ('-' for stdout)")
    parser.add_argument(
        "--no-curves", action="store_true", help="leave the 1000-point curves out of the JSON"
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip the attribute and size breakdown")
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="read malformed prediction files as the official read_pred.m does (their detections are "
        "dropped and listed) instead of stopping with an error",
    )
    parser.add_argument(
        "--max-prediction-mb",
        type=float,
        default=PREDICTION_FILE_LIMIT / MIB,
        metavar="MB",
        help="refuse a prediction file larger than this (default %(default).0f MB; one image's detections)",
    )


def _settings(requested: list[str] | None, available: tuple[str, ...]) -> list[str]:
    if not requested:
        return list(available) or [ALL_FACES]
    out: list[str] = []
    for name in requested:
        for item in name.split(","):
            names = list(available) if item == "all" else [item]
            out.extend(n for n in names if n not in out)
    return out


def _summary(result, out) -> None:
    rows = [
        f"WIDER FACE evaluation ({result.mode} protocol), {result.num_images} images, "
        f"{result.num_predictions} predictions, {result.seconds:.2f} s"
    ]
    for name, setting in result.settings.items():
        rows.append(
            f"  {name:<10} AP {setting.ap:.4f}   max recall {setting.max_recall:.4f}   faces {setting.num_faces}"
        )
    if result.missing:
        rows.append(
            f"  {len(result.missing)} prediction files missing (no detections), e.g. {result.missing[0]}"
        )
    if result.dropped:
        rows.append(
            f"  {len(result.dropped)} malformed files dropped (lenient reading), e.g. {result.dropped[0]}"
        )
    if result.breakdown:
        setting = list(result.settings)[-1]
        rows.append(f"  breakdown on {setting} (faces, AP, recall):")
        for e in result.breakdown:
            if e.setting == setting and e.num_faces:
                rows.append(f"    {e.group:>12}={e.value:<10} {e.num_faces:>6}  {e.ap:.4f}  {e.recall:.4f}")
    out.write("\n".join(rows) + "\n")


def run(args: argparse.Namespace) -> int:
    try:
        gt = load_ground_truth(args.gt)
    except (MatFormatError, WiderFormatError, FileNotFoundError, ValueError) as exc:
        log.error("cannot load ground truth: %s", exc)
        return 2
    settings = _settings(args.setting, gt.settings)
    unknown = [s for s in settings if s != ALL_FACES and s not in gt.keep]
    if unknown:
        log.error("unknown setting(s) %s; %s has %s", unknown, args.gt, list(gt.settings))
        return 2
    try:
        submission = read_submission(
            args.pred,
            gt.keys,
            on_error="official" if args.lenient else "raise",
            max_file_bytes=int(args.max_prediction_mb * MIB),
        )
    except FileNotFoundError as exc:  # a malformed file (PredictionFormatError) exits 2 in run_cli
        log.error("%s", exc)
        return 2
    result = evaluate(gt, submission, settings=settings, mode=args.mode, breakdown=not args.no_breakdown)
    if args.json == "-":
        json.dump(result_to_json(result, curves=not args.no_curves), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if args.json:
        write_result_json(args.json, result, curves=not args.no_curves)
    _summary(result, sys.stdout)
    return 0
