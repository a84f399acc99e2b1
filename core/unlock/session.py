"""Frame-by-frame enrolment and verification objects the GUI, the CLI and the tests drive alike.

* :class:`~core.unlock.enrol.Enroller` (re-exported here): ``process(image, now)``
  → :class:`~core.unlock.enrol.EnrolOutcome` (gates' verdict and reasons,
  progress); after ``n_frames`` accepted frames, ``template(name)`` builds the
  :class:`~core.unlock.templates.UserTemplate`.
* :class:`UnlockSession`: ``process(image, now)`` → :class:`FrameOutcome`
  (box, best score and user, this frame's vote, per-stage ms, state
  LOCKED / UNLOCKED / LOCKED_OUT, reasons), scoring every enrolled template
  and feeding the :class:`~core.unlock.decision.DecisionMachine`.

Neither is thread-safe: one worker calls ``process`` for one frame at a time
(the newest one, see :class:`~core.io.video.source.VideoSource`); the
results are plain data for the UI thread. ``now`` is the frame's own time
(camera timestamp, media time), reported as ``time_s``; ``None`` uses the
session's clock. The decision (attempt windows, the lockout) runs on the
session's ``clock`` (``time.monotonic``), never on ``now``, so a file played
faster than real time gets no more attempts than a camera. Failed attempts and
a lockout are persisted in the template store (:mod:`core.unlock.lockout`),
so a restart does not reset them.

Per-stage ms keys: ``detect``, ``landmarks`` (68 points, yaw, gates),
``embed`` (descriptor, DREAM), ``match`` (cosines, decision), ``total`` (the
whole call), plus ``liveness`` when a liveness check is attached.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.recognize.calibration import OperatingPoint
from core.unlock.calibrate import load_calibration
from core.unlock.decision import DecisionEvent, DecisionMachine, DecisionRule, UnlockState, Vote
from core.unlock.enrol import Enroller, EnrolOutcome
from core.unlock.follow import LandmarkTrack
from core.unlock.latency import LatencySummary, RollingLatency, latency_summary
from core.unlock.lockout import LockoutKeeper
from core.unlock.pipeline import STAGES, FrameAnalysis, UnlockPipeline
from core.unlock.quality import VERIFY_GATES, FrameQuality, QualityGates
from core.unlock.templates import TemplateError, TemplateStore, UserTemplate

log = logging.getLogger(__name__)

__all__ = [
    "STAGES",
    "EnrolOutcome",
    "Enroller",
    "FrameOutcome",
    "LatencySummary",
    "NoTemplates",
    "RollingLatency",
    "UnlockSession",
    "latency_summary",
]


class NoTemplates(TemplateError):
    """Verification without any usable enrolled user."""


def _r(v: float, n: int = 4) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), n)


# --- verification ---------------------------------------------------------------------
@dataclass(frozen=True)
class FrameOutcome:
    """One verification frame (plain data for the UI).

    box: main face ``(x1, y1, x2, y2)`` in frame pixels, or ``None``.
    score: best cosine over the templates (NaN when the frame was not scored); user: the best template's name.
    scores: cosine per enrolled user.
    accepted: this frame's vote (``score >= threshold`` and liveness passed when checked).
    scored: the frame had a usable face and cast a vote.
    threshold / far: the operating point in use.
    ms: per-stage times (see module docstring).
    state / event / unlocked_user: the decision after this frame (:mod:`core.unlock.decision`).
    accepts / needed / votes / failures / lockout_remaining_s: decision progress for the HUD.
    reasons: why the frame was not scored or not accepted (sentences).
    quality: the gates' verdict; yaw: degrees (NaN unknown); liveness: the checker's result or ``None``.
    tracked: the face was detected near the previous one only (see ``tracking``).
    followed: ... found from the previous frame's landmarks, with no detector run (see ``follow``).
    """

    time_s: float
    box: tuple[float, float, float, float] | None
    score: float
    user: str | None
    scores: dict[str, float]
    accepted: bool
    scored: bool
    threshold: float
    far: float
    ms: dict[str, float]
    state: UnlockState
    event: DecisionEvent | None
    unlocked_user: str | None
    accepts: int
    needed: int
    votes: int
    failures: int
    lockout_remaining_s: float
    reasons: tuple[str, ...] = ()
    quality: FrameQuality | None = None
    yaw: float = math.nan
    liveness: Any = None
    tracked: bool = False
    followed: bool = False

    def to_json(self) -> dict:
        """The per-frame record of ``main.py unlock --verify --json`` (``score``, ``accepted``, ``ms`` ...)."""
        return {
            "time_s": round(self.time_s, 4),
            "score": _r(self.score),
            "accepted": self.accepted,
            "user": self.user,
            "box": None if self.box is None else [round(float(v), 1) for v in self.box],
            "yaw": _r(self.yaw, 1),
            "state": self.state.value,
            "event": None if self.event is None else self.event.value,
            "reasons": list(self.reasons),
            "tracked": self.tracked,
            "followed": self.followed,
            "ms": {k: round(float(self.ms.get(k, 0.0)), 2) for k in STAGES},
        }


class UnlockSession:
    """Verification state machine over a frame stream (see module docstring).

    templates: the enrolled users to compare with (all must come from ``pipeline.model_info``).
    operating_point: the calibrated threshold (:meth:`from_store` picks it from the FAR).
    liveness: optional ``callable(image, box) -> result`` with a boolean ``passed``; a frame
        whose face fails it votes "rejected" (reason given). ``None``: no check (the UI must say
        that photos and screens are not detected).
    tracking: detect only around the previous frame's face (:meth:`UnlockPipeline.analyze`'s
        ``near``) and the whole frame when that finds nothing, or every ``full_every`` frames
        (so a larger face that walks in is seen within about a second at 30 fps).
    follow: while tracking, take the box from the previous frame's landmarks and run no
        detector at all (:mod:`core.unlock.follow`), falling back to the detector when the face
        moved too far; the whole-frame pass every ``full_every`` frames stays.
    clock: monotonic seconds the decision runs on (tests inject a fake one).
    lockout_store: where failed attempts and the lockout are persisted (``from_store`` passes its
        store); ``None`` keeps them in memory only (benches, tests of the pipeline).
    wall_clock: Unix time, used only to store when a lockout ends.
    """

    def __init__(
        self,
        pipeline: UnlockPipeline,
        templates: list[UserTemplate],
        operating_point: OperatingPoint,
        rule: DecisionRule | None = None,
        gates: QualityGates = VERIFY_GATES,
        liveness: Callable[[np.ndarray, tuple], Any] | None = None,
        tracking: bool = True,
        full_every: int = 30,
        follow: bool = True,
        clock: Callable[[], float] = time.monotonic,
        lockout_store: TemplateStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not templates:
            raise NoTemplates("Nobody is enrolled yet: enrol a user first.")
        self.pipeline = pipeline
        self.templates = list(templates)
        self.operating_point = operating_point
        self.gates = gates
        self.liveness = liveness
        self.tracking = tracking
        self.full_every = int(full_every)
        self.follow = bool(follow)
        self._last_box: tuple[float, float, float, float] | None = None
        self._last_track: LandmarkTrack | None = None
        self._tracked_frames = 0
        self.machine = DecisionMachine(rule)
        self.clock = clock
        self._keeper = None if lockout_store is None else LockoutKeeper(lockout_store, wall_clock)
        if self._keeper is not None:
            self._keeper.restore(self.machine, self.clock())
        self._names = [t.name for t in self.templates]
        self._matrix = np.stack([t.mean for t in self.templates]).astype(np.float32)  # (U, 128)

    @classmethod
    def from_store(
        cls,
        store: TemplateStore,
        far: float = 1e-3,
        pipeline: UnlockPipeline | None = None,
        calibration=None,
        rule: DecisionRule | None = None,
        liveness: Callable[[np.ndarray, tuple], Any] | None = None,
        tracking: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> UnlockSession:
        """Every template of ``store`` made with this pipeline's model, at the shipped (or given) calibration.

        Raises :class:`NoTemplates` (with the refusals in its message) when none is usable, and
        :class:`~core.unlock.calibrate.CalibrationError` for a FAR without a threshold or thresholds made
        for another model.
        """
        pipeline = pipeline or UnlockPipeline()
        templates, refused = store.load_all(pipeline.model_info)
        if not templates:
            detail = " ".join(str(e) for e in refused)
            raise NoTemplates(f"No usable enrolled user in {store.root}. {detail}".strip())
        cal = calibration or load_calibration()
        cal.check_made_for(pipeline.stem, pipeline.model_info)
        op = cal.at_far(far, pipeline.mode)
        return cls(
            pipeline, templates, op, rule, liveness=liveness, tracking=tracking,
            clock=clock, lockout_store=store, wall_clock=wall_clock,
        )  # fmt: skip

    # --- state ------------------------------------------------------------------
    @property
    def rule(self) -> DecisionRule:
        return self.machine.rule

    @property
    def state(self) -> UnlockState:
        return self.machine.state

    @property
    def users(self) -> list[str]:
        return list(self._names)

    def lock(self) -> None:
        self.machine.lock()

    def reset(self) -> None:
        """Back to LOCKED with no votes (a new source, a seek); failed attempts and a lockout stay."""
        self.machine.lock()
        self._last_box = None
        self._last_track = None

    def set_operating_point(self, op: OperatingPoint) -> None:
        """Change the FAR mid-session (the vote history is cleared)."""
        self.operating_point = op
        self.machine.lock()

    # --- per frame -------------------------------------------------------------------
    def process(self, image: np.ndarray, now: float | None = None) -> FrameOutcome:
        """One frame; ``now`` is the frame's time (reported), the decision uses :attr:`clock`."""
        decided_at = self.clock()
        outcome = self._process(image, decided_at if now is None else float(now), decided_at)
        if self._keeper is not None:
            self._keeper.save(self.machine, decided_at)
        return outcome

    def _process(self, image: np.ndarray, now: float, decided_at: float) -> FrameOutcome:
        t0 = time.perf_counter()
        op = self.operating_point
        if not self.machine.accepting_votes(decided_at):
            status = self.machine.status(decided_at)
            reason = f"Locked out after {self.rule.max_failures} failed attempts: wait {status.lockout_remaining_s:.0f} s."
            times = {k: 0.0 for k in STAGES}
            times["total"] = (time.perf_counter() - t0) * 1e3
            return self._outcome(now, None, {}, False, False, times, status, (reason,), None, math.nan, None)
        near = follow = None
        if self.tracking and self._last_box is not None and self._tracked_frames < self.full_every:
            near = self._last_box
            follow = self._last_track if self.follow else None
        analysis: FrameAnalysis = self.pipeline.analyze(image, self.gates, near=near, follow=follow)
        self._last_box = analysis.box
        self._last_track = analysis.track
        self._tracked_frames = self._tracked_frames + 1 if analysis.tracked else 0
        times = dict(analysis.timings_ms)
        reasons = list(analysis.quality.reasons)
        scores: dict[str, float] = {}
        accepted = scored = False
        live = None
        if analysis.embedding is not None:
            if self.liveness is not None and analysis.box is not None:
                tl = time.perf_counter()
                live = self.liveness(image, analysis.box)
                times["liveness"] = (time.perf_counter() - tl) * 1e3
            tm = time.perf_counter()
            sims = self._matrix @ analysis.embedding.astype(np.float32)
            scores = {name: float(s) for name, s in zip(self._names, sims, strict=True)}
            best = int(np.argmax(sims))
            scored = True
            accepted = bool(sims[best] >= op.threshold)
            if accepted and live is not None and not bool(getattr(live, "passed", True)):
                accepted = False
                reasons.append("The liveness check failed (photo or screen?).")
            if not accepted and not reasons:
                reasons.append(f"Score {sims[best]:.3f} below the threshold {op.threshold:.3f}.")
            vote = Vote(decided_at, self._names[best] if accepted else None)
            status = self.machine.update(decided_at, vote)
            times["match"] = (time.perf_counter() - tm) * 1e3
        else:
            tm = time.perf_counter()
            status = self.machine.update(decided_at, None)
            times["match"] = (time.perf_counter() - tm) * 1e3
        times["total"] = (time.perf_counter() - t0) * 1e3
        return self._outcome(
            now, analysis, scores, accepted, scored, times, status, tuple(reasons), analysis.quality,
            analysis.yaw.yaw, live, analysis.tracked,
        )  # fmt: skip

    def _outcome(
        self,
        now,
        analysis,
        scores,
        accepted,
        scored,
        times,
        status,
        reasons,
        quality,
        yaw,
        live,
        tracked=False,
    ):
        best_user, best = None, math.nan
        if scores:
            best_user = max(scores, key=scores.__getitem__)
            best = scores[best_user]
        for k in STAGES:
            times.setdefault(k, 0.0)
        return FrameOutcome(
            time_s=now,
            box=None if analysis is None else analysis.box,
            score=best,
            user=best_user,
            scores=scores,
            accepted=accepted,
            scored=scored,
            threshold=self.operating_point.threshold,
            far=self.operating_point.target_far,
            ms=times,
            state=status.state,
            event=status.event,
            unlocked_user=status.user,
            accepts=status.accepts,
            needed=status.needed,
            votes=status.votes,
            failures=status.failures,
            lockout_remaining_s=status.lockout_remaining_s,
            reasons=reasons,
            quality=quality,
            yaw=yaw,
            liveness=live,
            tracked=tracked,
            followed=analysis is not None and analysis.followed,
        )
