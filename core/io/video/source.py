"""A video source read in its own thread, where the newest frame wins.

:class:`VideoSource` wraps a :class:`~core.io.video.reader.FrameReader`. Its
thread reads frames (at the source's own rate for files and sequences, as
fast as the camera delivers for cameras) into a *single slot*: a consumer
that is slower than the source (a detector at 5 fps on a 25 fps video) always
gets the newest frame and the frames in between are dropped, never queued, so
latency never builds up. Several consumers (the display and the detector) can
poll the same slot; each keeps its own last ``seq``.

Control (any thread): :meth:`play`, :meth:`pause`, :meth:`step`, :meth:`seek`
(files and sequences only: a camera raises :class:`~core.io.video.reader.NotSeekable`),
:meth:`close`. The end of a file and every failure become a
:class:`SourceEvent` (see :meth:`poll_events`) and a final :attr:`state`;
nothing raises out of the thread and nothing blocks the caller for longer than
a lock.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, replace
from enum import Enum

from core.io.video.rate import RateMeter
from core.io.video.reader import Frame, FrameReader, NotSeekable, SourceSpec, VideoError, open_reader

log = logging.getLogger(__name__)

# When playback falls this far behind the source clock (a paused debugger, a
# starved CPU) the clock restarts at the current frame instead of racing to catch up.
MAX_LAG_S = 0.5


class SourceState(str, Enum):
    OPENING = "opening"
    PLAYING = "playing"
    PAUSED = "paused"
    ENDED = "ended"  # end of a file or sequence (a seek or step back revives it)
    FAILED = "failed"  # see VideoSource.error
    CLOSED = "closed"


@dataclass(frozen=True)
class SourceEvent:
    """Something the consumer should tell the user about.

    kind: ``"ended"`` (end of stream; ``truncated`` when a file stopped before
    its announced frame count) or ``"error"`` (``error`` holds the typed
    :class:`~core.io.video.reader.VideoError`).
    """

    kind: str
    message: str
    frames_read: int
    error: VideoError | None = None
    truncated: bool = False


class VideoSource:
    """Threaded newest-frame-wins wrapper around a reader.

    source: a reader, a :class:`~core.io.video.reader.SourceSpec` or a source text
        (``"0"`` camera, a file, a folder or glob). Opening a spec happens on the
        calling thread so that :class:`~core.io.video.reader.CameraNotFound` /
        :class:`~core.io.video.reader.VideoOpenError` reach the caller at once.
    realtime: pace files and sequences at ``fps * speed``; ``False`` reads as
        fast as possible (benchmarks, tests of frame dropping).
    loop: restart files and sequences at frame 0 instead of ending.
    paused: start paused (the first frame is still read and shown).
    """

    def __init__(
        self,
        source: FrameReader | SourceSpec | str | int,
        *,
        realtime: bool = True,
        speed: float = 1.0,
        loop: bool = False,
        paused: bool = False,
    ) -> None:
        self.reader: FrameReader = (
            open_reader(source) if isinstance(source, (SourceSpec, str, int)) else source
        )
        self.realtime = realtime
        self.speed = float(speed)
        self.loop = loop
        self._cond = threading.Condition()
        self._commands: collections.deque[tuple[str, int]] = collections.deque()
        self._latest: Frame | None = None
        self._latest_taken = True
        self._seq = 0
        self._state = SourceState.PAUSED if paused else SourceState.PLAYING
        self._start_paused = paused
        self._closing = False
        self._events: collections.deque[SourceEvent] = collections.deque()
        self.error: VideoError | None = None
        self.frames_read = 0
        self.frames_dropped = 0
        self.capture_rate = RateMeter()
        self._clock: tuple[float, float] | None = None  # (monotonic at, media time at)
        self._thread = threading.Thread(
            target=self._run, name=f"video:{self.reader.description}", daemon=True
        )
        self._started = False

    # --- properties ----------------------------------------------------------
    @property
    def description(self) -> str:
        return self.reader.description

    @property
    def kind(self) -> str:
        return self.reader.kind

    @property
    def fps(self) -> float:
        return self.reader.fps

    @property
    def frame_count(self) -> int | None:
        return self.reader.frame_count

    @property
    def seekable(self) -> bool:
        return self.reader.seekable

    @property
    def state(self) -> SourceState:
        with self._cond:
            return self._state

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- consumer side ------------------------------------------------------
    def start(self) -> VideoSource:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def latest(self) -> Frame | None:
        """The newest frame (or ``None`` before the first one); never blocks."""
        with self._cond:
            self._latest_taken = True
            return self._latest

    def newer_than(self, seq: int) -> Frame | None:
        """The newest frame if it is newer than ``seq``, else ``None``."""
        with self._cond:
            if self._latest is None or self._latest.seq <= seq:
                return None
            self._latest_taken = True
            return self._latest

    def wait_newer(self, seq: int, timeout: float | None = None) -> Frame | None:
        """Block until a frame newer than ``seq`` exists (returned) or the stream stops / times out (``None``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._latest is None or self._latest.seq <= seq:
                if self._state in (SourceState.ENDED, SourceState.FAILED, SourceState.CLOSED):
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            self._latest_taken = True
            return self._latest

    def poll_events(self) -> list[SourceEvent]:
        """Events since the last call (oldest first)."""
        with self._cond:
            events = list(self._events)
            self._events.clear()
            return events

    # --- control -------------------------------------------------------------
    def play(self) -> None:
        self._command("play")

    def pause(self) -> None:
        self._command("pause")

    def step(self, count: int = 1) -> None:
        """Pause and move ``count`` frames (negative: back; files and sequences only)."""
        if count < 0 and not self.seekable:
            raise NotSeekable("A live camera cannot step backwards.")
        self._command("step", int(count))

    def seek(self, index: int) -> None:
        """Show frame ``index`` (clamped to the stream); playing continues from there."""
        if not self.seekable:
            raise NotSeekable("A live camera cannot seek.")
        self._command("seek", int(index))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and release the device or file (idempotent)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._started and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("video thread %s did not stop within %.1f s", self._thread.name, timeout)
        if not self._started:
            self.reader.close()
            with self._cond:
                self._state = SourceState.CLOSED

    def __enter__(self) -> VideoSource:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _command(self, name: str, arg: int = 0) -> None:
        with self._cond:
            if self._state in (SourceState.FAILED, SourceState.CLOSED):
                return
            self._commands.append((name, arg))
            self._cond.notify_all()

    # --- reader thread ---------------------------------------------------------
    def _run(self) -> None:
        try:
            self._read_and_publish()  # the first frame is shown even when starting paused
            while True:
                with self._cond:
                    while not self._closing and not self._commands and self._state != SourceState.PLAYING:
                        self._cond.wait()
                    if self._closing:
                        break
                    command = self._commands.popleft() if self._commands else None
                if command is not None:
                    self._apply(*command)
                    continue
                frame = self._next_frame()
                if frame is None:
                    continue
                if self.realtime and self.reader.kind != "camera" and not self._wait_due(frame):
                    break
                with self._cond:
                    playing = self._state == SourceState.PLAYING
                    moving = any(name in ("seek", "step") for name, _ in self._commands)
                # a paused camera keeps reading (the driver's buffer must not go stale) but shows nothing
                # new; a frame overtaken by a seek or step is not shown
                if (playing or self.reader.kind != "camera") and not moving:
                    self._publish(frame)
        except VideoError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001 - a reader bug must end the stream, not the program
            log.exception("video source %s failed", self.reader.description)
            self._fail(VideoError(f"Reading {self.reader.description} failed: {type(exc).__name__}: {exc}"))
        finally:
            try:
                self.reader.close()
            finally:
                with self._cond:
                    if self._state not in (SourceState.FAILED,):
                        self._state = SourceState.CLOSED if self._closing else self._state
                    self._cond.notify_all()

    def _apply(self, name: str, arg: int) -> None:
        if name == "play":
            with self._cond:
                if self._state == SourceState.ENDED and self.reader.seekable:
                    self.reader.seek(0)  # play at the end starts over, like every player
                if self._state in (SourceState.PAUSED, SourceState.ENDED):
                    self._state = SourceState.PLAYING
                    self._clock = None
        elif name == "pause":
            with self._cond:
                if self._state == SourceState.PLAYING:
                    self._state = SourceState.PAUSED
        elif name == "step":
            with self._cond:
                if self._state == SourceState.PLAYING:
                    self._state = SourceState.PAUSED
            if arg >= 0:
                frame = None
                for _ in range(max(1, arg)):
                    frame = self._next_frame()
                    if frame is None:
                        return
                self._publish(frame)
            else:
                current = self._latest.index if self._latest is not None else 0
                self._seek_and_show(current + arg)
        elif name == "seek":
            self._seek_and_show(arg)

    def _seek_and_show(self, index: int) -> None:
        self.reader.seek(index)
        with self._cond:
            if self._state == SourceState.ENDED:
                self._state = SourceState.PAUSED
            self._clock = None
        self._read_and_publish()

    def _read_and_publish(self) -> None:
        frame = self._next_frame()
        if frame is not None:
            with self._cond:  # the source clock starts at the frame shown first
                self._clock = (time.monotonic(), frame.timestamp_s)
            self._publish(frame)

    def _next_frame(self) -> Frame | None:
        """Read one frame; at the end: loop, or record the end (state ENDED) and return ``None``."""
        frame = self.reader.read()
        if frame is None and self.loop and self.reader.seekable and self.frames_read:
            self.reader.seek(0)
            with self._cond:
                self._clock = None
            frame = self.reader.read()
        if frame is not None:
            self.frames_read += 1
            return frame
        truncated = bool(getattr(self.reader, "truncated", False))
        count = self.reader.frame_count
        if truncated:
            message = (
                f"{self.reader.description} stopped at frame {self._position()} of {count}: "
                "the file is truncated or corrupt."
            )
        else:
            message = f"End of {self.reader.description}."
        with self._cond:
            self._state = SourceState.ENDED
            self._events.append(SourceEvent("ended", message, self.frames_read, truncated=truncated))
            self._cond.notify_all()
        return None

    def _position(self) -> int:
        return int(getattr(self.reader, "position", self.frames_read))

    def _wait_due(self, frame: Frame) -> bool:
        """Sleep until the frame is due on the source clock; False when closing."""
        with self._cond:
            now = time.monotonic()
            if self._clock is None:
                self._clock = (now, frame.timestamp_s)
            at, media = self._clock
            due = at + (frame.timestamp_s - media) / max(self.speed, 1e-6)
            if now - due > MAX_LAG_S:
                self._clock = (now, frame.timestamp_s)
                return True
            while not self._closing and not self._commands:
                remaining = due - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return not self._closing

    def _publish(self, frame: Frame) -> None:
        with self._cond:
            self._seq += 1
            if self._latest is not None and not self._latest_taken:
                self.frames_dropped += 1
            self._latest = replace(frame, seq=self._seq)
            self._latest_taken = False
            self.capture_rate.tick()
            self._cond.notify_all()

    def _fail(self, exc: VideoError) -> None:
        log.warning("video source %s: %s", self.reader.description, exc)
        with self._cond:
            self.error = exc
            self._state = SourceState.FAILED
            self._events.append(SourceEvent("error", str(exc), self.frames_read, error=exc))
            self._cond.notify_all()
