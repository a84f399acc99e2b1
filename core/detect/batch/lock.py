"""One batch run per output: an exclusive ``flock`` on a lock file beside each output.

Two runs appending to the same JSON-lines file (or its shards) and merging it
at the end lose each other's records, so a run holds a lock on every output
for its whole life: ``<jsonl>.lock`` beside a JSON-lines file and
``<dir>/.facescope-detect.lock`` inside a WIDER submission folder. The lock
file holds the owner's pid and start time for the message a second run shows.

``flock`` locks belong to an open file and die with the process, so a killed
run never leaves a stale lock. The owner deletes the file when it is done; a
waiter that then wins the lock on the deleted file sees that the path no longer
names its file and locks the path again.

Ranks of one ``torchrun`` run share the run: rank 0 alone takes the locks, and
all ranks learn the outcome through ``gather`` (an all-gather), polling in
step while they wait so no collective blocks for longer than one poll.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
WIDER_LOCK_NAME = ".facescope-detect.lock"  # hidden, like the WIDER folder's ledger
POLL_S = 0.5  # how often a waiting run tries again
DEFAULT_ADVICE = "wait for it to finish or choose another output"

Gather = Callable[[object], list]


@dataclass(frozen=True)
class LockHolder:
    """Who holds an output: what its lock file says (both ``None`` while the owner is still writing it)."""

    pid: int | None = None
    started: str | None = None

    def describe(self) -> str:
        known = [
            f"pid {self.pid}" if self.pid is not None else "",
            f"started at {self.started}" if self.started else "",
        ]
        details = ", ".join(part for part in known if part)
        return f"another detect run ({details})" if details else "another detect run"


class OutputBusyError(UserError):
    """Another batch run is writing this output."""

    def __init__(self, output: Path, holder: LockHolder, advice: str = DEFAULT_ADVICE) -> None:
        self.output, self.holder, self.advice = output, holder, advice
        super().__init__(f"{holder.describe()} is writing {output}; {advice}")

    def with_advice(self, advice: str) -> OutputBusyError:
        return OutputBusyError(self.output, self.holder, advice)


def _read_holder(fd: int) -> LockHolder:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8", errors="replace") or "{}")
    except (OSError, ValueError):
        return LockHolder()
    if not isinstance(data, dict):
        return LockHolder()
    pid = data.get("pid")
    started = data.get("started")
    return LockHolder(pid if isinstance(pid, int) else None, started if isinstance(started, str) else None)


class OutputLock:
    """The lock on one output (``output`` is what messages name; ``path`` is the lock file)."""

    def __init__(self, output: Path, path: Path) -> None:
        self.output, self.path = output, path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> LockHolder | None:
        """Take the lock without waiting: ``None`` when taken, else who holds it."""
        if self._fd is not None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                return holder
            if self._names(fd):
                break
            os.close(fd)  # the owner deleted the file we locked: lock the path's new file
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": started}).encode(), 0)
        self._fd = fd
        return None

    def _names(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._names(fd):
                self.path.unlink()
        except OSError as exc:  # a read-only folder: the lock still ends when the file is closed
            log.debug("could not remove %s: %s", self.path, exc)
        os.close(fd)


def batch_locks(jsonl: Path | None, wider_out: Path | None) -> list[OutputLock]:
    """The locks a run writing these outputs needs (lock files resolved, so two spellings share one)."""
    locks = []
    if jsonl is not None:
        target = Path(jsonl).resolve()
        locks.append(OutputLock(Path(jsonl), target.with_name(target.name + LOCK_SUFFIX)))
    if wider_out is not None:
        locks.append(OutputLock(Path(wider_out), Path(wider_out).resolve() / WIDER_LOCK_NAME))
    return locks


def _try_all(locks: list[OutputLock]) -> tuple[Path, LockHolder] | None:
    """Take every lock or none: ``None`` when all are taken, else the first busy output and its holder."""
    for lock in locks:
        holder = lock.try_acquire()
        if holder is not None:
            for taken in locks:
                taken.release()
            return lock.output, holder
    return None


def _solo(value: object) -> list:
    return [value]


def acquire_all(locks: list[OutputLock], wait: bool, is_main: bool = True, gather: Gather = _solo) -> None:
    """Take ``locks`` on rank 0 (``is_main``); every rank raises :class:`OutputBusyError` or returns together.

    With ``wait`` the ranks poll in step every :data:`POLL_S` seconds until rank 0 holds all the locks.
    """
    warned = False
    while True:
        busy = _try_all(locks) if is_main else None
        busy = gather(busy)[0]
        if busy is None:
            return
        output, holder = busy
        if not wait:
            raise OutputBusyError(output, holder)
        if not warned and is_main:
            log.warning("%s is writing %s; waiting for it to finish", holder.describe(), output)
            warned = True
        time.sleep(POLL_S)


@contextmanager
def holding(
    locks: list[OutputLock], wait: bool, is_main: bool = True, gather: Gather = _solo
) -> Iterator[None]:
    """Hold ``locks`` (see :func:`acquire_all`) for the ``with`` block."""
    acquire_all(locks, wait, is_main, gather)
    try:
        yield
    finally:
        for lock in locks:
            lock.release()
