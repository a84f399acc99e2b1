"""``python main.py verify IMG_A IMG_B [--stem S] [--dream on|off|auto] [--far F|accuracy] [--json]``: same person?

Each image's main face (largest confident CenterFace detection; the whole
image when none is found, right for face crops) goes through face-api's
landmarks and the chosen stem's embedding (``--stem``, default the one that
measured best on CFP: ``faceres``); yaw comes from the fused PnP estimate,
the DREAM gate from the yaw. ``--dream auto`` (the default) uses DREAM where
the stem has a DREAM block (face-api's). The decision uses the calibrated threshold of the pair's
pose bucket (FF / FP) at ``--far`` (default 1e-2) or at the CFP best-accuracy
cut (``--far accuracy``). JSON::

    {"score", "threshold", "accepted", "yaw": [a, b], "gate": [ga, gb], ...}

Exit codes: 0 compared (accepted or not), 2 unreadable image or bad option,
1 missing model weights.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.io.imageio import load_image
from core.recognize.stems import DEFAULT_STEM, STEMS, stem_spec

log = logging.getLogger(__name__)


def parse_rate(text: str, option: str = "--far") -> float:
    """A false-accept rate typed on the command line: a number in (0, 1) such as ``1e-3``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{option} must be a number such as 1e-3, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{option} must be in (0, 1), got {value}")
    return value


def parse_far(text: str) -> float | None:
    """A FAR, or ``accuracy`` / ``acc`` / ``best`` for the best-accuracy threshold (``None``)."""
    if str(text).lower() in ("accuracy", "acc", "best"):
        return None
    return parse_rate(text)


def add_stem_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stem`` and ``--dream`` (shared by the verification commands)."""
    parser.add_argument("--stem", choices=list(STEMS), default=DEFAULT_STEM, help="embedding network")
    parser.add_argument(
        "--dream",
        choices=["on", "off", "auto"],
        default="auto",
        help="map with DREAM (auto: where the stem has it)",
    )


def use_dream(args: argparse.Namespace) -> bool:
    """``--dream`` resolved for ``--stem`` (``on`` with a stem without DREAM fails later, clearly)."""
    return stem_spec(args.stem).has_dream if args.dream == "auto" else args.dream == "on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("img_a")
    parser.add_argument("img_b")
    add_stem_arguments(parser)
    parser.add_argument("--far", type=parse_far, default=1e-2, help="target FAR (1e-1 … 1e-4) or 'accuracy'")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.recognize.verify import Verifier

    try:
        images = [load_image(p) for p in (args.img_a, args.img_b)]
    except OSError as exc:  # an unreadable image (ImageLoadError) exits 2 in run_cli
        log.error("%s", exc)
        return 2
    try:
        verifier = Verifier(far=args.far, stem=args.stem)
        sides = [verifier.describe_image(img) for img in images]
        result = verifier.compare(sides[0], sides[1], use_dream=use_dream(args))
    except KeyError as exc:
        log.error("%s", exc.args[0] if exc.args else exc)
        return 2
    for path, side in zip((args.img_a, args.img_b), sides, strict=True):
        if not side.record.detected:
            log.warning("%s: no face detected, the whole image was used", path)
    if args.json:
        json.dump(result.to_json(), sys.stdout)
        sys.stdout.write("\n")
        return 0
    r = result.result
    sys.stdout.write(
        f"{'SAME' if r.accepted else 'DIFFERENT'}  score {r.score:.4f} vs threshold {r.threshold:.4f} "
        f"({result.bucket} pair, {args.stem} stem {'with' if result.mode == 'dream' else 'without'} DREAM, "
        f"{result.operating_point})\n"
        f"yaw {result.a.yaw.yaw:.1f}° / {result.b.yaw.yaw:.1f}°, gate {result.a.gate:.3f} / {result.b.gate:.3f}, "
        + (
            f"cosine without DREAM {result.score_stem:.4f}, with {result.score_dream:.4f}\n"
            if stem_spec(args.stem).has_dream
            else f"cosine {result.score_stem:.4f} (the {args.stem} stem has no DREAM block)\n"
        )
    )
    return 0
