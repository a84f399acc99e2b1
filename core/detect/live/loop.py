"""Detection on live video: one frame in, faces (+ track ids) and stage times out.

:class:`LiveDetector` is the per-frame step shared by every live consumer: the
GUI submits ``process(frame)`` to its job runner on the newest frame whenever
the previous job has finished; :func:`run_live` is the same loop on a plain
thread for the CLI, the benchmarks and the tests. Either way at most one
frame is being detected at a time and it is always the newest one the source
has (:class:`~core.io.video.source.VideoSource`), so detection runs at its
own rate while the display follows the source.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.detect.protocol import Detector
from core.detect.registry import DISPLAY_MIN_SCORE
from core.detect.tracking import IouTracker, Track
from core.io.video.rate import RateMeter, StageTimes
from core.io.video.reader import Frame
from core.io.video.source import VideoSource
from core.types import Detection, DetectionResult


@dataclass(frozen=True)
class LiveResult:
    """Detections of one frame.

    frame: the frame that was detected (its image is what the boxes refer to).
    result: the detector's full result (every face ≥ the run threshold, per branch).
    faces: what to show: the faces ≥ ``track_min_score`` with smoothed boxes
        when tracking, else all of ``result.faces``.
    track_ids: one id per entry of ``faces`` when tracking, else ``None``.
    timings_ms: detector stages (``preprocess``, ``forward``, ``postprocess``) + ``track``.
    latency_ms: capture of the frame → result ready.
    """

    frame: Frame
    result: DetectionResult
    faces: list[Detection]
    track_ids: list[int] | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0

    def to_json(self) -> dict:
        """One JSON-lines record (see :mod:`core.detect.live.record`)."""
        faces = []
        for i, face in enumerate(self.faces):
            entry = face.to_json()
            if self.track_ids is not None:
                entry["track"] = self.track_ids[i]
            faces.append(entry)
        return {
            "frame": self.frame.index,
            "time_s": round(self.frame.timestamp_s, 4),
            "model": self.result.model,
            "width": self.result.image_size[0],
            "height": self.result.image_size[1],
            "ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "faces": faces,
        }


class LiveDetector:
    """Detector + optional tracker for one stream (not thread-safe: one frame at a time).

    run_min_score: the detector threshold (low, the display filters further).
    track_min_score: faces below it are neither tracked nor returned in
        ``faces`` when tracking (a tracker fed with noise makes noise tracks).
    """

    def __init__(
        self,
        detector: Detector,
        tracking: bool = False,
        run_min_score: float | None = None,
        track_min_score: float = DISPLAY_MIN_SCORE,
        tracker: IouTracker | None = None,
    ) -> None:
        self.detector = detector
        self.tracking = tracking
        self.run_min_score = run_min_score
        self.track_min_score = track_min_score
        self.tracker = tracker or IouTracker()
        self.rate = RateMeter()
        self.stages = StageTimes()

    def reset(self) -> None:
        """Forget tracks and rates (new source, or a seek)."""
        self.tracker.reset()
        self.rate.reset()
        self.stages.reset()

    def process(self, frame: Frame, track_min_score: float | None = None) -> LiveResult:
        result = self.detector.detect(frame.image, min_score=self.run_min_score)
        timings = dict(result.timings_ms)
        faces: list[Detection] = list(result.faces)
        ids: list[int] | None = None
        if self.tracking:
            start = time.perf_counter()
            threshold = self.track_min_score if track_min_score is None else track_min_score
            kept = [f for f in result.faces if f.score >= threshold]
            tracks: list[Track] = self.tracker.update(kept, frame.timestamp_s)
            faces = [t.detection for t in tracks]
            ids = [t.id for t in tracks]
            timings["track"] = (time.perf_counter() - start) * 1e3
        self.rate.tick()
        self.stages.add(timings)
        latency = (time.monotonic() - frame.captured_at) * 1e3
        return LiveResult(frame, result, faces, ids, timings, latency)


@dataclass
class LiveRun:
    """What :func:`run_live` measured."""

    results: list[LiveResult]
    frames_published: int
    frames_dropped: int
    capture_fps: float
    detect_fps: float
    wall_s: float
    events: list = field(default_factory=list)


def run_live(
    source: VideoSource,
    live: LiveDetector,
    stop: threading.Event | None = None,
    on_result: Callable[[LiveResult], None] | None = None,
    max_results: int | None = None,
    timeout_s: float | None = None,
) -> LiveRun:
    """Detect on the newest frame until the stream ends, ``stop`` is set, or limits are hit.

    Starts the source if needed; does not close it. Frames that arrive while a
    frame is being detected are skipped (the source keeps only the newest).
    """
    source.start()
    stop = stop or threading.Event()
    start = time.monotonic()
    results: list[LiveResult] = []
    events: list = []
    seq = 0
    while not stop.is_set():
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            break
        frame = source.wait_newer(seq, timeout=0.1)
        events.extend(source.poll_events())
        if frame is None:
            if source.state.value in ("ended", "failed", "closed"):
                break
            continue
        seq = frame.seq
        result = live.process(frame)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if max_results is not None and len(results) >= max_results:
            break
    wall = time.monotonic() - start
    events.extend(source.poll_events())
    captured = source.capture_rate.count
    return LiveRun(
        results,
        captured,
        source.frames_dropped,
        captured / wall if wall > 0 else 0.0,
        len(results) / wall if wall > 0 else 0.0,
        wall,
        events,
    )
