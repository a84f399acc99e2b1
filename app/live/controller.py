"""The live detection session: :class:`~app.live.frame_loop.FrameLoop` with a detector as the frame job.

Detection runs on the newest frame whenever no detection is in flight; results
draw the latest boxes (optionally tracked), can be recorded as JSON lines, and
the last detected frame can be saved into a WIDER split as a snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject

from app.context import Workbench
from app.video.frame_loop import FrameLoop
from core.detect.live.loop import LiveDetector, LiveResult
from core.detect.live.record import SessionRecorder, Snapshot, save_snapshot
from core.detect.registry import DEFAULT_DETECTOR, DISPLAY_MIN_SCORE, detector_spec
from core.io.video.reader import Frame
from core.io.video.source import SourceState

log = logging.getLogger(__name__)


class LiveController(FrameLoop):
    """Owns one live detection session at a time (signals: see :class:`FrameLoop`).

    ``job_failed`` reads "Detection stopped: …"; detection is then off.
    """

    job_title = "Detection"

    def __init__(self, workbench: Workbench, parent: QObject | None = None) -> None:
        super().__init__(workbench, parent=parent)
        self.detectors = workbench.detectors  # shared by every panel: weights load once
        self.model = DEFAULT_DETECTOR
        self.tracking = False
        self.track_min_score = DISPLAY_MIN_SCORE
        self.recorder: SessionRecorder | None = None
        self._live: dict[str, LiveDetector] = {}
        self._reset_tracks = False

    @property
    def detecting(self) -> bool:
        return self.processing

    @detecting.setter
    def detecting(self, on: bool) -> None:
        self.processing = on

    def release(self) -> None:
        """The session closed and the per-model detector steps (trackers, rates) dropped; the
        networks themselves stay in the shared detector cache."""
        self.stop_recording()
        super().release()
        self._live.clear()

    # --- session --------------------------------------------------------------------
    def session_started(self) -> None:
        for live in self._live.values():
            live.rate.reset()
            live.stages.reset()
        self._reset_tracks = True

    def close(self) -> None:
        self.stop_recording()
        super().close()

    def seek(self, index: int) -> None:
        if self.source is not None and self.source.seekable:
            self._reset_tracks = True
        super().seek(index)

    # --- detection ------------------------------------------------------------------
    def live_detector(self) -> LiveDetector:
        """The per-model detector step (built lazily: the model itself loads in the job)."""
        live = self._live.get(self.model)
        if live is None:
            # as the Detection panel: detect low once, the slider filters what is shown
            live = self._live[self.model] = LiveDetector(
                _LazyDetector(self.detectors, self.model),
                run_min_score=detector_spec(self.model).run_min_score,
            )
        return live

    def make_job(self, frame: Frame) -> Callable[[], LiveResult]:
        live = self.live_detector()
        live.tracking = self.tracking
        reset, self._reset_tracks = self._reset_tracks, False
        threshold = self.track_min_score

        def job() -> LiveResult:
            if reset:
                live.tracker.reset()
            return live.process(frame, threshold)

        return job

    def accept_result(self, result: LiveResult) -> None:
        if self.recorder is not None:
            self.recorder.write(result)
        super().accept_result(result)

    # --- recording and snapshots ------------------------------------------------------
    def start_recording(self, path: str | Path) -> SessionRecorder:
        self.stop_recording()
        name = self.source.description if self.source is not None else ""
        self.recorder = SessionRecorder(path, source=name)
        return self.recorder

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None

    def snapshot(self, root: str | Path, faces, on_saved=None) -> bool:
        """Save the last detected frame with ``faces`` into the WIDER split at ``root`` (in the runner)."""
        result = self.last_result
        if result is None:
            return False
        frame = result.frame
        self.workbench.runner.submit(
            save_snapshot,
            root,
            frame.image,
            list(faces),
            frame.name or f"frame_{frame.index:06d}",
            name="live snapshot",
            on_result=on_saved or (lambda snap: self._on_snapshot(snap)),
        )
        return True

    def _on_snapshot(self, snap: Snapshot) -> None:
        self.message.emit(f"Snapshot {snap.name}: {snap.faces} faces → {snap.label_path}")

    # --- figures for the HUD ----------------------------------------------------------
    def hud_figures(self) -> dict:
        source = self.source
        live = self._live.get(self.model)
        figures = {
            "capture_fps": source.capture_rate.rate() if source is not None else 0.0,
            "display_fps": self.display_rate.rate(),
            "detect_fps": live.rate.rate() if live is not None else 0.0,
            "stages_ms": live.stages.snapshot() if live is not None else {},
            "latency_ms": self.last_result.latency_ms if self.last_result is not None else None,
            "dropped": source.frames_dropped if source is not None else 0,
            "state": source.state.value if source is not None else "",
            "time": time.monotonic(),
        }
        return figures


class _LazyDetector:
    """A Detector that loads the named model on first use (in the job, not the GUI thread)."""

    def __init__(self, cache, name: str) -> None:
        self._cache, self.name = cache, name
        self.branch_kind = detector_spec(name).branch_kind

    def detect(self, image, min_score=None):
        return self._cache.get(self.name).detect(image, min_score=min_score)


__all__ = ["LiveController", "SourceState"]
