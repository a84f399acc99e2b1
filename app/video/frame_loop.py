"""A video source shown at its own rate, with one per-frame job at a time on the newest frame.

Two clocks, independent on purpose:

* **display**: a fast GUI timer polls the :class:`~core.io.video.source.VideoSource`
  slot and shows every new frame (on the main canvas by default), so the
  picture moves at the source's rate whatever the processing does;
* **processing**: whenever no job is in flight, the newest frame is submitted
  to the workbench's long pool (:meth:`FrameLoop.make_job`; a video runs for
  as long as it plays, so it stays off the pool of short jobs); frames that
  arrive meanwhile are never queued. A result from before a seek, a new source
  or a close is dropped (the *epoch* check).

Opening a source also runs in the runner (a camera can take a second to
open); expected failures (no camera, not a video) come back as values and end
up in :attr:`message`, not in the error dialog. Source events (end of file,
camera lost, truncated file) are polled on the display timer; once the last
frame's job is done, the latest one also goes to :meth:`FrameLoop.stream_stopped`.

Subclasses (:class:`~app.live.controller.LiveController` for detection,
:class:`~app.unlock.controller.UnlockController` for face unlock) say what a
frame's job is and what a result means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.context import Workbench
from core.io.video.rate import RateMeter
from core.io.video.reader import Frame, FrameReader, SourceSpec, VideoError, open_reader, parse_source
from core.io.video.source import SourceEvent, VideoSource

log = logging.getLogger(__name__)

DISPLAY_POLL_MS = 5  # well under a 60 fps frame interval


def _open(spec: SourceSpec) -> FrameReader | VideoError:
    """Job: open a reader; expected failures are returned, not raised."""
    try:
        return open_reader(spec)
    except VideoError as exc:
        return exc


class FrameLoop(QObject):
    """Owns one video session at a time.

    opened(object): the new :class:`VideoSource`.
    closed(): the session ended (closed by the user or replaced).
    frame_shown(object): a :class:`~core.io.video.reader.Frame` was displayed.
    result_ready(object): the result of a frame's job (current epoch only).
    message(str): something to tell the user (open failures, end of stream, camera lost).
    state_changed(str): the source's :class:`~core.io.video.source.SourceState` value.
    job_failed(str): a frame's job failed; processing is now off (the video keeps playing).

    display: where frames go (``None``: the workbench's main canvas).
    """

    opened = Signal(object)
    closed = Signal()
    frame_shown = Signal(object)
    result_ready = Signal(object)
    message = Signal(str)
    state_changed = Signal(str)
    job_failed = Signal(str)

    #: Verb for messages ("Detection stopped: …").
    job_title = "Processing"

    def __init__(
        self,
        workbench: Workbench,
        display: Callable[[np.ndarray], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self._display = display or workbench.view.set_image
        self.source: VideoSource | None = None
        self.processing = True
        self.display_rate = RateMeter()
        self.last_frame: Frame | None = None
        self.last_result: Any = None
        self._shown_seq = 0
        self._processed_seq = 0
        self._in_flight = False
        self._opening = False
        self._epoch = 0
        self._state = ""
        self._stop_event: SourceEvent | None = None  # told to stream_stopped once no job is in flight
        self._timer = QTimer(self)
        self._timer.setInterval(DISPLAY_POLL_MS)
        self._timer.timeout.connect(self._tick)

    # --- what subclasses say ----------------------------------------------------
    def make_job(self, frame: Frame) -> Callable[[], Any]:
        """A callable run in the job runner for ``frame``; its value goes to :meth:`accept_result`."""
        raise NotImplementedError

    def accept_result(self, result: Any) -> None:
        """A current result arrived (GUI thread); the default keeps it and emits ``result_ready``."""
        self.last_result = result
        self.result_ready.emit(result)

    def session_started(self) -> None:
        """A new source is open: reset per-session state (rates, trackers, decisions)."""

    def stream_stopped(self, event: SourceEvent) -> None:
        """The source ended or failed (``event``) and no frame's job is still in flight (GUI thread)."""

    # --- opening / closing ------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.source is not None

    @property
    def busy(self) -> bool:
        return self._in_flight or self._opening

    def open(self, spec: SourceSpec | str | int, paused: bool = False) -> None:
        """Open a source in the runner; the session starts when it is open."""
        if not isinstance(spec, SourceSpec):
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
        self._shown_seq = self._processed_seq = 0
        self.last_frame = self.last_result = self._stop_event = None
        self.display_rate.reset()
        self.session_started()
        self.source = VideoSource(reader, paused=paused).start()
        self._timer.start()
        self.opened.emit(self.source)
        self.message.emit(f"Live: {reader.description}")

    def close(self) -> None:
        """Stop the session (idempotent); a job in flight finishes and is ignored."""
        if self.source is None:
            return
        self._timer.stop()
        source, self.source = self.source, None
        self._epoch += 1
        source.close()
        self._state = ""
        self._stop_event = None
        self.closed.emit()

    def release(self) -> None:
        """Close the session and drop the last frame and result: a released panel holds no frames."""
        self.close()
        self.last_frame = self.last_result = None

    def shutdown(self) -> None:
        self.close()

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
            self._display(frame.image)
            self.display_rate.tick()
            self.frame_shown.emit(frame)
        for event in source.poll_events():
            self._on_event(event)
            self._stop_event = event
        state = source.state.value
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
        self._schedule()
        if self._stop_event is not None and not self._in_flight:  # the last frame's result is in
            event, self._stop_event = self._stop_event, None
            self.stream_stopped(event)

    def _on_event(self, event: SourceEvent) -> None:
        self.message.emit(event.message)
        if event.kind == "error":
            self.workbench.status.emit(event.message)

    # --- processing clock -------------------------------------------------------------
    def _schedule(self) -> None:
        if not self.processing or self._in_flight or self.last_frame is None:
            return
        if self.last_frame.seq <= self._processed_seq:
            return
        frame = self.last_frame
        self._processed_seq = frame.seq
        job, epoch = self.make_job(frame), self._epoch
        self._in_flight = True
        self.workbench.long_runner.submit(
            job,
            name=f"{self.job_title.lower()} frame {frame.index}",
            on_result=lambda result, e=epoch: self._on_result(result, e),
            on_error=self._on_job_error,
            on_finished=self._on_job_finished,
        )

    def _on_job_error(self, exc: BaseException) -> None:
        # stop here: retrying on the next frame would repeat the same failure at the frame rate
        self.processing = False
        self.job_failed.emit(f"{self.job_title} stopped: {exc}")

    def _on_job_finished(self) -> None:
        self._in_flight = False

    def _on_result(self, result: Any, epoch: int) -> None:
        if epoch != self._epoch:
            return  # from before a seek, a new source or a close
        self.accept_result(result)
