"""Video input: frames, typed errors, and the synchronous readers behind every video source.

A *reader* turns one source into a stream of :class:`Frame` objects, on the
calling thread, one frame per :meth:`FrameReader.read`:

* :class:`CameraReader`: a camera by index (OpenCV ``VideoCapture``);
  :func:`list_cameras` names the devices present.
* :class:`VideoFileReader`: a video file (whatever OpenCV's FFmpeg can decode).
* :class:`ImageSequenceReader`: a folder of images (natural order) or a glob
  pattern, decoded with :func:`core.io.imageio.load_image`.

``read()`` returns ``None`` at the end of the stream and raises a
:class:`VideoError` subclass for everything else (no camera, a camera that
disappears, a file that is not a video), never a bare OpenCV failure. The
batch CLI reads every frame through a reader; the live view and the unlock
demo wrap a reader in :class:`core.io.video.source.VideoSource`, which
reads in its own thread and keeps only the newest frame.

Frames are RGB ``uint8`` ``(H, W, 3)`` like every image in FaceScope (OpenCV's
BGR is converted here, once).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from core.errors import UserError
from core.io.files import glob_files, has_glob, list_images, natural_key
from core.io.imageio import ImageLoadError, load_image

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
DEFAULT_FPS = 25.0  # image sequences, and files whose container states no rate
# A camera that returns this many failed reads in a row (about a second) is gone.
CAMERA_MAX_FAILURES = 20
CAMERA_RETRY_S = 0.05


# --- errors ------------------------------------------------------------------
class VideoError(UserError):
    """Any problem with a video source; ``str(exc)`` is a sentence fit for the user."""


class CameraNotFound(VideoError):
    """No camera at that index (none plugged in, or busy in another program)."""


class CameraLost(VideoError):
    """The camera stopped delivering frames mid-stream (unplugged, taken by another program)."""


class VideoOpenError(VideoError):
    """A file or sequence that cannot be read as video (missing, not a video, corrupt, empty)."""


class NotSeekable(VideoError):
    """Seek or step backwards on a live camera."""


# --- data --------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One frame of a source.

    image: RGB uint8 ``(H, W, 3)``.
    index: 0-based position in the file or sequence; for a camera, the number
        of frames read since it was opened.
    timestamp_s: media time (``index / fps``) for files and sequences; seconds
        since the camera was opened for cameras.
    captured_at: ``time.monotonic()`` when the reader produced the frame
        (latency = result time - captured_at).
    seq: publication number given by :class:`~core.io.video.source.VideoSource`
        (strictly increasing, even when a seek revisits an index); 0 from a bare reader.
    name: a short label for file names and records (``"clip_000042"``, ``"img_0007"``).
    """

    image: np.ndarray
    index: int
    timestamp_s: float
    captured_at: float
    seq: int = 0
    name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class CameraInfo:
    """A capture device: OpenCV index, human name, device node (or ``""``)."""

    index: int
    name: str
    path: str = ""

    def __str__(self) -> str:
        return f"Camera {self.index}: {self.name}"


@dataclass(frozen=True)
class SourceSpec:
    """What to open. kind: ``"camera"`` (target = index), ``"file"`` or ``"images"`` (folder or glob)."""

    kind: str
    target: int | str

    def __str__(self) -> str:
        return f"camera {self.target}" if self.kind == "camera" else str(self.target)


class FrameReader(Protocol):
    """A synchronous frame stream (see the module docstring)."""

    kind: str  # "camera" | "file" | "images"
    description: str
    fps: float  # nominal rate (files: container's, sequences: given, cameras: driver's or 30)
    frame_count: int | None  # None when unknown (cameras, some containers)
    seekable: bool

    def read(self) -> Frame | None: ...

    def seek(self, index: int) -> None: ...

    def close(self) -> None: ...


# --- source resolution -----------------------------------------------------------
def is_video_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def parse_source(text: str | int | os.PathLike) -> SourceSpec:
    """``3`` / ``"3"`` / ``"camera:3"`` → camera 3; a folder or a glob → image sequence; else a file."""
    if isinstance(text, int):
        return SourceSpec("camera", text)
    raw = str(text)
    if raw.isdigit():
        return SourceSpec("camera", int(raw))
    if raw.startswith("camera:") and raw[7:].isdigit():
        return SourceSpec("camera", int(raw[7:]))
    if Path(raw).is_dir() or (has_glob(raw) and not Path(raw).exists()):
        return SourceSpec("images", raw)
    return SourceSpec("file", raw)


def open_reader(source: SourceSpec | str | int | os.PathLike, **kwargs: Any) -> FrameReader:
    """Open a reader for a spec or a source text (see :func:`parse_source`); raises :class:`VideoError`."""
    spec = source if isinstance(source, SourceSpec) else parse_source(source)
    if spec.kind == "camera":
        return CameraReader(int(spec.target), **kwargs)
    if spec.kind == "images":
        return ImageSequenceReader(str(spec.target), **kwargs)
    return VideoFileReader(str(spec.target), **kwargs)


def list_cameras(max_probe: int = 4) -> list[CameraInfo]:
    """Capture devices present. Linux: from ``/sys/class/video4linux`` (no device is opened);
    elsewhere: indices ``0..max_probe-1`` that OpenCV can open."""
    if sys.platform.startswith("linux"):
        # no video4linux class at all = no capture device (probing would only print OpenCV errors)
        sysfs = Path("/sys/class/video4linux")
        found = []
        entries = sorted(sysfs.glob("video*"), key=lambda p: natural_key(p.name)) if sysfs.is_dir() else []
        for entry in entries:
            # UVC cameras expose a capture node (index 0) and a metadata node (index 1)
            if _read_text(entry / "index", "0") != "0":
                continue
            number = entry.name[len("video") :]
            if number.isdigit():
                found.append(
                    CameraInfo(int(number), _read_text(entry / "name", entry.name), f"/dev/{entry.name}")
                )
        return found
    found = []
    for index in range(max_probe):
        capture = cv2.VideoCapture(index)
        try:
            if capture.isOpened():
                found.append(CameraInfo(index, f"camera {index}"))
        finally:
            capture.release()
    return found


def _read_text(path: Path, default: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or default
    except OSError:
        return default


def _rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# --- readers -------------------------------------------------------------------
class CameraReader:
    """A camera by OpenCV index.

    capture_factory: ``index -> cv2.VideoCapture``-like object (tests pass a fake).
    Raises :class:`CameraNotFound` when the device cannot be opened and
    :class:`CameraLost` from :meth:`read` after ``max_failures`` failed reads in a row.
    """

    kind = "camera"
    seekable = False
    frame_count = None

    def __init__(
        self,
        index: int,
        capture_factory: Callable[[int], Any] | None = None,
        max_failures: int = CAMERA_MAX_FAILURES,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.index = int(index)
        self.description = f"camera {self.index}"
        self.max_failures = max_failures
        factory = capture_factory or cv2.VideoCapture
        self._capture = factory(self.index)
        if self._capture is None or not self._capture.isOpened():
            if self._capture is not None:
                self._capture.release()
            names = ", ".join(str(c.index) for c in list_cameras()) or "none found"
            raise CameraNotFound(
                f"No camera at index {self.index} (available: {names}). Open a video file instead."
            )
        if size is not None:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        rate = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = rate if math.isfinite(rate) and 1.0 <= rate <= 240.0 else 30.0
        self._opened_at = time.monotonic()
        self._count = 0

    def read(self) -> Frame | None:
        failures = 0
        while True:
            ok, bgr = self._capture.read()
            if ok and bgr is not None and bgr.size:
                break
            failures += 1
            if failures >= self.max_failures:
                raise CameraLost(
                    f"Camera {self.index} stopped delivering frames after {self._count} frames "
                    "(unplugged or taken by another program)."
                )
            time.sleep(CAMERA_RETRY_S)
        now = time.monotonic()
        frame = Frame(
            _rgb(bgr), self._count, now - self._opened_at, now, name=f"camera{self.index}_{self._count:06d}"
        )
        self._count += 1
        return frame

    def seek(self, index: int) -> None:
        raise NotSeekable("A live camera cannot seek.")

    def close(self) -> None:
        self._capture.release()


class VideoFileReader:
    """A video file decoded by OpenCV (FFmpeg). Frame ``i`` has ``timestamp_s = i / fps``.

    Raises :class:`VideoOpenError` for a missing file, a file OpenCV cannot
    open, or one whose first frame does not decode. A stream that stops before
    the frame count its container announced sets :attr:`truncated` (the end is
    then reported as a truncated/corrupt video, not a normal end).
    """

    kind = "file"
    seekable = True

    def __init__(self, path: str | os.PathLike, capture_factory: Callable[[str], Any] | None = None) -> None:
        self.path = Path(path)
        self.description = self.path.name
        if not self.path.is_file():
            raise VideoOpenError(f"Video file {self.path} does not exist.")
        factory = capture_factory or (lambda p: cv2.VideoCapture(p, cv2.CAP_FFMPEG))
        self._capture = factory(str(self.path))
        if not self._capture.isOpened():
            self._capture.release()
            raise VideoOpenError(
                f"Cannot open {self.path.name}: not a video, or a codec this build cannot decode."
            )
        rate = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = rate if math.isfinite(rate) and 0.5 <= rate <= 1000.0 else DEFAULT_FPS
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count: int | None = count if count > 0 else None
        self.truncated = False
        self._next = 0
        ok, bgr = self._capture.read()
        if not ok or bgr is None or not bgr.size:
            self._capture.release()
            raise VideoOpenError(f"{self.path.name} has no decodable frame (corrupt or empty video).")
        self._pending: np.ndarray | None = bgr
        self.size = (int(bgr.shape[1]), int(bgr.shape[0]))

    def read(self) -> Frame | None:
        if self._pending is not None:
            bgr, self._pending = self._pending, None
        else:
            ok, bgr = self._capture.read()
            if not ok or bgr is None or not bgr.size:
                # a frame count a few frames off is common in containers; far off means a cut file
                if self.frame_count is not None and self._next < self.frame_count - 1:
                    self.truncated = True
                    log.warning("%s ended at frame %d of %d", self.path, self._next, self.frame_count)
                return None
        index = self._next
        self._next += 1
        return Frame(
            _rgb(bgr), index, index / self.fps, time.monotonic(), name=f"{self.path.stem}_{index:06d}"
        )

    def seek(self, index: int) -> None:
        last = (self.frame_count - 1) if self.frame_count else None
        index = max(0, int(index) if last is None else min(int(index), last))
        self._pending = None
        self.truncated = False
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    @property
    def position(self) -> int:
        """Index of the next frame :meth:`read` returns."""
        return self._next

    def close(self) -> None:
        self._capture.release()


class ImageSequenceReader:
    """Images of a folder (natural order) or of a glob pattern, played as frames.

    A file that fails to decode is skipped with a warning (counted in
    :attr:`skipped`); the frame index keeps the file's position in the list.
    """

    kind = "images"
    seekable = True

    def __init__(
        self,
        source: str | os.PathLike | Sequence[str | os.PathLike],
        fps: float = DEFAULT_FPS,
        recursive: bool = False,
    ) -> None:
        if isinstance(source, (str, os.PathLike)):
            text = str(source)
            if Path(text).is_dir():
                paths = list_images(text, recursive)
            elif has_glob(text):
                paths = glob_files(text)
            else:
                raise VideoOpenError(f"{text} is neither a folder nor a glob pattern of images.")
            self.description = Path(text).name or text
        else:
            paths = [Path(p) for p in source]
            self.description = f"{len(paths)} images"
        if not paths:
            raise VideoOpenError(f"No images in {source}.")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.paths: list[Path] = paths
        self.fps = float(fps)
        self.frame_count: int | None = len(paths)
        self.skipped = 0
        self._next = 0

    def read(self) -> Frame | None:
        while self._next < len(self.paths):
            index = self._next
            self._next += 1
            path = self.paths[index]
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                self.skipped += 1
                log.warning("image sequence: skipping %s: %s", path, exc.reason)
                continue
            return Frame(image, index, index / self.fps, time.monotonic(), name=path.stem)
        return None

    def seek(self, index: int) -> None:
        self._next = max(0, min(int(index), len(self.paths) - 1))

    @property
    def position(self) -> int:
        return self._next

    def close(self) -> None:
        pass
