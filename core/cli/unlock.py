"""``python main.py unlock``: enrol, verify, list, rename and delete face-unlock users from a video.

    main.py unlock --video FILE --enroll NAME [--stem S] [--store DIR] [--frames 5] [--keep-images] [--overwrite]
    main.py unlock --video FILE --verify [--stem S] [--far 1e-3] [--store DIR] [--json OUT|-]
    main.py unlock --list [--store DIR] [--json OUT|-]
    main.py unlock --rename OLD NEW [--store DIR]
    main.py unlock --delete NAME [--store DIR]

``--video`` takes a video file, an image folder or glob, or a camera index
(``0``). ``--store`` overrides the template folder (default
``<user data>/unlock``): tests and benchmarks never touch the user's store.
Verification JSON::

    {"decision": "unlocked"|"locked", "user": name|null,
     "frames": [{"score", "accepted", "ms": {"detect", "landmarks", "embed", "match", "total"}, ...}],
     "latency_ms": {"p50", "p95"}, "first_decision_ms", ...}

Exit codes: 0 done (verification: whatever the decision), 2 bad input (video,
camera, store, template, option), 3 enrolment collected too few good frames,
1 missing model weights or calibration.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.cli.output import emit_json
from core.cli.verify import parse_rate
from core.recognize.stems import STEMS, UNLOCK_STEM, stem_spec
from core.unlock.calibrate import load_calibration
from core.unlock.decision import DecisionRule
from core.unlock.templates import TemplateExists, TemplateStore

log = logging.getLogger(__name__)


def parse_far(text: str) -> float:
    """The unlock FAR: a number only (unlock has no best-accuracy threshold)."""
    return parse_rate(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--enroll", "--enrol", metavar="NAME", help="enrol NAME from --video")
    action.add_argument("--verify", action="store_true", help="verify the faces of --video")
    action.add_argument("--list", action="store_true", help="list the enrolled users")
    action.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help="rename a user")
    action.add_argument("--delete", metavar="NAME", help="delete a user's template")
    parser.add_argument("--video", help="video file, image folder/glob, or camera index")
    parser.add_argument("--store", default=None, help="template folder (default: <user data>/unlock)")
    parser.add_argument(
        "--far", type=parse_far, default=1e-3, help="target false-accept rate (1e-2, 1e-3, 1e-4)"
    )
    parser.add_argument("--json", default=None, metavar="OUT", help="write JSON to OUT ('-' for stdout)")
    parser.add_argument("--frames", type=int, default=5, help="enrolment frames (default 5)")
    parser.add_argument("--keep-images", action="store_true", help="store the enrolment face crops (opt-in)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing user at enrolment")
    parser.add_argument("--no-dream", action="store_true", help="descriptors without the DREAM block")
    parser.add_argument(
        "--stem",
        choices=list(STEMS),
        default=UNLOCK_STEM,
        help=f"embedding network (default {UNLOCK_STEM}; a store only matches the stem it was enrolled with)",
    )
    parser.add_argument("--k", type=int, default=None, help="accepts needed (default 3)")
    parser.add_argument("--n", type=int, default=None, help="out of the last n usable frames (default 5)")
    parser.add_argument("--window", type=float, default=None, help="within this many seconds (default 1.5)")
    parser.add_argument("--stop", action="store_true", help="stop reading at the unlock")
    parser.add_argument("--no-tracking", action="store_true", help="detect on the whole frame every time")
    parser.add_argument("--max-frames", type=int, default=None, help="read at most this many frames")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads per frame (default 1: fastest here)"
    )


def _rule(args: argparse.Namespace):

    base = DecisionRule()
    return DecisionRule(
        k=args.k if args.k is not None else base.k,
        n=args.n if args.n is not None else base.n,
        window_s=args.window if args.window is not None else base.window_s,
    )


def run(args: argparse.Namespace) -> int:

    try:
        store = TemplateStore(args.store)
        if args.list:
            return _list(store, args, emit_json)
        if args.rename:
            path = store.rename(*args.rename)
            sys.stdout.write(f"renamed {args.rename[0]!r} to {args.rename[1]!r} ({path.name})\n")
            return 0
        if args.delete:
            store.delete(args.delete)
            sys.stdout.write(f"deleted {args.delete!r}\n")
            return 0
        if not args.video:
            log.error("--video is required with --enroll and --verify")
            return 2
        if args.enroll and store.exists(args.enroll) and not args.overwrite:
            raise TemplateExists(f"A user named {args.enroll!r} is already enrolled (use --overwrite).")
        # lazy: the engine (torch) loads when this command runs, not for every command's --help
        from core.io.video.reader import open_reader

        reader = open_reader(args.video)  # a bad video or camera is reported before any model loads
        try:
            if args.enroll:
                return _enrol(store, reader, args, emit_json)
            return _verify(store, reader, args, emit_json)
        finally:
            reader.close()
    except (ValueError, OSError) as exc:  # CalibrationError too; video and template errors exit 2 in run_cli
        log.error("%s", exc)
        return 2


def _list(store, args, emit_json) -> int:
    entries = store.entries()
    payload = {
        "store": str(store.root),
        "users": [e.summary.to_json() for e in entries if e.summary is not None],
        "refused": [{"file": e.path.name, "reason": str(e.error)} for e in entries if e.error is not None],
    }
    if emit_json(payload, args.json):
        return 0
    if not entries:
        sys.stdout.write(f"no user enrolled in {store.root}\n")
    for user in payload["users"]:
        sys.stdout.write(
            f"{user['name']}\t{user['frames']} frames\t{user['created']}\t"
            f"{'DREAM' if user['dream'] else 'stem'}\t{user['model_id']}\n"
        )
    for bad in payload["refused"]:
        sys.stdout.write(f"REFUSED {bad['file']}: {bad['reason']}\n")
    return 0


def _pipeline(args: argparse.Namespace):
    """The unlock pipeline of ``--stem`` (DREAM unless ``--no-dream`` or the stem has none)."""
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.unlock.pipeline import UnlockPipeline

    dream = not args.no_dream and stem_spec(args.stem).has_dream
    return UnlockPipeline(use_dream=dream, threads=args.threads, stem=args.stem).load()


def _enrol(store, reader, args, emit_json) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.unlock.runs import enrol_video
    from core.unlock.session import Enroller

    pipeline = _pipeline(args)
    enroller = Enroller.calibrated(
        pipeline, load_calibration(), n_frames=args.frames, keep_images=args.keep_images
    )
    result = enrol_video(reader, args.enroll, store, enroller, args.overwrite, args.max_frames)
    on_stdout = emit_json(result.to_json(), args.json)
    if not result.ok:
        log.error("enrolment of %r failed: %s", args.enroll, result.shortfall())
        return 3
    if not on_stdout:
        sys.stdout.write(
            f"enrolled {args.enroll!r} from {result.collected} frames ({result.frames_read} read) -> {result.path}\n"
        )
    return 0


def _verify(store, reader, args, emit_json) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.unlock.runs import verify_video
    from core.unlock.session import UnlockSession

    pipeline = _pipeline(args)
    session = UnlockSession.from_store(
        store, far=args.far, pipeline=pipeline, rule=_rule(args), tracking=not args.no_tracking
    )
    pipeline.warmup()
    result = verify_video(reader, session, stop_on_unlock=args.stop, max_frames=args.max_frames)
    op = session.operating_point
    result.extra = {
        "far": op.target_far,
        "threshold": round(op.threshold, 6),
        "impostor_pairs": op.impostors,
        "supported": op.supported,
        "rule": session.rule.to_json(),
        "users": session.users,
    }
    if emit_json(result.to_json(), args.json):
        return 0
    p50, p95 = result.latency()
    first = "n/a" if result.first_decision_ms is None else f"{result.first_decision_ms:.0f} ms"
    sys.stdout.write(
        f"{result.decision.upper()}{'' if result.user is None else ' as ' + repr(result.user)}  "
        f"({result.frames_read} frames, {sum(o.accepted for o in result.outcomes)} accepted; "
        f"threshold {op.threshold:.4f} at FAR {op.target_far:g} from {op.impostors} impostor pairs)\n"
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms; first decision {first}\n"
    )
    return 0
