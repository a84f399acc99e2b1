"""``python main.py attributes IMG... [--json [OUT]] [--method lmle|baseline] [--detector NAME]
[--min-score S]``: the 40 CelebA attributes of every detected face.

Each face is detected, gets face-api's 68 landmarks, is warped into CelebA's
aligned frame and classified (:class:`core.attributes.recognizer.AttributeRecognizer`).

JSON (``--json`` alone or ``--json -``: stdout; ``--json OUT``: a file)::

    {"method": "lmle", "detector": "centerface",
     "images": [{"path": ..., "error": null | "why",
                 "faces": [{"box": [x1, y1, x2, y2], "score": s,
                            "attributes": {"Bald": {"present": false, "margin": -0.41}, ...} | null}]}]}

Boxes are original-image pixels. ``margin`` is signed (> 0: present); for
LMLE it is in squared embedding-distance units, for the baseline a logit.
``attributes`` is null for a face whose landmarks were unusable. Without
``--json``: one line per face listing the attributes present.
Exit codes: 0 all images read, 1 an image or the model failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.cli.output import emit_json
from core.detect.registry import DEFAULT_DETECTOR, DETECTORS
from core.io.files import expand_inputs
from core.io.imageio import ImageLoadError, load_image

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("images", nargs="+", metavar="IMG", help="image files or folders")
    parser.add_argument(
        "--method", choices=("lmle", "lmle-head", "baseline"), default="lmle", help="attribute model"
    )
    parser.add_argument("--model", default=None, help="weights name or .pt path (overrides --method)")
    parser.add_argument("--detector", choices=sorted(DETECTORS), default=DEFAULT_DETECTOR)
    parser.add_argument("--min-score", type=float, default=None, help="detector threshold (default: its own)")
    parser.add_argument(
        "--json",
        dest="json_out",
        nargs="?",
        const="-",
        default=None,
        metavar="OUT",
        help="JSON ('-' = stdout)",
    )


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.attributes.model import METHOD_MODELS, AttributeModel
    from core.attributes.recognizer import AttributeRecognizer

    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.zoo.weights import WeightsError

    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        sys.stderr.write(f"attributes: error: --min-score must be in [0, 1], got {args.min_score}\n")
        return 2
    paths = list(expand_inputs(args.images))
    if not paths:
        sys.stderr.write("attributes: error: no image found\n")
        return 2
    model = AttributeModel.load(args.model or METHOD_MODELS[args.method])
    recognizer = AttributeRecognizer(model, args.detector)
    entries, failed = [], 0
    for path in paths:
        entry: dict = {"path": str(path), "error": None, "faces": []}
        try:
            faces = recognizer.analyze(load_image(path), min_score=args.min_score)
            entry["faces"] = [f.to_json() for f in faces]
        except (ImageLoadError, OSError, WeightsError) as exc:
            entry["error"] = str(exc)
            failed += 1
            log.error("%s: %s", path, exc)
        entries.append(entry)
        if args.json_out is None:
            sys.stdout.write(_describe(entry))
    if args.json_out is not None:
        doc = {"method": model.method, "detector": args.detector, "images": entries}
        emit_json(doc, args.json_out, indent=2)
    return 1 if failed else 0


def _describe(entry: dict) -> str:
    if entry["error"]:
        return f"{entry['path']}: error: {entry['error']}\n"
    if not entry["faces"]:
        return f"{entry['path']}: no face\n"
    lines = []
    for i, face in enumerate(entry["faces"], 1):
        box = " ".join(f"{v:.0f}" for v in face["box"])
        attrs = face["attributes"]
        text = (
            ", ".join(n for n, v in attrs.items() if v["present"]) or "(none)" if attrs else "(no landmarks)"
        )
        lines.append(f"{entry['path']} face {i} [{box}] {face['score']:.2f}: {text}")
    return "\n".join(lines) + "\n"
