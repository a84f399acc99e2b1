"""``python main.py detect PATH... [--model M] [--min-score S] [--max-side N] [--min-face PX]
[--precision float|int8] [--recursive] [--every K]
[--json OUT|-] [--jsonl OUT] [--wider-out DIR] [--verify stat|hash] [--no-resume] [--progress|--no-progress]
[--checkpoint FILE] [--threads T] [--device D] [--wait]``.

Detects faces in image files, folders, glob patterns (``"data/**/*.jpg"``,
quoted) and videos (every frame, or every K-th with ``--every K``); see
:mod:`core.detect.batch.inputs` for how paths expand. Outputs:

* ``--json OUT`` (``-`` = stdout), one document written at the end::

    {"model": "centerface",
     "images": [{"path": ..., "width": W, "height": H, "ms": detector time,
                 "faces": [{"box": [x1, y1, x2, y2], "score": s, "branch": "small",
                            "landmarks": [[x, y], ...] | null}],
                 "error": null | "why this file failed"}]}

  Video frames are entries too, with ``"frame"`` and ``"time_s"`` added; a
  video that cannot be read is one entry with its ``error``. Boxes are in
  original-image pixels. ``ms`` is the detector's own time (preprocess +
  forward + postprocess), not the file decoding.
* ``--jsonl OUT``: JSON lines, one record per image / video frame plus one
  summary per video (schema in :mod:`core.detect.batch.run`), written as the run
  goes. **Resumable**: a rerun skips every input already written whose file
  is unchanged (``--verify stat``: size + mtime, the default; ``--verify
  hash``: size + SHA-256) and retries failures; ``--no-resume`` starts over.
* ``--wider-out DIR``: the official WIDER submission layout,
  ``DIR/<event>/<stem>.txt`` (event = the image's parent folder name; video
  frames: ``DIR/<video stem>/<video stem>_<frame>.txt``), written with
  :mod:`core.wider.predictions`. Failed files get no prediction file. Also
  resumable (a hidden ledger ``DIR/.facescope-detect.jsonl`` records what was
  written when no ``--jsonl`` is given).
* without ``--json``/``--jsonl``: one summary line per image or frame on stdout.

One run per output: a run locks its ``--jsonl`` file (``OUT.lock`` beside it)
and its ``--wider-out`` folder (``DIR/.facescope-detect.lock``) until it ends;
a second run on them exits 2 at once naming the first one's pid, or waits for
it with ``--wait`` (see :mod:`core.detect.batch.lock`).

Progress (images/s, ETA) goes to stderr (a bar on a terminal, a line every few
seconds otherwise; ``--progress``/``--no-progress`` force it), and a summary of
failures at the end.

Scale-out: ``torchrun --nproc_per_node N main.py detect ...`` shards the
inputs across N processes (one per GPU when CUDA is present; gloo on CPU, with
the CPU threads split between the processes); each rank writes its own shard
and rank 0 merges them in input order, so the output is the same as one
process's (see :mod:`core.detect.batch.ledger`).

A file that cannot be read or processed gets its ``error`` and the batch goes
on. Exit code: 0 all files ok, 1 at least one failed (or the model could not be
loaded), 2 usage error (bad option value, no input found), 130 interrupted
(what was written is kept and the next run resumes).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.output import emit_json
from core.detect.batch.inputs import WorkItem, expand_batch_inputs
from core.detect.batch.ledger import VERIFY_MODES, order_records
from core.detect.batch.lock import OutputBusyError
from core.detect.batch.options import BatchOptions, BatchProgress, BatchSummary
from core.detect.registry import (
    DEFAULT_DETECTOR,
    DETECTORS,
    FAST,
    INT8,
    MAX_SIDE_LIMIT,
    MIN_SIDE_LIMIT,
    MODES,
    PRECISIONS,
    SPECS,
    TAKES_CHECKPOINT,
)
from core.progress import relay

if TYPE_CHECKING:  # torch and the batch machinery load when a command runs, not for --help
    import torch

    from core.train.distributed import DistInfo

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DOC_KEYS = ("path", "width", "height", "ms", "faces", "error")
MAX_LISTED_FAILURES = 20
RESIZABLE = tuple(spec.name for spec in SPECS if spec.user_max_side)  # detectors --max-side applies to
MIN_FACE_HELP = (
    f"smallest face height wanted, in image pixels ({', '.join(s.name for s in SPECS if s.takes_min_face)}):"
    " the image is shrunk as far as such faces are still found, which is faster (default: every face)"
)
PRECISION_HELP = (
    f"float (default), or int8 ({', '.join(s.name for s in SPECS if INT8 in s.precisions)}, CPU only):"
    " faster, slightly less accurate (docs/adr/0030-centerface-fast-path.md)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="image or video files, folders, glob patterns (quoted)"
    )
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
        help=f"longer side of the working resolution ({', '.join(RESIZABLE)}; default: the model's)",
    )
    parser.add_argument("--min-face", type=float, default=None, metavar="PX", help=MIN_FACE_HELP)
    parser.add_argument("--precision", choices=PRECISIONS, default=None, help=PRECISION_HELP)
    parser.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="OUT",
        help="write one JSON document to OUT ('-' = stdout)",
    )
    parser.add_argument(
        "--jsonl", type=Path, default=None, metavar="OUT", help="write JSON lines per image/frame (resumable)"
    )
    parser.add_argument(
        "--wider-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write WIDER submission files under DIR",
    )
    parser.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    parser.add_argument(
        "--every", type=int, default=1, metavar="K", help="detect every K-th video frame (default 1)"
    )
    parser.add_argument(
        "--verify",
        choices=VERIFY_MODES,
        default="stat",
        help="how a rerun recognises unchanged inputs: size+mtime (stat) or size+SHA-256 (hash)",
    )
    parser.add_argument(
        "--no-resume", dest="resume", action="store_false", help="ignore earlier output, start over"
    )
    parser.add_argument(
        "--progress",
        dest="progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: on a terminal when results go to files)",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=FAST,
        help="fast: one pass; accurate: several scales chosen from the image size, mirrored, "
        "boxes merged by voting (slower, finds more small faces: for pre-labelling)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"run a checkpoint you trained instead of the bundled model ({', '.join(sorted(TAKES_CHECKPOINT))})",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="when another detect run is writing the same output, wait for it (default: exit 2 at once)",
    )
    parser.add_argument("--threads", type=int, default=None, metavar="T", help="CPU threads per process")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present)")


def _usage_error(message: str) -> int:
    sys.stderr.write(f"detect: error: {message}\n")
    return EXIT_USAGE


def _check(args: argparse.Namespace) -> str | None:
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        return f"--min-score must be in [0, 1], got {args.min_score}"
    if args.max_side is not None and not MIN_SIDE_LIMIT <= args.max_side <= MAX_SIDE_LIMIT:
        return f"--max-side must be {MIN_SIDE_LIMIT}..{MAX_SIDE_LIMIT}, got {args.max_side}"
    if args.every < 1:
        return f"--every must be at least 1, got {args.every}"
    if args.threads is not None and args.threads < 1:
        return f"--threads must be at least 1, got {args.threads}"
    return None


class ProgressPrinter:
    """Progress on a stream: a redrawn bar on a terminal, else a line every ``interval_s``."""

    def __init__(self, stream, tty: bool, prefix: str = "", interval_s: float = 5.0) -> None:
        self.stream, self.tty, self.prefix, self.interval_s = stream, tty, prefix, interval_s
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: BatchProgress) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last < 0.1 and progress.done < progress.total:
                return
            fraction = progress.fraction or 0.0
            bar = "#" * int(fraction * 30)
            self.stream.write(f"\r{self.prefix}[{bar:<30}] {progress.describe()}   ")
            self._drawn = True
        elif now - self._last >= self.interval_s:
            self.stream.write(f"{self.prefix}{progress.describe()}\n")
        else:
            return
        self._last = now
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _doc_entry(record: dict) -> dict | None:
    kind = record.get("kind")
    if kind == "video":
        if not record.get("error"):
            return None
        return {
            "path": record["path"],
            "width": None,
            "height": None,
            "ms": None,
            "faces": [],
            "error": record["error"],
        }
    entry = {key: record.get(key) for key in DOC_KEYS}
    if kind == "frame":
        entry["frame"], entry["time_s"] = record["frame"], record["time_s"]
    return entry


def _summary_line(record: dict) -> str | None:
    if record.get("kind") == "video":
        return f"{record['path']}: {record['error']}" if record.get("error") else None
    where = record["path"] if record.get("kind") != "frame" else f"{record['path']}#{record['frame']}"
    status = record["error"] or f"{len(record['faces'])} faces, {record['ms']:.1f} ms"
    return f"{where}: {status}"


def _write_doc(target: str, model: str, records: list[dict]) -> None:
    entries = [e for e in (_doc_entry(r) for r in records) if e is not None]
    emit_json({"model": model, "images": entries}, target)


def _report_failures(summaries: list[BatchSummary], verbose: bool = False) -> int:
    failures = [f for s in summaries for f in s.failures]
    processed = sum(s.processed for s in summaries)
    skipped = sum(s.skipped for s in summaries)
    elapsed = max((s.elapsed_s for s in summaries), default=0.0)
    rate = processed / elapsed if elapsed > 0 else 0.0
    log.info("%d detected (%.1f/s), %d skipped, %d failed", processed, rate, skipped, len(failures))
    if verbose or skipped or failures:
        sys.stderr.write(
            f"detect: {processed} detected ({rate:.2f}/s over {elapsed:.1f} s), "
            f"{skipped} skipped (already written), {len(failures)} failed\n"
        )
    for path, frame, error in failures[:MAX_LISTED_FAILURES]:
        where = path if frame is None else f"{path}#{frame}"
        sys.stderr.write(f"  {where}: {error}\n")
    if len(failures) > MAX_LISTED_FAILURES:
        sys.stderr.write(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more\n")
    return len(failures)


def _setup(args: argparse.Namespace) -> tuple[DistInfo, torch.device | None]:
    # lazy: torch loads when a detect run starts, not for every command's --help
    import torch

    from core.train.distributed import DistInfo, local_rank_from_env, resolve_device, setup_distributed

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        device = resolve_device(args.device or "auto", local_rank_from_env())
        return setup_distributed(device), device
    return DistInfo(), (torch.device(args.device) if args.device else None)


def _set_threads(args: argparse.Namespace, dist: DistInfo, device: torch.device | None) -> None:
    # lazy: torch loads when a detect run starts, not for every command's --help
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    elif dist.enabled and (device is None or device.type == "cpu"):
        # N processes on one machine share its cores; oversubscribed threads stall each other
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        local = int(os.environ.get("LOCAL_WORLD_SIZE", dist.world_size))
        torch.set_num_threads(max(1, cores // max(1, local)))


def run(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem:
        return _usage_error(problem)
    items: list[WorkItem] = expand_batch_inputs(args.paths, args.recursive)
    if not items:
        return _usage_error("no image or video files found in the given paths")
    options = BatchOptions(
        model=args.model,
        mode=args.mode,
        min_score=args.min_score,
        max_side=args.max_side,
        min_face=args.min_face,
        precision=args.precision,
        jsonl=args.jsonl,
        wider_out=args.wider_out,
        verify=args.verify,
        resume=args.resume,
        every=args.every,
        keep_records=args.json_out is not None,
        checkpoint=args.checkpoint,
        wait=args.wait,
    )
    # lazy: torch.distributed loads when a detect run starts, not for every command's --help
    from core.train.distributed import cleanup_distributed

    dist, device = _setup(args)
    try:
        return _run(args, items, options, dist, device)
    finally:
        cleanup_distributed(dist)


def _run(args, items: list[WorkItem], options: BatchOptions, dist: DistInfo, device) -> int:
    # lazy: the detectors and torch.distributed load when a detect run starts
    from core.detect.batch.run import build_detector, run_batch
    from core.train.distributed import all_gather_objects
    from core.zoo.weights import WeightsError

    try:
        detector = build_detector(options, device)
    except WeightsError as exc:
        sys.stderr.write(f"detect: {exc}\n")
        return EXIT_FAILED
    except ValueError as exc:
        return _usage_error(str(exc))
    _set_threads(args, dist, device)
    to_files = args.json_out is not None or args.jsonl is not None
    show = args.progress if args.progress is not None else (to_files and sys.stderr.isatty())
    printer = None
    if show and dist.is_main:
        prefix = f"rank 0/{dist.world_size} " if dist.enabled else ""
        printer = ProgressPrinter(sys.stderr, sys.stderr.isatty(), prefix)

    def print_line(record: dict) -> None:
        line = _summary_line(record)
        if line:
            sys.stdout.write(line + "\n")

    job = run_batch(items, options, detector, dist, on_record=None if to_files else print_line)
    try:
        summary: BatchSummary = relay(job, printer)
    except OutputBusyError as exc:
        return _usage_error(str(exc.with_advice("wait for it or pass --wait")))
    except KeyboardInterrupt:  # relay closed the job, so its ledger is flushed
        sys.stderr.write("\ndetect: interrupted; what was written is kept, run again to resume\n")
        return EXIT_INTERRUPTED
    finally:
        if printer is not None:
            printer.close()
    summaries: list[BatchSummary] = all_gather_objects(dist, summary)
    failed = 0
    if dist.is_main:
        if args.json_out is not None:
            records = order_records([r for s in summaries for r in s.records], [i.key for i in items])
            _write_doc(args.json_out, args.model, records)
        failed = _report_failures(summaries, verbose=printer is not None)
    else:
        failed = sum(len(s.failures) for s in summaries)
    return EXIT_FAILED if failed else EXIT_OK
