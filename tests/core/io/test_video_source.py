"""VideoSource: newest frame wins, pause / step / seek / play, end and failure events, pacing."""

from __future__ import annotations

import time

import pytest

from core.io.video.reader import CameraReader, NotSeekable
from core.io.video.source import SourceState, VideoSource
from tests.core.io.test_video import FakeCapture
from tests.core.unlock.videos import read_index, write_video


def _wait(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", frames=40, fps=25.0)


def test_newest_frame_wins_and_frames_are_dropped_not_queued(clip):
    with VideoSource(str(clip), realtime=False) as source:
        seen = []
        seq = 0
        while (frame := source.wait_newer(seq, timeout=5)) is not None:
            seq = frame.seq
            seen.append(frame.index)
            time.sleep(0.02)  # a slow consumer
        assert source.state == SourceState.ENDED
        events = source.poll_events()
    assert [e.kind for e in events] == ["ended"] and not events[0].truncated
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert len(seen) < 40 and source.frames_dropped == 40 - len(seen)
    assert source.frames_read == 40
    assert source.state == SourceState.CLOSED


def test_pause_step_seek_play(clip):
    source = VideoSource(str(clip), paused=True).start()
    try:
        _wait(lambda: source.latest() is not None)
        assert source.latest().index == 0 and source.state == SourceState.PAUSED
        time.sleep(0.15)
        assert source.latest().index == 0  # paused: nothing moves
        source.step()
        _wait(lambda: source.latest().index == 1)
        source.step(3)
        _wait(lambda: source.latest().index == 4)
        source.step(-2)
        _wait(lambda: source.latest().index == 2)
        source.seek(30)
        _wait(lambda: source.latest().index == 30)
        assert read_index(source.latest().image) == 30
        source.play()
        _wait(lambda: source.state == SourceState.ENDED)  # 10 frames at 25 fps
        assert source.latest().index == 39
        assert [e.kind for e in source.poll_events()] == ["ended"]
        source.seek(5)  # an ended file can be sought: paused on that frame
        _wait(lambda: source.latest().index == 5)
        assert source.state == SourceState.PAUSED
        source.play()
        _wait(lambda: source.latest().index > 8)
        source.pause()
        _wait(lambda: source.state == SourceState.PAUSED)
        held = source.latest().index
        time.sleep(0.15)
        assert source.latest().index <= held + 1  # at most the frame being read when paused
        seqs = source.latest().seq
        assert seqs > 8  # seq counts publications, not indices
    finally:
        source.close()


def test_realtime_pacing_follows_the_source_rate(clip):
    with VideoSource(str(clip)) as source:
        start = time.monotonic()
        _wait(lambda: source.state == SourceState.ENDED)
        elapsed = time.monotonic() - start
    # 40 frames at 25 fps = 1.56 s after the first; a loaded machine may only be late
    assert 1.3 < elapsed < 5.0


def test_lost_camera_is_an_event_not_a_crash():
    reader = CameraReader(0, capture_factory=lambda i: FakeCapture(good=5), max_failures=3)
    with VideoSource(reader) as source:
        _wait(lambda: source.state == SourceState.FAILED)
        events = source.poll_events()
        assert source.wait_newer(source.latest().seq, timeout=1) is None
        with pytest.raises(NotSeekable):
            source.seek(0)
    assert [e.kind for e in events] == ["error"] and "stopped delivering" in events[0].message
    assert source.latest().index == 4 and source.error is events[0].error


def test_loop_restarts_files(clip):
    with VideoSource(str(clip), realtime=False, loop=True) as source:
        _wait(lambda: source.frames_read > 60)
        assert source.state == SourceState.PLAYING and not source.poll_events()
