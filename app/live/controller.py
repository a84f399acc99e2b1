"""The live session: a video source on the canvas at its own rate, detection in the job runner.

Two clocks, independent on purpose:

* **display**: a fast GUI timer polls the :class:`~core.unlock.video_source.VideoSource`
  slot and puts every new frame on the canvas, so the picture moves at the
  source's rate whatever the detector does;
* **detection**: whenever no detection job is in flight, the newest frame is
  submitted to the workbench's job runner (:meth:`LiveDetector.process`);
  frames that arrive meanwhile are never queued. Results draw the latest boxes.

Opening a source also runs in the runner (a camera can take a second to
open); expected failures (no camera, not a video) come back as values and end
up in :attr:`message`, not in the error dialog. Source events (end of file,
camera lost, truncated file) are polled on the display timer.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.context import Workbench
from core.unlock.video import FrameReader, SourceSpec, VideoError, open_reader
from core.unlock.video_live import LiveDetector, LiveResult
from core.unlock.video_rate import RateMeter
from core.unlock.video_record import SessionRecorder, Snapshot, save_snapshot
from core.unlock.video_source import SourceEvent, SourceState, VideoSource

log = logging.getLogger(__name__)

DISPLAY_POLL_MS = 5  # well under a 60 fps frame interval
RUN_MIN_SCORE = 0.2  # as the Detection panel: detect low, the slider filters what is shown


def _open(spec: SourceSpec) -> FrameReader | VideoError:
    """Job: open a reader; expected failures are returned, not raised."""
    try:
        return open_reader(spec)
    except VideoError as exc:
        return exc


class LiveController(QObject):
    """Owns one live session at a time.

    opened(object): the new :class:`VideoSource`.
    closed(): the session ended (closed by the user or replaced).
    frame_shown(object): a :class:`~core.unlock.video.Frame` was put on the canvas.
    result_ready(object): a :class:`~core.unlock.video_live.LiveResult` (current epoch only).
    message(str): something to tell the user (open failures, end of stream, camera lost).
    state_changed(str): the source's :class:`SourceState` value.
    detection_failed(str): a detection job failed; detection is now off (the video keeps playing).
    """

    opened = Signal(object)
    closed = Signal()
    frame_shown = Signal(object)
    result_ready = Signal(object)
    message = Signal(str)
    state_changed = Signal(str)
    detection_failed = Signal(str)

    def __init__(self, workbench: Workbench, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.detectors = workbench.detectors  # shared by every panel: weights load once
        self.source: VideoSource | None = None
        self.model = "centerface"
        self.detecting = True
        self.tracking = False
        self.track_min_score = 0.5
        self.display_rate = RateMeter()
        self.last_frame = None
        self.last_result: LiveResult | None = None
        self.recorder: SessionRecorder | None = None
        self._live: dict[str, LiveDetector] = {}
        self._shown_seq = 0
        self._detected_seq = 0
        self._in_flight = False
        self._opening = False
        self._epoch = 0
        self._reset_tracks = False
        self._state = ""
        self._timer = QTimer(self)
        self._timer.setInterval(DISPLAY_POLL_MS)
        self._timer.timeout.connect(self._tick)

    # --- opening / closing ------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.source is not None

    def open(self, spec: SourceSpec | str | int, paused: bool = False) -> None:
        """Open a source in the runner; the session starts when it is open."""
        if not isinstance(spec, SourceSpec):
            from core.unlock.video import parse_source

            spec = parse_source(spec)
        self.close()
        self._opening = True
        self.message.emit(f"Opening {spec}…")
        self.workbench.runner.submit(
            _open,
            spec,
            name=f"open {spec}",
            on_result=lambda reader, p=paused: self._on_opened(reader, p),
            on_finished=lambda: setattr(self, "_opening", False),
        )

    def _on_opened(self, reader: FrameReader | VideoError, paused: bool) -> None:
        if isinstance(reader, VideoError):
            self.message.emit(str(reader))
            return
        if self.source is not None:  # another open won the race
            reader.close()
            return
        self._epoch += 1
        self._shown_seq = self._detected_seq = 0
        self.last_frame = self.last_result = None
        self.display_rate.reset()
        for live in self._live.values():
            live.rate.reset()
            live.stages.reset()
        self._reset_tracks = True
        self.source = VideoSource(reader, paused=paused).start()
        self._timer.start()
        self.opened.emit(self.source)
        self.message.emit(f"Live: {reader.description}")

    def close(self) -> None:
        """Stop the session (idempotent); a detection job in flight finishes and is ignored."""
        self.stop_recording()
        if self.source is None:
            return
        self._timer.stop()
        source, self.source = self.source, None
        self._epoch += 1
        source.close()
        self._state = ""
        self.closed.emit()

    # --- transport ----------------------------------------------------------------
    def play(self) -> None:
        if self.source is not None:
            self.source.play()

    def pause(self) -> None:
        if self.source is not None:
            self.source.pause()

    def step(self, count: int = 1) -> None:
        if self.source is not None and (count > 0 or self.source.seekable):
            self.source.step(count)

    def seek(self, index: int) -> None:
        if self.source is not None and self.source.seekable:
            self._reset_tracks = True
            self.source.seek(index)

    # --- display clock ------------------------------------------------------------
    def _tick(self) -> None:
        source = self.source
        if source is None:
            return
        frame = source.newer_than(self._shown_seq)
        if frame is not None:
            self._shown_seq = frame.seq
            self.last_frame = frame
            self.workbench.view.set_image(frame.image)
            self.display_rate.tick()
            self.frame_shown.emit(frame)
        for event in source.poll_events():
            self._on_event(event)
        state = source.state.value
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
        self._schedule_detection()

    def _on_event(self, event: SourceEvent) -> None:
        self.message.emit(event.message)
        if event.kind == "error":
            self.workbench.status.emit(event.message)

    # --- detection clock ------------------------------------------------------------
    def live_detector(self) -> LiveDetector:
        """The per-model detector step (built lazily: the model itself loads in the job)."""
        live = self._live.get(self.model)
        if live is None:
            live = self._live[self.model] = LiveDetector(
                _LazyDetector(self.detectors, self.model), run_min_score=RUN_MIN_SCORE
            )
        return live

    def _schedule_detection(self) -> None:
        if not self.detecting or self._in_flight or self.last_frame is None:
            return
        if self.last_frame.seq <= self._detected_seq:
            return
        frame = self.last_frame
        self._detected_seq = frame.seq
        live = self.live_detector()
        live.tracking = self.tracking
        reset, self._reset_tracks = self._reset_tracks, False
        threshold, epoch = self.track_min_score, self._epoch

        def job() -> LiveResult:
            if reset:
                live.tracker.reset()
            return live.process(frame, threshold)

        self._in_flight = True
        self.workbench.runner.submit(
            job,
            name=f"live detect ({self.model})",
            on_result=lambda result, e=epoch: self._on_result(result, e),
            on_error=self._on_detect_error,
            on_finished=self._on_detect_finished,
        )

    def _on_detect_error(self, exc: BaseException) -> None:
        # stop here: retrying on the next frame would repeat the same failure at the frame rate
        self.detecting = False
        self.detection_failed.emit(f"Detection stopped: {exc}")

    def _on_detect_finished(self) -> None:
        self._in_flight = False

    def _on_result(self, result: LiveResult, epoch: int) -> None:
        if epoch != self._epoch:
            return  # from before a seek, a new source or a close
        self.last_result = result
        if self.recorder is not None:
            self.recorder.write(result)
        self.result_ready.emit(result)

    @property
    def busy(self) -> bool:
        return self._in_flight or self._opening

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

    def shutdown(self) -> None:
        self.close()


class _LazyDetector:
    """A Detector that loads the named model on first use (in the job, not the GUI thread)."""

    def __init__(self, cache, name: str) -> None:
        self._cache, self.name = cache, name
        self.branch_kind = "scale_range" if name == "centerface" else "branch"

    def detect(self, image, min_score=None):
        return self._cache.get(self.name).detect(image, min_score=min_score)


__all__ = ["LiveController", "SourceState"]
