"""Enrolment frame by frame: :class:`Enroller` collects the frames that pass the gates.

``Enroller.process(image, now)`` → :class:`EnrolOutcome` (the gates' verdict and
reasons, progress); after ``n_frames`` accepted frames :meth:`Enroller.template`
builds the :class:`~core.unlock.templates.UserTemplate` for
:meth:`~core.unlock.templates.TemplateStore.save`. Not thread-safe: one worker
calls ``process`` per frame; ``now`` is seconds on any monotonic clock
(``None``: ``time.monotonic()``). Stage ms as in :mod:`core.unlock.session`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from core.unlock.calibrate import load_calibration
from core.unlock.pipeline import UnlockPipeline
from core.unlock.quality import ENROL_GATES, FrameQuality, QualityGates, face_crop
from core.unlock.template_data import UserTemplate, crops_to_png, mean_template

DEFAULT_ENROL_FRAMES = 5
#: Accepted enrolment frames are at least this far apart (media seconds), so they differ a little.
DEFAULT_MIN_GAP_S = 0.2


def round_ms(times: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 2) for k, v in times.items()}


@dataclass(frozen=True)
class EnrolOutcome:
    """One enrolment frame.

    accepted: the frame was added to the template; reasons: why not (gates, spacing, consistency).
    collected / needed: progress; done: ``collected >= needed``.
    box: the main face (original pixels) or ``None``; ms: per-stage times.
    """

    quality: FrameQuality
    accepted: bool
    collected: int
    needed: int
    reasons: tuple[str, ...]
    box: tuple[float, float, float, float] | None
    ms: dict[str, float]
    time_s: float

    @property
    def done(self) -> bool:
        return self.collected >= self.needed

    def to_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "collected": self.collected,
            "needed": self.needed,
            "reasons": list(self.reasons),
            "quality": self.quality.to_json(),
            "ms": round_ms(self.ms),
        }


class Enroller:
    """Collects ``n_frames`` frames that pass the enrolment gates (issue 8).

    min_gap_s: minimum time between two accepted frames (``now`` units).
    consistency: a frame whose descriptor's cosine to the mean so far is below this is refused
        ("another person?"); ``None`` disables the check. The session passes the FAR 1e-2 threshold.
    keep_images: store the face crops in the template (the user's opt-in).
    """

    def __init__(
        self,
        pipeline: UnlockPipeline,
        n_frames: int = DEFAULT_ENROL_FRAMES,
        gates: QualityGates = ENROL_GATES,
        min_gap_s: float = DEFAULT_MIN_GAP_S,
        consistency: float | None = None,
        keep_images: bool = False,
    ) -> None:
        if n_frames < 1:
            raise ValueError("n_frames must be >= 1")
        self.pipeline = pipeline
        self.n_frames = int(n_frames)
        self.gates = gates
        self.min_gap_s = float(min_gap_s)
        self.consistency = consistency
        self.keep_images = keep_images
        self.reset()

    @classmethod
    def calibrated(cls, pipeline: UnlockPipeline, calibration=None, **kwargs) -> Enroller:
        """An enroller whose consistency check is the shipped (or given) FAR 1e-2 threshold."""
        cal = calibration or load_calibration()
        cal.check_made_for(pipeline.stem, pipeline.model_info)
        return cls(pipeline, consistency=cal.at_far(1e-2, pipeline.mode).threshold, **kwargs)

    def reset(self) -> None:
        self.embeddings: list[np.ndarray] = []
        self.yaws: list[float] = []
        self.crops: list[np.ndarray] = []
        self._last_time = -math.inf

    @property
    def collected(self) -> int:
        return len(self.embeddings)

    @property
    def done(self) -> bool:
        return self.collected >= self.n_frames

    def process(self, image: np.ndarray, now: float | None = None) -> EnrolOutcome:
        now = time.monotonic() if now is None else float(now)
        t0 = time.perf_counter()
        if self.done:
            quality = FrameQuality(False, ("Enrolment complete.",))
            return EnrolOutcome(quality, False, self.collected, self.n_frames, quality.reasons, None, {}, now)
        analysis = self.pipeline.analyze(image, self.gates)
        reasons = list(analysis.quality.reasons)
        accepted = False
        if analysis.quality.ok:
            emb = analysis.embedding
            if emb is None:
                reasons.append("The face descriptor failed on this frame.")
            # either way: a seek back in a video must not accept a near copy of a captured frame
            elif abs(now - self._last_time) < self.min_gap_s - 1e-6:  # media times are float sums
                reasons.append("Waiting a moment between captures.")
            elif self.consistency is not None and self.embeddings:
                score = float(mean_template(np.stack(self.embeddings)) @ emb)
                if score < self.consistency:
                    reasons.append(
                        f"This face differs from the frames already captured (cosine {score:.3f}): "
                        "is someone else in view?"
                    )
            if not reasons and emb is not None:
                accepted = True
                self.embeddings.append(emb)
                self.yaws.append(analysis.yaw.yaw)
                self._last_time = now
                if self.keep_images and analysis.box is not None:
                    self.crops.append(np.ascontiguousarray(face_crop(image, analysis.box)))
        times = dict(analysis.timings_ms)
        times["match"] = 0.0
        times["total"] = (time.perf_counter() - t0) * 1e3
        return EnrolOutcome(
            analysis.quality,
            accepted,
            self.collected,
            self.n_frames,
            tuple(reasons),
            analysis.box,
            times,
            now,
        )

    def template(self, name: str) -> UserTemplate:
        """The template of the collected frames (``ValueError`` before any frame was accepted)."""
        if not self.embeddings:
            raise ValueError("no enrolment frame was accepted")
        return UserTemplate(
            name=name,
            embeddings=np.stack(self.embeddings),
            model=self.pipeline.model_info,
            dream=self.pipeline.use_dream,
            yaws=np.array(self.yaws, dtype=np.float64),
            images=crops_to_png(self.crops) if self.keep_images else [],
        )
