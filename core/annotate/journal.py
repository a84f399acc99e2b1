"""The recovery journal: every unsaved edit, appended and fsync'ed before it counts.

``<labels>.facescope-journal.jsonl`` holds JSON lines::

    {"type": "header", "version": 1, "label_file": "...txt", "base_sha256": "...", "created": 1700000000.0}
    {"seq": 1, "t": 1700000001.2, "name": "0--Parade/x.jpg", "faces": [[x, y, w, h, b, e, i, v, o, p], ...]}
    {"seq": 2, "t": 1700000003.5, "name": "0--Parade/x.jpg", "review": "reviewed"}

A record carries the *whole* new face list of one image (or its new review
state), never a delta, so replaying is idempotent: replaying records that a
save already wrote changes nothing, and a crash between "labels saved" and
"journal cleared" is harmless. A record is appended, flushed and fsync'ed
before :meth:`Journal.append` returns, so an edit the caller saw succeed
survives ``kill -9`` or a power cut. A torn last line (killed mid-write) is
ignored when reading. After a successful save the journal is compacted to the
records the save did not cover (usually none, and the file is removed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from core.atomic import write_text_atomic

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1


def file_sha256(path: str | os.PathLike) -> str | None:
    """Hex digest of a file, ``None`` when it does not exist."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class JournalContents:
    """What a journal file holds: its header and its complete records, in order."""

    header: dict
    records: list[dict]
    torn_tail: bool  # the last line was cut short (the writer was killed mid-append)

    @property
    def created(self) -> float:
        return float(self.header.get("created", 0.0))

    @property
    def base_sha256(self) -> str | None:
        return self.header.get("base_sha256")


def read_journal(path: str | os.PathLike) -> JournalContents | None:
    """Parse a journal; ``None`` when absent or holding no usable header."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    lines = raw.split(b"\n")
    header: dict | None = None
    records: list[dict] = []
    torn = False
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            # only a cut-off final line is expected; anything else is logged and skipped
            if number < len(lines) - 1 and any(rest.strip() for rest in lines[number + 1 :]):
                log.warning("%s:%d: unreadable journal line skipped", path, number + 1)
            else:
                torn = True
            continue
        if not isinstance(item, dict):
            continue
        if item.get("type") == "header":
            header = item
        elif "seq" in item and "name" in item:
            records.append(item)
    if header is None:
        return None
    return JournalContents(header, records, torn)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the data itself is fsync'ed
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """Append-only writer for one label file's journal (opened lazily on the first append)."""

    def __init__(self, path: str | os.PathLike, label_path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.label_path = Path(label_path)
        self._handle = None

    def _open(self) -> None:
        exists = self.path.exists() and self.path.stat().st_size > 0
        self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open for the session
        if not exists:
            self._write_line(self._header())
            _fsync_dir(self.path.parent)  # the new file's directory entry must survive a crash too
        elif not self._ends_with_newline():
            # a torn line from a killed writer: start our records on a fresh line
            self._handle.write(b"\n")

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def _header(self) -> dict:
        return {
            "type": "header",
            "version": JOURNAL_VERSION,
            "label_file": self.label_path.name,
            "base_sha256": file_sha256(self.label_path),
            "created": time.time(),
        }

    def _write_line(self, item: dict) -> None:
        assert self._handle is not None
        self._handle.write(json.dumps(item, separators=(",", ":")).encode("utf-8") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, record: dict) -> None:
        """Append one record durably (flush + fsync) before returning."""
        if self._handle is None:
            self._open()
        self._write_line(record)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def compact(self, keep: list[dict]) -> None:
        """After a save: keep only ``keep`` (records newer than the save), or remove the file."""
        self.close()
        if not keep:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            return
        lines = [self._header(), *keep]
        text = "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in lines)
        write_text_atomic(self.path, text, fsync=True)

    def set_aside(self) -> Path | None:
        """Rename the journal out of the way (the user discarded it); returns the new path."""
        self.close()
        if not self.path.exists():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.discarded-{stamp}")
        os.replace(self.path, target)
        return target
