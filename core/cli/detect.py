"""``python main.py detect PATH... [--model centerface|ssd] [--min-score S] [--max-side N] [--json OUT|-]
[--wider-out DIR] [--recursive]``.

Detects faces in image files and folders (a folder contributes its image files,
by suffix; ``--recursive`` descends into sub-folders). Output:

* ``--json OUT`` (``-`` = stdout)::

    {"model": "centerface",
     "images": [{"path": ..., "width": W, "height": H, "ms": detector time,
                 "faces": [{"box": [x1, y1, x2, y2], "score": s, "branch": "small",
                            "landmarks": [[x, y], ...] | null}],
                 "error": null | "why this file failed"}]}

  Boxes are in original-image pixels. ``ms`` is the detector's own time
  (preprocess + forward + postprocess), not the file decoding.
* ``--wider-out DIR``: the official WIDER submission layout,
  ``DIR/<event>/<stem>.txt`` (event = the image's parent folder name), written
  with :mod:`core.wider.predictions`. Failed files get no prediction file.
* without ``--json``: one summary line per image on stdout.

A file that cannot be read or processed gets its ``error`` and the batch goes
on. Exit code: 0 all files ok, 1 at least one failed (or the model could not be
loaded), 2 usage error (bad option value, no image found).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from core.detect.protocol import Detector
from core.detect.registry import DEFAULT_DETECTOR, DETECTORS, create_detector
from core.imageio import ImageLoadError, is_image_path, load_image
from core.wider.predictions import prediction_path, rows_from_xyxy, write_prediction_file
from core.zoo.weights import WeightsError

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders")
    parser.add_argument(
        "--model", choices=sorted(DETECTORS), default=DEFAULT_DETECTOR, help="detector (default %(default)s)"
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=None,
        metavar="S",
        help="score threshold in [0, 1] (default: the model's)",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=None,
        metavar="N",
        help="longer side of the working resolution (CenterFace; default: the model's)",
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="OUT",
        help="write results as JSON to OUT ('-' = stdout)",
    )
    parser.add_argument(
        "--wider-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write WIDER submission files under DIR",
    )
    parser.add_argument("--recursive", action="store_true", help="descend into sub-folders")


def expand_paths(paths: list[str], recursive: bool = False) -> list[Path]:
    """Files named on the command line are kept as given (even without an image suffix, so
    that a mis-named file reports its own error); folders contribute their image files, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            pattern = path.rglob("*") if recursive else path.iterdir()
            images = sorted(p for p in pattern if p.is_file() and is_image_path(p))
            if not images:
                log.warning("no image files in folder %s", path)
            found.extend(images)
        else:
            found.append(path)
    return found


def _detect_one(detector: Detector, path: Path, min_score: float | None) -> tuple[dict, object | None]:
    """One JSON entry (and the DetectionResult when it worked); never raises for a bad file."""
    entry: dict = {"path": str(path), "width": None, "height": None, "ms": None, "faces": [], "error": None}
    try:
        image = load_image(path)
    except ImageLoadError as exc:
        entry["error"] = exc.reason
        return entry, None
    entry["height"], entry["width"] = int(image.shape[0]), int(image.shape[1])
    start = time.perf_counter()
    try:
        result = detector.detect(image, min_score=min_score)
    except Exception as exc:  # one broken image must not end the batch
        log.exception("detection failed on %s", path)
        entry["error"] = f"detection failed: {type(exc).__name__}: {exc}"
        entry["ms"] = round((time.perf_counter() - start) * 1e3, 2)
        return entry, None
    entry["ms"] = round(result.total_ms or (time.perf_counter() - start) * 1e3, 2)
    entry["faces"] = [face.to_json() for face in result.faces]
    return entry, result


def _write_wider(out_dir: Path, path: Path, result) -> None:
    rows = rows_from_xyxy([f.box for f in result.faces], [f.score for f in result.faces])
    event = path.resolve().parent.name
    write_prediction_file(prediction_path(out_dir, event, path.name), path.stem, rows)


def _usage_error(message: str) -> int:
    sys.stderr.write(f"detect: error: {message}\n")
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        return _usage_error(f"--min-score must be in [0, 1], got {args.min_score}")
    if args.max_side is not None and args.max_side < 32:
        return _usage_error(f"--max-side must be at least 32, got {args.max_side}")
    paths = expand_paths(args.paths, args.recursive)
    if not paths:
        return _usage_error("no image files found in the given paths")
    try:
        detector = create_detector(args.model)
    except WeightsError as exc:
        sys.stderr.write(f"detect: {exc}\n")
        return EXIT_FAILED
    if args.max_side is not None:
        if not hasattr(detector, "max_side"):
            return _usage_error(f"--max-side is not supported by the {args.model} detector")
        detector.max_side = args.max_side

    images: list[dict] = []
    failed = 0
    for path in paths:
        entry, result = _detect_one(detector, path, args.min_score)
        if entry["error"] is not None:
            failed += 1
            log.warning("%s: %s", path, entry["error"])
        elif args.wider_out is not None:
            _write_wider(args.wider_out, path, result)
        images.append(entry)
        if args.json_out is None:
            status = entry["error"] or f"{len(entry['faces'])} faces, {entry['ms']:.1f} ms"
            sys.stdout.write(f"{path}: {status}\n")

    if args.json_out is not None:
        text = json.dumps({"model": args.model, "images": images}, indent=1) + "\n"
        if args.json_out == "-":
            sys.stdout.write(text)
        else:
            out = Path(args.json_out)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, out)
    log.info("%d images, %d failed", len(images), failed)
    return EXIT_FAILED if failed else EXIT_OK
