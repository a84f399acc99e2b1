"""Signed JSON files of the unlock store: canonical bytes, HMAC, private-file checks.

Every file the store trusts (templates, the index of live templates, the
persisted lockout) is ``{"format", "version", "payload", "hmac"}`` where the
HMAC-SHA256 (the store's key) covers the canonical payload. A file that other
OS users can read or write, or a symlink, is refused before it is read: the
key and the templates are only as private as their permission bits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

from core.atomic import atomic_write
from core.unlock.template_data import TemplateCorrupt, TemplateInsecure

FILE_MODE = 0o600


def canonical(payload: dict) -> bytes:
    """The bytes the HMAC covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(key: bytes, payload: dict) -> str:
    return hmac.new(key, canonical(payload), hashlib.sha256).hexdigest()


def signature_matches(key: bytes, payload: dict, mac: str) -> bool:
    return hmac.compare_digest(sign(key, payload), str(mac))


def check_private(path: Path, what: str) -> None:
    """Refuse a symlink or a file with any group/other permission bit (:class:`TemplateInsecure`)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise TemplateInsecure(f"The {what} {path} is a symlink: refused. Replace it with the real file.")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise TemplateInsecure(
            f"The {what} {path} can be read or changed by other users (mode {mode:o}): refused. "
            f"Run `chmod 600 {path}` if you trust it, or delete it and enrol again."
        )


def write_signed(path: Path, key: bytes, fmt: str, version: int, payload: dict) -> None:
    """Sign ``payload`` and write the document atomically, mode 0600."""
    doc = {"format": fmt, "version": version, "payload": payload, "hmac": sign(key, payload)}
    with atomic_write(path, "w", permissions=FILE_MODE) as handle:
        handle.write(json.dumps(doc, ensure_ascii=False))


def read_signed(path: Path, fmt: str, what: str) -> tuple[int, dict, str]:
    """``(version, payload, hmac)`` of a private signed file; :class:`TemplateCorrupt` when unparseable.

    FileNotFoundError passes through (the caller knows what a missing file means).
    """
    check_private(path, what)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TemplateCorrupt(f"Cannot read the {what} {path.name}: {exc}.") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != fmt:
            raise ValueError(f"not a FaceScope {what}")
        payload, mac, version = doc["payload"], str(doc["hmac"]), doc.get("version")
        if not isinstance(payload, dict) or not isinstance(version, int):
            raise ValueError("payload or version missing")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise TemplateCorrupt(
            f"{path.name} is not a valid {what} ({exc}): delete it and enrol again."
        ) from None
    return version, payload, mac
