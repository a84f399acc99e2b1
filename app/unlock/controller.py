"""The unlock session behind the Unlock panel: a video loop whose frame job enrols or verifies.

Modes:

* ``idle``: frames are shown, nothing runs (a source can stay open between attempts);
* ``enrol``: each newest frame goes through :class:`~core.unlock.session.Enroller`
  (quality gates; the reasons a frame is refused go to the panel) until it has
  its frames, then the template is saved in the store, in the runner. Frames
  count from the press of Enrol: a playing video is paused while the models
  load, and a paused or ended one is played (an ended one from its start).
  When a video or sequence ends (or a camera is lost) first, the enrolment
  ends with the same sentence as the CLI's (:mod:`core.unlock.refusals`);
* ``verify``: each newest frame goes through :class:`~core.unlock.session.UnlockSession`
  (detect → landmarks → align → embed (+ DREAM) → match → multi-frame decision).

Models load in the runner when a mode starts (a first start takes a second or
two), never on the GUI thread. Expected failures (nobody enrolled, a tampered
template, a FAR without a calibration, missing weights) come back as values
and reach the user through ``message``; they never reach the error dialog.
The decision clock is ``time.monotonic()``: a lockout lasts 30 real seconds
whatever the video does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.context import Workbench
from app.unlock.liveness_scores import LivenessScores
from app.video.frame_loop import FrameLoop
from core.errors import UserError
from core.io.video.reader import Frame
from core.io.video.source import SourceEvent, SourceState
from core.recognize.stems import UNLOCK_STEM
from core.unlock.calibrate import (
    DEFAULT_FAR,
    CalibrationError,
    UnlockCalibration,
    calibration_mode,
    load_calibration,
)
from core.unlock.decision import DecisionRule
from core.unlock.latency import RollingLatency
from core.unlock.refusals import RefusalTally, stopped_source_message
from core.unlock.templates import TemplateError, TemplateStore, check_name

if TYPE_CHECKING:  # the engine imports torch: loaded by the preparing jobs, never by the window
    from core.unlock.pipeline import UnlockPipeline
    from core.unlock.session import Enroller, EnrolOutcome, UnlockSession

log = logging.getLogger(__name__)

#: Frames in the rolling latency window of the HUD (about 4 s at 25 fps).
LATENCY_WINDOW = 100
#: Frames that count as warm-up after a mode starts and are left out of the HUD's percentiles.
WARMUP_FRAMES = 2

#: Errors a preparing job reports as a plain message (a bad template, calibration, weight file ...).
EXPECTED_ERRORS = (UserError, ValueError)


class UnlockController(FrameLoop):
    """One camera/video session for enrolment and verification.

    enrol_frame(object): an :class:`EnrolOutcome` (accepted or why not).
    enrolled(str): a template was saved under this name.
    enrol_ended(str): the source stopped before the enrolment had its frames (why, and what was refused).
    verify_frame(object): a :class:`FrameOutcome` (score, vote, state, stage ms).
    mode_changed(str): ``idle`` / ``enrol`` / ``verify``.
    users_changed(): the store's content changed (enrol, rename, delete).
    """

    enrol_frame = Signal(object)
    enrolled = Signal(str)
    enrol_ended = Signal(str)
    verify_frame = Signal(object)
    mode_changed = Signal(str)
    users_changed = Signal()

    job_title = "Unlock"

    def __init__(
        self,
        workbench: Workbench,
        display: Callable[[np.ndarray], None],
        store: TemplateStore,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(workbench, display=display, parent=parent)
        self.store = store
        self.processing = False
        self.mode = "idle"
        self.far = DEFAULT_FAR
        self.use_dream = True
        #: the embedding network (:data:`core.recognize.stems.STEMS`); templates name theirs
        self.stem = UNLOCK_STEM
        self.liveness_on = False
        #: the multi-frame rule (``None``: the engine's default, 3 of 5 within 1.5 s)
        self.rule: DecisionRule | None = None
        self.enroller: Enroller | None = None
        self.session: UnlockSession | None = None
        self._latency: RollingLatency | None = None  # made with the first session (the engine is loaded then)
        self._pipelines_lock = threading.Lock()
        self._pipelines: dict[tuple[str, bool], UnlockPipeline] = {}
        self._liveness = LivenessScores()
        self._calibration: UnlockCalibration | None = None
        self._mode_frames = 0
        self._pending_name = ""
        self._refusals = RefusalTally()
        self._request = 0  # a preparing job's result counts only if nothing was started or stopped since
        self._paused_for_models = False

    # --- configuration -----------------------------------------------------------------
    @property
    def mode_name(self) -> str:
        """Which calibration the current stem and DREAM choice use (``"dream"``, ``"faceres"`` …)."""
        return calibration_mode(self.stem, self.use_dream)

    def pipeline(self, use_dream: bool, stem: str | None = None) -> UnlockPipeline:
        """``stem``'s (default: the current one) pipeline with or without DREAM (call from a job:
        importing it loads torch)."""
        stem = stem or self.stem
        key = (stem, use_dream)
        with self._pipelines_lock:
            if key not in self._pipelines:
                # lazy: the engine (torch) loads in the first job, not at start-up
                from core.unlock.pipeline import UnlockPipeline

                self._pipelines[key] = UnlockPipeline(use_dream=use_dream, stem=stem)
            return self._pipelines[key]

    def calibration(self) -> UnlockCalibration:
        if self._calibration is None:
            self._calibration = load_calibration()
        return self._calibration

    def set_far(self, far: float) -> str | None:
        """Use the threshold calibrated at ``far``; returns an error sentence when there is none."""
        self.far = far
        if self.session is None:
            return None
        try:
            self.session.set_operating_point(self.calibration().at_far(far, self.mode_name))
        except CalibrationError as exc:
            return str(exc)
        return None

    # --- modes ---------------------------------------------------------------------------
    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self.processing = mode != "idle"
        self._mode_frames = 0
        if self._latency is not None:
            self._latency.reset()
        self.mode_changed.emit(mode)

    def stop(self) -> None:
        """Back to idle (an enrolment in progress is dropped, the session locks)."""
        if self.session is not None:
            self.session.lock()
        self.enroller = None
        self._request += 1
        self._set_mode("idle")

    def start_enrol(
        self, name: str, frames: int = 5, keep_images: bool = False, overwrite: bool = False
    ) -> None:
        """Prepare the models in the runner, then collect ``frames`` good frames for ``name``."""
        name = check_name(name)  # InvalidUserName is a TemplateError: the panel shows it
        if self.store.exists(name) and not overwrite:
            raise TemplateError(f"A user named {name!r} is already enrolled: delete or rename it first.")
        self.stop()
        self._pending_name = name
        use_dream, stem, request = self.use_dream, self.stem, self._request
        self._hold_source()

        def prepare() -> Enroller | Exception:
            # lazy: the engine (torch) loads in the first job, not at start-up
            from core.unlock.session import Enroller

            try:
                pipeline = self.pipeline(use_dream, stem).load()
                return Enroller.calibrated(
                    pipeline, self.calibration(), n_frames=frames, keep_images=keep_images
                )
            except EXPECTED_ERRORS as exc:
                return exc

        self.message.emit(f"Loading the face models for {name}…")
        self.workbench.runner.submit(
            prepare, name="prepare enrolment", on_result=lambda value: self._on_enroller(value, request)
        )

    def _hold_source(self) -> None:
        """Pause a playing video while the models load, so that no frame after the press of Enrol is missed."""
        source = self.source
        self._paused_for_models = (
            source is not None and source.kind != "camera" and source.state is SourceState.PLAYING
        )
        if self._paused_for_models:
            self.pause()

    def _on_enroller(self, value: Enroller | Exception, request: int) -> None:
        if request != self._request:
            return  # stopped, closed or restarted while the models loaded
        if isinstance(value, Exception):
            if self._paused_for_models:
                self.play()
            self.message.emit(f"Cannot enrol: {value}")
            return
        self.enroller = value
        self.session = None
        self._refusals = RefusalTally()
        self._set_mode("enrol")
        source = self.source
        ended = source is not None and source.state is SourceState.ENDED
        if ended and self.last_frame is not None:
            self._processed_seq = (
                self.last_frame.seq
            )  # the start comes next: the old last frame is not judged
        self.play()  # enrolment needs moving frames: a paused video resumes, an ended one starts over
        if source is None or source.kind == "camera":
            self.message.emit(f"Enrolling {self._pending_name}: look at the camera.")
        else:
            again = " from its start" if ended else ""
            self.message.emit(
                f"Enrolling {self._pending_name} from {source.description}{again}: "
                f"it plays until {value.n_frames} good frames are in or it ends."
            )

    def start_verify(self) -> None:
        """Load the enrolled templates and the calibration in the runner, then verify every newest frame."""
        self.stop()
        use_dream, stem, far, store = self.use_dream, self.stem, self.far, self.store
        rule, want_liveness, request = self.rule, self.liveness_on, self._request

        def prepare() -> UnlockSession | Exception:
            # lazy: the engine (torch) loads in the first job, not at start-up
            from core.unlock.session import UnlockSession

            try:
                pipeline = self.pipeline(use_dream, stem).load()
                if want_liveness:
                    self._liveness.load()  # now, not on the first frame
                return UnlockSession.from_store(
                    store, far=far, pipeline=pipeline, calibration=self.calibration(), rule=rule
                )
            except EXPECTED_ERRORS as exc:
                return exc

        self.message.emit("Loading enrolled users and the face models…")
        self.workbench.runner.submit(
            prepare, name="prepare verification", on_result=lambda value: self._on_session(value, request)
        )

    def _on_session(self, value: UnlockSession | Exception, request: int) -> None:
        if request != self._request:
            return  # stopped, closed or restarted while the models loaded
        if isinstance(value, Exception):
            self.message.emit(f"Cannot verify: {value}")
            return
        self.session = value
        self.enroller = None
        self._set_mode("verify")
        users = ", ".join(value.users)
        self.message.emit(f"Verifying against {len(value.users)} enrolled user(s): {users}.")

    # --- frame jobs ------------------------------------------------------------------------
    def make_job(self, frame: Frame) -> Callable[[], tuple[str, Any]]:
        mode, enroller, session = self.mode, self.enroller, self.session
        image, liveness, media_s = frame.image, self.liveness_on, frame.timestamp_s

        def job() -> tuple[str, Any]:
            now = time.monotonic()
            if mode == "enrol" and enroller is not None:
                # media time spaces the captures, as the CLI does: the same video gives the same gaps
                return "enrol", enroller.process(image, media_s)
            if mode == "verify" and session is not None:
                outcome = session.process(image, now)
                if liveness and outcome.box is not None:
                    outcome = self._liveness.attach(image, outcome)
                return "verify", outcome
            return "idle", None

        return job

    def accept_result(self, result: tuple[str, Any]) -> None:
        kind, outcome = result
        if kind != self.mode or outcome is None:
            return  # the mode changed while the frame was in flight
        self.last_result = outcome
        self._mode_frames += 1
        if self._mode_frames > WARMUP_FRAMES:
            self.latency().add(outcome.ms)
        self.result_ready.emit(outcome)
        if kind == "enrol":
            self._on_enrol_outcome(outcome)
        else:
            self.verify_frame.emit(outcome)

    def _on_enrol_outcome(self, outcome: EnrolOutcome) -> None:
        self._refusals.add(outcome.accepted, outcome.reasons)
        self.enrol_frame.emit(outcome)
        if not outcome.done or self.enroller is None:
            return
        enroller, name = self.enroller, self._pending_name
        self.enroller = None
        self._set_mode("idle")
        self.workbench.runner.submit(
            _save_template,
            self.store,
            enroller,
            name,
            name="save unlock template",
            on_result=self._on_saved,
        )

    def stream_stopped(self, event: SourceEvent) -> None:
        """The source ended or failed with every frame's result in: a running enrolment ends here."""
        source = self.source
        if self.mode != "enrol" or self.enroller is None or source is None:
            return
        if event.kind == "ended" and source.state is not SourceState.ENDED:
            return  # played again (from the start) before the end was seen here
        enroller = self.enroller
        text = stopped_source_message(
            source.kind, event, enroller.collected, enroller.n_frames, self._refusals
        )
        self.stop()
        self.message.emit(f"Not enrolled: {text}")
        self.enrol_ended.emit(text)

    def _on_saved(self, value: str | Exception) -> None:
        if isinstance(value, Exception):
            self.message.emit(f"Enrolment not saved: {value}")
            return
        self.message.emit(f"Enrolled {value}.")
        self.enrolled.emit(value)
        self.users_changed.emit()

    # --- store -------------------------------------------------------------------------------
    def rename_user(self, old: str, new: str) -> None:
        self.store.rename(old, new)
        self.users_changed.emit()

    def delete_user(self, name: str) -> None:
        self.store.delete(name)
        self.users_changed.emit()

    # --- HUD -----------------------------------------------------------------------------------
    def latency_figures(self) -> tuple[dict[str, float], dict[str, float], int]:
        """Rolling p50 and p95 per stage (ms) over the last frames, and how many frames back them."""
        if self._latency is None:
            return {}, {}, 0
        summary = self._latency.summary()
        return summary.p50, summary.p95, summary.frames

    def latency(self) -> RollingLatency:
        """The HUD's rolling window (created with the first result, when the engine is loaded)."""
        if self._latency is None:
            self._latency = RollingLatency(LATENCY_WINDOW)
        return self._latency

    def release(self) -> None:
        """Stop, close the source, drop the session, face pipelines and liveness nets (templates stay)."""
        self.shutdown()
        self.last_frame = self.last_result = self.session = self._latency = None
        # new holders: a job still loading a pipeline or the liveness nets fills the old ones
        self._liveness = LivenessScores()
        self._pipelines = {}

    def shutdown(self) -> None:
        self.stop()
        super().shutdown()


def _save_template(store: TemplateStore, enroller: Enroller, name: str) -> str | Exception:
    """Job: build and save the template; expected failures come back as values."""
    try:
        store.save(enroller.template(name), overwrite=True)
    except (TemplateError, OSError, ValueError) as exc:
        return exc
    return name
