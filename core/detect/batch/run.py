"""The batch detection job: every image and video frame of a list of inputs, resumable, shardable.

:func:`run_batch` is a generator: it yields :class:`BatchProgress` after every
detected unit (an image or a video frame) and returns a :class:`BatchSummary`.
The CLI prints the progress; the GUI submits the same generator to its job
runner (progress bar, cancel = the runner stops it at a yield). Records
(JSON lines, one per image / frame, plus one summary per video)::

    {"path": "clips/a.mp4", "kind": "frame", "frame": 12, "time_s": 0.48,
     "width": 640, "height": 480, "ms": 41.2,
     "faces": [{"box": [x1, y1, x2, y2], "score": s, "branch": "medium", "landmarks": [[x, y], ...]}],
     "error": null, "source": {"size": ..., "mtime_ns": ...}}
    {"path": "photos/b.jpg", "kind": "image", "frame": null, "time_s": null, ...}
    {"path": "clips/a.mp4", "kind": "video", "frames": 250, "fps": 25.0, "error": null, "source": {...}}

Boxes are original-image pixels; ``ms`` is the detector's own time. A video
that stops before its announced length gets ``error`` in its summary (its
frames are kept). WIDER submission files (``--wider-out``) are written per
image (``<event>/<stem>.txt``, event = parent folder) and per video frame
(``<video stem>/<video stem>_<frame:06d>.txt``).

Distribution: with a :class:`~core.train.distributed.DistInfo` of ``world_size``
N, process ``rank`` takes items ``rank, rank + N, ...`` and appends to its own
shard; rank 0 merges after a barrier (see :mod:`core.detect.batch.ledger`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING

from core.detect.batch.inputs import WorkItem
from core.detect.batch.ledger import (
    Ledger,
    dumps,
    fingerprint,
    merge_outputs,
    repair_shard,
    shard_path,
)
from core.detect.batch.lock import batch_locks, holding
from core.detect.batch.options import BatchOptions, BatchProgress, BatchSummary
from core.detect.protocol import Detector
from core.detect.registry import ACCURATE, detector_spec
from core.io.imageio import ImageLoadError, load_image
from core.io.video.reader import VideoError, VideoFileReader
from core.types import DetectionResult
from core.wider.predictions import prediction_path, rows_from_xyxy, write_prediction_file

if TYPE_CHECKING:  # torch.distributed: imported when a batch runs, not by the GUI that configures one
    from core.train.distributed import DistInfo

log = logging.getLogger(__name__)

SKIP_YIELD_EVERY = 200  # skipped units between progress reports (a resumed 100k-image run stays responsive)


def build_detector(options: BatchOptions, device=None) -> Detector:
    """The detector a batch uses (raises :class:`~core.zoo.weights.WeightsError` / ``ValueError``)."""
    spec = detector_spec(options.model)
    if options.max_side is not None and not spec.user_max_side:
        raise ValueError(f"max_side is not supported by the {options.model} detector")
    if options.max_side is not None and options.mode == ACCURATE:
        raise ValueError(
            "max_side sets the fast mode's working side; the accurate mode chooses its own scales"
        )
    if options.min_face is not None and options.mode == ACCURATE:
        raise ValueError("min_face shrinks the fast mode's input; the accurate mode chooses its own scales")
    return spec.create(
        options.mode,
        device=device,
        checkpoint=options.checkpoint,
        **spec.max_side_kwargs(options.max_side),
        **spec.fast_path_kwargs(options.min_face, options.precision),
    )


def _units(item: WorkItem, every: int) -> int:
    if item.kind == "image":
        return 1
    try:  # container metadata only; the reader is opened again when the video's turn comes
        reader = VideoFileReader(item.path)
    except VideoError:
        return 1
    count = reader.frame_count or 1
    reader.close()
    return max(1, -(-count // every))


def _detect(
    detector: Detector, image, min_score: float | None
) -> tuple[DetectionResult | None, str | None, float]:
    start = time.perf_counter()
    try:
        result = detector.detect(image, min_score=min_score)
    except Exception as exc:  # noqa: BLE001 - one broken input must not end the batch
        log.exception("detection failed")
        return None, f"detection failed: {type(exc).__name__}: {exc}", (time.perf_counter() - start) * 1e3
    return result, None, result.total_ms or (time.perf_counter() - start) * 1e3


def _record(item: WorkItem, kind: str, source: dict | None, **fields) -> dict:
    record = {
        "path": item.key,
        "kind": kind,
        "frame": None,
        "time_s": None,
        "width": None,
        "height": None,
        "ms": None,
        "faces": [],
        "error": None,
    }
    record.update(fields)
    record["source"] = source
    return record


def _fill(record: dict, image, result: DetectionResult | None, error: str | None, ms: float) -> dict:
    record["height"], record["width"] = int(image.shape[0]), int(image.shape[1])
    record["ms"] = round(ms, 2)
    record["error"] = error
    if result is not None:
        record["faces"] = [face.to_json() for face in result.faces]
    return record


def _write_wider(out: Path, event: str, name: str, result: DetectionResult) -> None:
    rows = rows_from_xyxy([f.box for f in result.faces], [f.score for f in result.faces])
    write_prediction_file(prediction_path(out, event, name), Path(name).stem, rows)


class _Run:
    """State of one process's run (the generator below is its driver)."""

    def __init__(self, items, options, detector, dist, on_record) -> None:
        self.items, self.options, self.detector, self.dist = items, options, detector, dist
        self.on_record = on_record
        self.ledger = Ledger(options.ledger_path if options.resume else None)
        self.handle: IO[str] | None = None
        self.records: list[dict] = []
        self.failures: list[tuple[str, int | None, str]] = []
        self.processed = self.skipped = self.done = 0
        self.start = time.perf_counter()
        self.total = 0
        self.current = ""

    def open_shard(self) -> None:
        out = self.options.ledger_path
        if out is None:
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        shard = shard_path(out, self.dist.rank)
        if not self.options.resume:
            for stale in (out, shard):
                stale.unlink(missing_ok=True)
        repair_shard(shard)
        self.handle = shard.open("a", encoding="utf-8")

    def emit(self, record: dict, new: bool) -> None:
        if new and self.handle is not None:
            self.handle.write(dumps(record) + "\n")
            self.handle.flush()
        if self.options.keep_records:
            self.records.append(record)
        if record.get("error"):
            self.failures.append((record["path"], record.get("frame"), record["error"]))
        if new and self.on_record is not None:
            self.on_record(record)

    def progress(self) -> BatchProgress:
        elapsed = time.perf_counter() - self.start
        rate = self.processed / elapsed if elapsed > 0 else 0.0
        left = max(0, self.total - self.done)
        eta = left / rate if rate > 0 else (0.0 if left == 0 else None)
        return BatchProgress(
            done=self.done,
            total=self.total,
            skipped=self.skipped,
            failed=len(self.failures),
            elapsed_s=elapsed,
            rate=rate,
            eta_s=eta,
            current=self.current,
        )

    def wider_present(self, event: str, name: str) -> bool:
        out = self.options.wider_out
        return out is None or prediction_path(out, event, name).exists()

    # --- one image ----------------------------------------------------------
    def image(self, item: WorkItem) -> bool:
        """Process or skip an image; True when detection ran."""
        source = fingerprint(item.path, self.options.verify)
        event = item.path.resolve().parent.name
        previous = self.ledger.done(item.key, None, source)
        if previous is not None and self.wider_present(event, item.path.name):
            return self.skip(previous)
        record = _record(item, "image", source)
        try:
            image = load_image(item.path)
        except ImageLoadError as exc:
            record["error"] = exc.reason
        else:
            result, error, ms = _detect(self.detector, image, self.options.min_score)
            _fill(record, image, result, error, ms)
            if result is not None and self.options.wider_out is not None:
                _write_wider(self.options.wider_out, event, item.path.name, result)
        self.processed += 1
        self.emit(record, new=True)
        return True

    # --- one video: a generator of "a unit was detected" ----------------------
    def skip(self, record: dict) -> bool:
        self.skipped += 1
        self.emit(record, new=False)
        return False

    def video(self, item: WorkItem) -> Generator[bool, None, None]:
        options = self.options
        source = fingerprint(item.path, options.verify)
        stem = item.path.stem
        done = {
            index: record
            for index, record in self.ledger.frames_done(item.key, source).items()
            if self.wider_present(stem, f"{stem}_{index:06d}")
        }
        summary = self.ledger.done(item.key, "video", source)
        if summary is not None and len(done) == len(self.ledger.frames_done(item.key, source)):
            for index in sorted(done):
                yield self.skip(done[index])
            self.emit(summary, new=False)
            return
        try:
            reader = VideoFileReader(item.path)
        except VideoError as exc:
            self.emit(_record(item, "video", source, frames=0, fps=None, error=str(exc)), new=True)
            self.processed += 1
            yield True
            return
        try:
            first = 0
            while first in done:  # resume after the frames already written, without decoding them
                yield self.skip(done[first])
                first += options.every
            if first:
                reader.seek(first)
            while (frame := reader.read()) is not None:
                if frame.index % options.every or frame.index < first:
                    continue
                if frame.index in done:
                    yield self.skip(done[frame.index])
                    continue
                record = _record(item, "frame", source, frame=frame.index, time_s=round(frame.timestamp_s, 4))
                result, error, ms = _detect(self.detector, frame.image, options.min_score)
                _fill(record, frame.image, result, error, ms)
                if result is not None and options.wider_out is not None:
                    _write_wider(options.wider_out, stem, f"{stem}_{frame.index:06d}", result)
                self.processed += 1
                self.emit(record, new=True)
                yield True
            error = None
            if reader.truncated:
                error = (
                    f"video stopped at frame {reader.position} of {reader.frame_count} (truncated or corrupt)"
                )
            record = _record(
                item, "video", source, frames=reader.position, fps=round(reader.fps, 4), error=error
            )
            self.emit(record, new=True)
        finally:
            reader.close()


def run_batch(
    items: list[WorkItem],
    options: BatchOptions,
    detector: Detector | None = None,
    dist: DistInfo | None = None,
    on_record: Callable[[dict], None] | None = None,
) -> Generator[BatchProgress, None, BatchSummary]:
    """Detect faces in every item (this rank's share); see the module docstring.

    The outputs stay locked for the whole run (:mod:`core.detect.batch.lock`):
    another run on them raises :class:`~core.detect.batch.lock.OutputBusyError`
    before anything is read or written, or is waited for with ``options.wait``.
    Interrupting the generator (``close()``, a cancelled GUI job, Ctrl+C)
    keeps everything written so far; a single process then merges its shard
    into the output, so the next run resumes from it.
    """
    # lazy: torch.distributed loads when a batch runs, not when the GUI configures one
    from core.train.distributed import DistInfo, all_gather_objects

    dist = dist or DistInfo()
    if options.every < 1:
        raise ValueError(f"every must be >= 1, got {options.every}")
    gather = partial(all_gather_objects, dist)
    with holding(batch_locks(options.jsonl, options.wider_out), options.wait, dist.is_main, gather):
        detector = detector or build_detector(options)
        return (yield from _locked_run(items, options, detector, dist, on_record, gather))


def _locked_run(
    items: list[WorkItem],
    options: BatchOptions,
    detector: Detector,
    dist: DistInfo,
    on_record: Callable[[dict], None] | None,
    gather: Callable[[object], list],
) -> Generator[BatchProgress, None, BatchSummary]:
    mine = items[dist.rank :: dist.world_size]
    run = _Run(mine, options, detector, dist, on_record)
    run.total = sum(_units(item, options.every) for item in mine)
    run.open_shard()
    finished = False
    try:
        yield run.progress()
        since_yield = 0
        for item in mine:
            run.current = item.key
            steps = run.video(item) if item.kind == "video" else iter([run.image(item)])
            for detected in steps:
                run.done += 1
                since_yield += 1
                if detected or since_yield >= SKIP_YIELD_EVERY:
                    since_yield = 0
                    yield run.progress()
        run.total = max(run.total, run.done)
        finished = True
    finally:
        if run.handle is not None:
            run.handle.close()
        if options.ledger_path is not None and not dist.enabled:
            # alone, merging is safe even after an interruption: the output then holds what was done
            merge_outputs(options.ledger_path, [item.key for item in items])
    if dist.enabled and finished:
        gather(run.processed)  # barrier: every shard is complete
        if dist.is_main and options.ledger_path is not None:
            merge_outputs(options.ledger_path, [item.key for item in items])
        gather(None)  # nobody returns before the merge is on disk
    yield run.progress()
    return BatchSummary(
        len(mine),
        run.processed,
        run.skipped,
        run.failures,
        time.perf_counter() - run.start,
        run.records,
        options.ledger_path,
    )
