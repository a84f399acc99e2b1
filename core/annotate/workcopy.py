"""Where the annotation editor writes: a working copy, never the label file it opened.

A label file the editor opens (the *source*: often the ground truth every
later evaluation reads) is not changed by editing. Saves, autosaves, the
recovery journal, the review sidecar and the audit trail all go to one
*working folder*:

* the source's own folder when the source can be written there, so
  ``labels.txt`` gets ``labels.txt.facescope-edit.txt`` (the working copy)
  and ``labels.txt.facescope-{journal.jsonl,review.json,audit.csv}`` beside it;
* otherwise (a read-only source, see :func:`read_only_reason`) a folder of its
  own under ``user_data_dir()/working-copies/``, named after the source and a
  hash of its resolved path, holding the same file names. Nothing is ever
  written next to a read-only source.

Reopening a source continues its working copy when one exists; the SHA-256
of the source the copy started from is kept in ``<name>.facescope-edit.json``
so a source changed on disk since then is noticed (:func:`source_changed`). Only
:func:`save_to_source` (an explicit user action) writes the source, atomically,
and then removes the working copy, which by then equals it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from core.annotate.audit import append_audit, timestamp
from core.atomic import atomic_write, remove_stale_temporaries
from core.paths import SHARED_DIR, user_data_dir

log = logging.getLogger(__name__)

WORKING_COPIES = "working-copies"
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _no_write_bits(path: Path) -> bool:
    return not path.stat().st_mode & WRITE_BITS


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _read_only_filesystem(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows): the other checks decide
        return False


def read_only_reason(source: str | os.PathLike) -> str | None:
    """Why ``source`` must not be written by the editor, or ``None`` when it may be.

    The rule, in order: the file lies under the shared research data
    (``SHARED_DIR``, read-only by convention); the file or its folder has no
    write permission bit for anyone (``chmod a-w``), which counts even for
    root, who ``os.access`` would let write; the process may not write the file
    or create files in its folder (``os.access``); the file system is mounted
    read-only. A folder is part of the rule because a save replaces the file
    through a temporary file beside it.
    """
    source = Path(source)
    folder = source.parent
    if _is_under(source, SHARED_DIR):
        return f"it is under the shared research data ({SHARED_DIR})"
    try:
        if source.exists() and _no_write_bits(source):
            return "the file is write-protected"
        if _no_write_bits(folder):
            return f"its folder {folder} is write-protected"
    except OSError as exc:
        return f"its permissions cannot be read ({exc.strerror or exc})"
    if source.exists() and not os.access(source, os.W_OK):
        return "you may not write the file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"you may not write in its folder {folder}"
    if _read_only_filesystem(folder):
        return "it is on a read-only file system"
    return None


@dataclass(frozen=True)
class WorkingCopy:
    """The source label file and the folder where everything the editor writes for it goes.

    read_only_reason: why the source cannot be written (then ``folder`` is in
        the user data directory and :func:`save_to_source` refuses), else ``None``.
    """

    source: Path
    folder: Path
    read_only_reason: str | None = None

    def sidecar(self, kind: str) -> Path:
        """``<folder>/<source name>.facescope-<kind>``: ``edit.txt``, ``journal.jsonl``, ``review.json``, ``audit.csv``."""
        return self.folder / f"{self.source.name}.facescope-{kind}"

    @property
    def path(self) -> Path:
        """The working copy: a complete label file in the source's format."""
        return self.sidecar("edit.txt")

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    @property
    def source_writable(self) -> bool:
        return self.read_only_reason is None

    @property
    def read_path(self) -> Path:
        """What to load: the working copy when one exists (continue it), else the source."""
        return self.path if self.exists else self.source


def remove_stale_temporaries_of(working: WorkingCopy) -> list[Path]:
    """Clear what killed atomic writes left of the files the editor writes (the source only when writable)."""
    targets = [working.sidecar(kind) for kind in ("edit.txt", "edit.json", "journal.jsonl", "review.json")]
    if working.source_writable:
        targets.append(working.source)
    return [removed for target in targets for removed in remove_stale_temporaries(target)]


def base_record(source_name: str, source_sha256: str | None) -> str:
    """The text of ``<name>.facescope-edit.json``: which source state a new working copy starts from."""
    return json.dumps({"source": source_name, "source_sha256": source_sha256}) + "\n"


def source_changed(working: WorkingCopy, source_sha256: str | None) -> bool:
    """Whether the source differs from the state the existing working copy started from (unknown: no)."""
    if not working.exists:
        return False
    try:
        recorded = json.loads(working.sidecar("edit.json").read_text(encoding="utf-8")).get("source_sha256")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded is not None and recorded != source_sha256


def working_folder_for(source: Path, data_dir: Path | None = None) -> Path:
    """The private working folder of a read-only source (stable across sessions)."""
    digest = hashlib.sha256(str(source.resolve()).encode("utf-8")).hexdigest()[:12]
    base = user_data_dir() if data_dir is None else data_dir
    return base / WORKING_COPIES / f"{source.stem}-{digest}"


def locate(source: str | os.PathLike, data_dir: Path | None = None) -> WorkingCopy:
    """The working copy of ``source``: beside it when it may be written, else in the user data dir."""
    source = Path(source)
    reason = read_only_reason(source)
    if reason is None:
        return WorkingCopy(source, source.parent)
    folder = working_folder_for(source, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    log.info("%s is read-only (%s): edits go to %s", source, reason, folder)
    return WorkingCopy(source, folder, reason)


def save_to_source(working: WorkingCopy) -> bool:
    """Copy the working copy over the source atomically, then remove it; ``False`` when there is none.

    The caller saves the edits into the working copy first (nothing may write
    it meanwhile). Raises ``PermissionError`` for a read-only source and
    ``OSError`` when the write fails (the source is then unchanged).
    """
    if not working.source_writable:
        raise PermissionError(f"{working.source} cannot be written: {working.read_only_reason}")
    if not working.exists:
        return False
    data = working.path.read_bytes()
    with atomic_write(working.source, "wb", fsync=True) as handle:
        handle.write(data)
    working.path.unlink()
    working.sidecar("edit.json").unlink(missing_ok=True)
    try:
        append_audit(
            working.sidecar("audit.csv"), [(timestamp(), "", "saved to source", "", "", working.source.name)]
        )
    except OSError as exc:  # the source is saved; a missing audit row must not undo that
        log.warning("audit trail %s not written: %s", working.sidecar("audit.csv"), exc)
    return True


def set_aside(working: WorkingCopy) -> Path | None:
    """Rename the working copy out of the way (the user discarded it; never deleted); returns the new path."""
    if not working.exists:
        return None
    target = working.path.with_name(f"{working.path.name}.discarded-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(working.path, target)
    return target
