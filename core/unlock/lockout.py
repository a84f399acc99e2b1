"""The persisted lockout: failed attempts in a row and the end of a lockout, signed in the store.

A restart must not buy new attempts, so the decision machine's failure count
and lockout live in ``<store>/lockout.json`` (signed like the templates, with
the store id inside). The end of a lockout is stored on the **wall clock**
(Unix time): a monotonic clock restarts with the machine. Within one process
durations are measured on ``time.monotonic`` (see
:class:`~core.unlock.session.UnlockSession`).

A lockout file that is tampered with, foreign, corrupt or readable by others
fails *closed*: the caller treats it as a full lockout (and rewrites it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.unlock.signed_files import read_signed, signature_matches, write_signed
from core.unlock.template_data import TemplateCorrupt, TemplateError, TemplateForeign, TemplateTampered

log = logging.getLogger(__name__)

LOCKOUT_FILE = "lockout.json"
LOCKOUT_FORMAT = "facescope-unlock-lockout"
LOCKOUT_VERSION = 1


@dataclass(frozen=True)
class LockoutRecord:
    """failures: failed attempts in a row; locked_until: Unix time the lockout ends (0: none)."""

    failures: int = 0
    locked_until: float = 0.0

    def remaining_s(self, wall_now: float) -> float:
        return max(0.0, self.locked_until - wall_now)


def read_lockout(path: Path, key: bytes, store_id: str) -> LockoutRecord:
    """The stored record (a missing file: none); a bad file raises a :class:`TemplateError`."""
    try:
        version, payload, mac = read_signed(path, LOCKOUT_FORMAT, "lockout record")
    except FileNotFoundError:
        return LockoutRecord()
    if version != LOCKOUT_VERSION:
        raise TemplateCorrupt(f"The lockout record {path.name} has an unknown version {version!r}.")
    if payload.get("store_id") != store_id:
        raise TemplateForeign(f"The lockout record {path.name} was not written by this store.")
    if not signature_matches(key, payload, mac):
        raise TemplateTampered(f"The lockout record {path.name} was modified after it was saved.")
    try:
        failures, until = int(payload["failures"]), float(payload["locked_until"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateCorrupt(f"The lockout record {path.name} is not valid ({exc}).") from None
    if failures < 0 or not math.isfinite(until):
        raise TemplateCorrupt(f"The lockout record {path.name} holds impossible values.")
    return LockoutRecord(failures, until)


def write_lockout(path: Path, key: bytes, store_id: str, record: LockoutRecord) -> None:
    payload = {
        "store_id": store_id,
        "failures": int(record.failures),
        "locked_until": float(record.locked_until),
    }
    write_signed(path, key, LOCKOUT_FORMAT, LOCKOUT_VERSION, payload)


class LockoutKeeper:
    """Restores a :class:`~core.unlock.decision.DecisionMachine`'s failures and lockout from a store, and saves changes.

    store: anything with ``read_lockout()`` / ``write_lockout(record)`` (the template store).
    wall_clock: Unix time (``time.time``; tests inject a fake). The machine itself runs on the
    session's monotonic clock; only the end of a lockout is turned into wall time to be stored.
    """

    def __init__(self, store, wall_clock: Callable[[], float]) -> None:
        self.store = store
        self.wall_clock = wall_clock
        self._saved: tuple | None = None

    def restore(self, machine, now: float) -> None:
        try:
            record = self.store.read_lockout()
        except (TemplateError, OSError) as exc:
            # fail closed: a damaged record must not be a way to clear a lockout
            log.warning("%s Locking out for %.0f s.", exc, machine.rule.lockout_s)
            record = LockoutRecord(machine.rule.max_failures, self.wall_clock() + machine.rule.lockout_s)
            self._saved = None
        machine.restore(record.failures, record.remaining_s(self.wall_clock()), now)
        self.save(machine, now)

    def save(self, machine, now: float) -> None:
        """Write the record when the failure count or the lockout changed (never raises)."""
        remaining = machine.lockout_remaining(now)
        state = (machine.failures, remaining > 0, round(machine.lockout_until, 3) if remaining > 0 else None)
        if state == self._saved:
            return
        until = self.wall_clock() + remaining if remaining > 0 else 0.0
        try:
            self.store.write_lockout(LockoutRecord(machine.failures, until))
            self._saved = state
        except (TemplateError, OSError) as exc:
            log.error("Could not save the unlock lockout: %s", exc)
