"""Enrol and verify from a whole video (the CLI, the benchmark and the tests).

Frames are read in order with a synchronous reader (:func:`core.io.video.reader.open_reader`),
every frame processed; each frame's media time is reported as its ``time_s``
and enrolment spaces frames by it, so enrolment from a file is reproducible.
Verification decides on the session's own clock (attempt windows and the
lockout follow processing time, never media time: a file played at 1000 fps
gets no more attempts than a camera), and it counts against the store's
persisted failed attempts and lockout. (The GUI instead drives :class:`~core.unlock.session.UnlockSession`
from a :class:`~core.io.video.source.VideoSource`, newest frame first.)

``first_decision_ms`` is wall-clock time from the start of processing the first
frame with a usable face to the end of processing the frame on which the first
decision fell (an unlock, or a failed attempt). A live camera delivers frames
no faster than its rate, so the live figure is
``max(this, media time between those frames)``: :class:`VerifyRun` reports both.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from core.io.video.reader import FrameReader, open_reader
from core.unlock.decision import DecisionEvent, UnlockState
from core.unlock.latency import latency_summary
from core.unlock.refusals import RefusalTally, shortfall_message
from core.unlock.session import STAGES, Enroller, EnrolOutcome, FrameOutcome, UnlockSession
from core.unlock.templates import TemplateExists, TemplateStore

log = logging.getLogger(__name__)


@dataclass
class EnrolRun:
    """What :func:`enrol_video` did: per-frame outcomes, the saved file (``None`` when too few frames)."""

    name: str
    outcomes: list[EnrolOutcome]
    path: str | None
    collected: int
    needed: int
    frames_read: int
    ended: bool = True  # the source ran out (``False``: stopped at ``max_frames``)

    @property
    def ok(self) -> bool:
        return self.path is not None

    def refusals(self) -> RefusalTally:
        tally = RefusalTally()
        for o in self.outcomes:
            tally.add(o.accepted, o.reasons)
        return tally

    def top_reasons(self, limit: int = 3) -> list[tuple[str, int]]:
        """The most frequent rejection reasons (gate sentences without their numbers)."""
        return self.refusals().top(limit)

    def shortfall(self) -> str:
        """Why no template was saved, in the words the GUI uses for the same video."""
        ending = "Video ended" if self.ended else "Stopped at the frame limit"
        return shortfall_message(ending, self.collected, self.needed, self.refusals())

    def to_json(self) -> dict:
        return {
            "user": self.name,
            "enrolled": self.ok,
            "collected": self.collected,
            "needed": self.needed,
            "frames_read": self.frames_read,
            "path": self.path,
            "rejections": [{"reason": r, "frames": n} for r, n in self.top_reasons(10)],
        }


def _reader(source) -> FrameReader:
    return source if hasattr(source, "read") else open_reader(source)


def enrol_video(
    source,
    name: str,
    store: TemplateStore,
    enroller: Enroller,
    overwrite: bool = False,
    max_frames: int | None = None,
) -> EnrolRun:
    """Feed frames to ``enroller`` until it has its frames (or the video ends); save the template.

    source: a reader or a source text (file, folder, camera index). Raises
    :class:`~core.io.video.reader.VideoError` for an unreadable source and
    :class:`~core.unlock.templates.TemplateError` (e.g. the name exists) on save.
    """
    if store.exists(name) and not overwrite:
        raise TemplateExists(f"A user named {name!r} is already enrolled (use overwrite / --overwrite).")
    reader = _reader(source)
    outcomes: list[EnrolOutcome] = []
    read = 0
    ended = False
    try:
        while not enroller.done and (max_frames is None or read < max_frames):
            frame = reader.read()
            if frame is None:
                ended = True
                break
            read += 1
            outcomes.append(enroller.process(frame.image, frame.timestamp_s))
    finally:
        reader.close()
    path = None
    if enroller.done:
        path = str(store.save(enroller.template(name), overwrite=overwrite))
    return EnrolRun(name, outcomes, path, enroller.collected, enroller.n_frames, read, ended)


@dataclass
class VerifyRun:
    """What :func:`verify_video` measured (``to_json`` is the CLI's ``--json`` document)."""

    outcomes: list[FrameOutcome]
    decision: str  # "unlocked" | "locked"
    user: str | None
    first_decision_ms: float | None  # processing wall time, see the module docstring
    first_decision_media_ms: float | None  # media time between the same two frames
    first_decision_event: str | None
    frames_read: int
    warmup: int = 0
    extra: dict = field(default_factory=dict)

    def latency(self, stage: str = "total") -> tuple[float, float]:
        s = latency_summary([o.ms for o in self.outcomes], self.warmup)
        return s.p50.get(stage, math.nan), s.p95.get(stage, math.nan)

    def to_json(self) -> dict:
        summary = latency_summary([o.ms for o in self.outcomes], self.warmup)

        def r(v):
            return None if v is None or not math.isfinite(v) else round(float(v), 2)

        return {
            "decision": self.decision,
            "user": self.user,
            "frames": [o.to_json() for o in self.outcomes],
            "latency_ms": {"p50": r(summary.p50.get("total")), "p95": r(summary.p95.get("total"))},
            "first_decision_ms": r(self.first_decision_ms),
            "first_decision_media_ms": r(self.first_decision_media_ms),
            "first_decision_event": self.first_decision_event,
            "stage_ms": {k: {"p50": r(summary.p50.get(k)), "p95": r(summary.p95.get(k))} for k in STAGES},
            "frames_read": self.frames_read,
            **self.extra,
        }


def verify_video(
    source,
    session: UnlockSession,
    stop_on_unlock: bool = False,
    max_frames: int | None = None,
    warmup: int = 0,
) -> VerifyRun:
    """Run ``session`` over every frame of ``source`` (media time reported, the session's clock decides).

    warmup: frames left out of the latency percentiles (the first calls allocate).
    """
    reader = _reader(source)
    outcomes: list[FrameOutcome] = []
    first_usable: tuple[float, float] | None = None  # (perf_counter at start, media time)
    decision_ms = media_ms = None
    event_name = None
    read = 0
    try:
        while max_frames is None or read < max_frames:
            frame = reader.read()
            if frame is None:
                break
            read += 1
            started = time.perf_counter()
            outcome = session.process(frame.image, frame.timestamp_s)
            outcomes.append(outcome)
            if outcome.scored and first_usable is None:
                first_usable = (started, frame.timestamp_s)
            if (
                decision_ms is None
                and first_usable is not None
                and outcome.event
                in (DecisionEvent.UNLOCKED, DecisionEvent.ATTEMPT_FAILED, DecisionEvent.LOCKED_OUT)
            ):
                decision_ms = (time.perf_counter() - first_usable[0]) * 1e3
                media_ms = (frame.timestamp_s - first_usable[1]) * 1e3
                event_name = outcome.event.value
            if stop_on_unlock and outcome.state == UnlockState.UNLOCKED:
                break
    finally:
        reader.close()
    unlocked = next((o for o in outcomes if o.event == DecisionEvent.UNLOCKED), None)
    return VerifyRun(
        outcomes,
        "unlocked" if unlocked is not None else "locked",
        None if unlocked is None else unlocked.unlocked_user,
        decision_ms,
        media_ms,
        event_name,
        read,
        warmup,
    )
