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

An append that fails (disk full) is cut off the file again before the error
reaches the caller: the caller treats the edit as not made, so it must never
be replayed. A journal that cannot be trusted (not a regular file, no header,
lines that are neither records nor a killed writer's torn line, records of the
wrong shape) raises :class:`JournalUnreadable`; the editor offers to set it
aside as ``<journal>.corrupt-<time>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from core.annotate.review import ReviewState
from core.atomic import write_text_atomic
from core.errors import FormatError

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
FACE_ROW_LENGTH = 10
REVIEW_VALUES = frozenset(state.value for state in ReviewState)


class JournalUnreadable(FormatError):
    """A recovery journal that cannot be trusted; ``reason`` says what is wrong with ``path``."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"The recovery journal {self.path} cannot be read: {reason}.")


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


def _is_torn_record(line: bytes) -> bool:
    """A line a killed writer cut short: the start of a JSON record, not foreign bytes."""
    try:
        return line.decode("utf-8").lstrip().startswith('{"')
    except UnicodeDecodeError:
        return False


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def record_problem(record: dict) -> str | None:
    """What is wrong with a record's fields, or ``None`` when it can be replayed."""
    if not isinstance(record.get("name"), str) or not isinstance(record.get("seq"), int):
        return "a record without an image name or sequence number"
    if "index" in record and not isinstance(record["index"], int):
        return "a record with a non-integer image index"
    if "faces" in record:
        faces = record["faces"]
        if not isinstance(faces, list) or not all(
            isinstance(row, list) and len(row) == FACE_ROW_LENGTH and all(map(_is_number, row))
            for row in faces
        ):
            return f"faces that are not rows of {FACE_ROW_LENGTH} numbers"
        return None
    if record.get("review") not in REVIEW_VALUES:
        return "a record that is neither faces nor a review state"
    return None


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return "it is a folder, not a file"
    return "it is not a regular file" if path.exists() else "it is a link to nothing"


def _read_bytes(path: Path) -> bytes | None:
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise JournalUnreadable(path, _not_a_file(path))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalUnreadable(path, exc.strerror or str(exc)) from exc


def read_journal(path: str | os.PathLike) -> JournalContents | None:
    """Parse a journal; ``None`` when absent or empty, :class:`JournalUnreadable` when it cannot be trusted."""
    path = Path(path)
    raw = _read_bytes(path)
    if raw is None or not raw.strip():
        return None
    lines = raw.split(b"\n")
    header: dict | None = None
    records: list[dict] = []
    torn = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            if not _is_torn_record(line):
                raise JournalUnreadable(path, f"line {number} is not a journal record") from None
            if any(rest.strip() for rest in lines[number:]):  # an earlier session was killed mid-append
                log.warning("%s:%d: torn journal line skipped", path, number)
            else:
                torn = True
            continue
        if not isinstance(item, dict):
            raise JournalUnreadable(path, f"line {number} is not a journal record")
        if item.get("type") == "header":
            if item.get("version") != JOURNAL_VERSION:
                raise JournalUnreadable(path, f"its version {item.get('version')!r} is not {JOURNAL_VERSION}")
            header = item
            continue
        problem = record_problem(item)
        if problem is not None:
            raise JournalUnreadable(path, f"line {number} holds {problem}")
        records.append(item)
    if header is None:
        raise JournalUnreadable(path, "it has no header line")
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
            try:
                self._write_line(self._header())
            except OSError:  # a later append starts the file again, header first
                self._roll_back(0)
                raise
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
        """Append one record durably (flush + fsync) before returning.

        On ``OSError`` the file is cut back to what it held before, so a record
        the caller saw fail is never replayed (a buffered writer would otherwise
        write it out with the next append).
        """
        if self._handle is None:
            self._open()
        assert self._handle is not None
        size = self._handle.tell()
        try:
            self._write_line(record)
        except OSError:
            self._roll_back(size)
            raise

    def _roll_back(self, size: int) -> None:
        handle, self._handle = self._handle, None  # reopened by the next append
        try:
            handle.close()
        except OSError:  # its buffer could not be written either: the truncate below drops it
            pass
        try:
            os.truncate(self.path, size)
        except OSError as exc:
            log.error("%s: a failed journal record could not be removed: %s", self.path, exc)

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

    def set_aside(self, why: str = "discarded") -> Path | None:
        """Rename the journal to ``<journal>.<why>-<time>`` (discarded, corrupt; never deleted); returns the new path."""
        self.close()
        if not self.path.exists() and not self.path.is_symlink():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.{why}-{stamp}")
        os.replace(self.path, target)
        return target
