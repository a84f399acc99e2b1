"""Readers: files (MJPG, mp4v), image sequences, cameras (missing, lost), corrupt and truncated files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.io.video.reader import (
    CameraLost,
    CameraNotFound,
    CameraReader,
    ImageSequenceReader,
    NotSeekable,
    VideoFileReader,
    VideoOpenError,
    list_cameras,
    open_reader,
    parse_source,
)
from tests.core.unlock.videos import read_index, write_sequence, write_video


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_file_frames_indices_timestamps_and_seek(tmp_path, suffix):
    path = write_video(tmp_path / f"clip{suffix}", frames=20, fps=20.0)
    reader = open_reader(str(path))
    assert isinstance(reader, VideoFileReader) and reader.seekable
    assert reader.fps == pytest.approx(20.0) and reader.frame_count == 20 and reader.size == (320, 240)
    frames = []
    while (frame := reader.read()) is not None:
        frames.append(frame)
    assert [f.index for f in frames] == list(range(20))
    assert [read_index(f.image) for f in frames] == list(range(20))  # the pixels are that frame's
    assert frames[5].timestamp_s == pytest.approx(0.25) and frames[5].name == "clip_000005"
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (240, 320, 3)
    assert not reader.truncated
    for target in (13, 2, 19):
        reader.seek(target)
        frame = reader.read()
        assert frame.index == target and read_index(frame.image) == target
    reader.seek(500)  # clamped to the last frame
    assert reader.read().index == 19 and reader.read() is None
    reader.close()


def test_image_sequence_natural_order_seek_and_bad_frame(tmp_path):
    folder = write_sequence(tmp_path / "seq", frames=12)
    (folder / "frame_5.png").write_bytes(b"not a png")
    reader = open_reader(str(folder))
    assert isinstance(reader, ImageSequenceReader) and reader.frame_count == 12
    indices = []
    while (frame := reader.read()) is not None:
        indices.append(frame.index)
        assert read_index(frame.image) == frame.index
    assert indices == [i for i in range(12) if i != 5] and reader.skipped == 1
    reader.seek(10)
    assert reader.read().name == "frame_10"
    glob_reader = open_reader(str(folder / "frame_1*.png"))
    assert [p.name for p in glob_reader.paths] == ["frame_1.png", "frame_10.png", "frame_11.png"]
    with pytest.raises(VideoOpenError, match="No images"):
        ImageSequenceReader(str(tmp_path / "seq" / "*.jpg"))


def test_missing_corrupt_and_truncated_files(tmp_path):
    with pytest.raises(VideoOpenError, match="does not exist"):
        open_reader(str(tmp_path / "nope.mp4"))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(os.urandom(4000))
    with pytest.raises(VideoOpenError, match="not a video"):
        open_reader(str(junk))
    good = write_video(tmp_path / "good.avi", frames=30)
    data = good.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    reader = open_reader(str(cut))
    count = 0
    while reader.read() is not None:
        count += 1
    assert 5 < count < 30 and reader.truncated


def test_missing_camera_is_a_typed_error_naming_the_way_out():
    with pytest.raises(CameraNotFound, match="No camera at index 97.*video file"):
        open_reader("camera:97")
    assert isinstance(list_cameras(), list)


class FakeCapture:
    """A cv2.VideoCapture stand-in: ``good`` frames, then nothing (unplugged)."""

    def __init__(self, good: int, opened: bool = True) -> None:
        self.good, self.opened, self.reads = good, opened, 0

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def get(self, prop) -> float:
        return 30.0

    def set(self, prop, value) -> bool:
        return True

    def read(self):
        self.reads += 1
        if self.reads <= self.good:
            return True, np.full((48, 64, 3), self.reads, np.uint8)
        return False, None

    def release(self) -> None:
        self.opened = False


def test_camera_frames_then_lost():
    capture = FakeCapture(good=3)
    reader = CameraReader(0, capture_factory=lambda i: capture, max_failures=3)
    assert reader.kind == "camera" and not reader.seekable and reader.fps == 30.0
    frames = [reader.read() for _ in range(3)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[1].timestamp_s >= frames[0].timestamp_s
    with pytest.raises(NotSeekable):
        reader.seek(0)
    with pytest.raises(CameraLost, match="stopped delivering frames after 3"):
        reader.read()
    with pytest.raises(CameraNotFound):
        CameraReader(0, capture_factory=lambda i: FakeCapture(0, opened=False))


def test_parse_source(tmp_path):
    assert parse_source(0).kind == "camera" and parse_source("2").target == 2
    assert parse_source("camera:1").target == 1
    assert parse_source(str(tmp_path)).kind == "images"
    assert parse_source(str(tmp_path / "*.jpg")).kind == "images"
    assert parse_source(str(tmp_path / "a.mp4")).kind == "file"
