"""What a batch run has already written: resuming, sharding and merging JSON-lines outputs.

A batch writes one JSON record per image, per video frame, and one summary
record per video (see :mod:`core.detect.batch.run`). Every record carries the
``source`` fingerprint of its input file:

* ``verify="stat"``: ``{"size": bytes, "mtime_ns": ...}`` (free to compute);
* ``verify="hash"``: ``{"size": bytes, "sha256": ...}`` (survives copies and
  ``touch``, costs one read of each file).

While it runs, process ``rank`` appends to its own *shard* ``<out>.part<rank>``
(flushed per record, so a killed run loses at most a torn last line, which the
reader skips). At the end the shards and any earlier ``<out>`` are *merged*
into ``<out>`` (atomic rewrite), records ordered by the inputs' order, then by
frame; for the same image or frame the record read last wins (shards are read
after ``<out>``). A rerun first reads ``<out>`` plus every shard left behind,
whatever the number of processes that wrote them, and skips every input whose
successful record has the same fingerprint: that is the whole resume logic.
Records with an ``error`` are never skipped (the file may have been fixed).
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from core.atomic import write_text_atomic

log = logging.getLogger(__name__)

VERIFY_MODES = ("stat", "hash")
# kept next to a WIDER submission when no --jsonl is given (hidden: the WIDER reader ignores it)
WIDER_LEDGER_NAME = ".facescope-detect.jsonl"
_HASH_CHUNK = 1 << 20

RecordKey = tuple[str, object]  # (path, frame index | None for an image | "video" for a video summary)


def fingerprint(path: str | os.PathLike, verify: str = "stat") -> dict | None:
    """The ``source`` entry of a record, or ``None`` when the file cannot be stat'ed."""
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify must be one of {VERIFY_MODES}, got {verify!r}")
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if verify == "stat":
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return {"size": stat.st_size, "sha256": digest.hexdigest()}


def same_source(recorded: object, current: dict | None) -> bool:
    """True when a record's fingerprint matches the file now (on every field the current one has)."""
    if current is None or not isinstance(recorded, dict):
        return False
    return all(recorded.get(key) == value for key, value in current.items())


def record_key(record: dict) -> RecordKey:
    kind = record.get("kind")
    if kind == "video":
        return (str(record.get("path")), "video")
    return (str(record.get("path")), record.get("frame") if kind == "frame" else None)


def shard_path(out: str | os.PathLike, rank: int) -> Path:
    out = Path(out)
    return out.with_name(f"{out.name}.part{rank}")


def shard_paths(out: str | os.PathLike) -> list[Path]:
    out = Path(out)
    pattern = os.path.join(glob.escape(str(out.parent)), glob.escape(out.name) + ".part*")
    found = [Path(p) for p in glob.glob(pattern) if p.rsplit(".part", 1)[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.rsplit(".part", 1)[-1]))


def read_records(path: str | os.PathLike) -> list[dict]:
    """The valid records of a JSON-lines file (torn or garbage lines are skipped and counted in the log)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(record, dict) and "path" in record:
            records.append(record)
        else:
            bad += 1
    if bad:
        log.warning("%s: %d unreadable line(s) skipped (an interrupted write)", path, bad)
    return records


def repair_shard(path: str | os.PathLike) -> int:
    """Rewrite a shard with its valid records only, so appending continues on a clean line."""
    path = Path(path)
    if not path.exists():
        return 0
    records = read_records(path)
    text = "".join(dumps(r) + "\n" for r in records)
    if path.read_text(encoding="utf-8", errors="replace") != text:
        write_text_atomic(path, text, fsync=False)
    return len(records)


def dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


class Ledger:
    """Records already written for one output (``<out>`` and its shards), latest per key."""

    def __init__(self, out: str | os.PathLike | None) -> None:
        self.out = Path(out) if out is not None else None
        self.records: dict[RecordKey, dict] = {}
        if self.out is None:
            return
        for source in [self.out, *shard_paths(self.out)]:
            for record in read_records(source):
                key = record_key(record)
                self.records.pop(key, None)  # re-insert: dict order = order of the last write
                self.records[key] = record

    def __len__(self) -> int:
        return len(self.records)

    def done(self, path: str, frame: object, current: dict | None) -> dict | None:
        """The successful record of an image (``frame=None``), a frame (int) or a video (``"video"``)
        when its fingerprint matches ``current``; else ``None``."""
        record = self.records.get((path, frame))
        if (
            record is None
            or record.get("error") is not None
            or not same_source(record.get("source"), current)
        ):
            return None
        return record

    def frames_done(self, path: str, current: dict | None) -> dict[int, dict]:
        """Successful frame records of a video whose fingerprint matches, by frame index."""
        found = {}
        for (key_path, frame), record in self.records.items():
            if key_path == path and isinstance(frame, int) and record.get("error") is None:
                if same_source(record.get("source"), current):
                    found[frame] = record
        return found


def order_records(records: Iterable[dict], order: list[str]) -> list[dict]:
    """Records in input order (``order`` = item paths), frames by index, a video's summary after its frames;
    records of paths not in ``order`` (an earlier run on other inputs) follow, in their old order."""
    position = {path: i for i, path in enumerate(order)}
    unknown: dict[str, int] = {}

    def sort_key(item: tuple[int, dict]) -> tuple:
        index, record = item
        path = str(record.get("path"))
        rank = position.get(path)
        if rank is None:
            rank = len(position) + unknown.setdefault(path, len(unknown))
        kind = record.get("kind")
        frame = record.get("frame")
        within = (1, 0) if kind == "video" else (0, frame if isinstance(frame, int) else -1)
        return (rank, within, index)

    return [record for _, record in sorted(enumerate(records), key=sort_key)]


def merge_outputs(out: str | os.PathLike, order: list[str]) -> int:
    """Merge ``<out>`` and its shards into ``<out>`` (atomic), delete the shards; returns the record count."""
    out = Path(out)
    shards = shard_paths(out)
    ledger = Ledger(out)
    records = order_records(ledger.records.values(), order)
    write_text_atomic(out, "".join(dumps(r) + "\n" for r in records), fsync=True)
    for shard in shards:
        try:
            shard.unlink()
        except FileNotFoundError:
            pass
    log.info("merged %d shard(s) into %s (%d records)", len(shards), out, len(records))
    return len(records)
