"""Live pipeline on a synthetic video with the real CenterFace: detections, stable ids, recording, snapshots."""

from __future__ import annotations

import json

import pytest
import torch

from core.annotate.split import AnnotationSplit
from core.detect.live.loop import LiveDetector, run_live
from core.detect.live.record import SessionRecorder, save_snapshot
from core.detect.registry import create_detector
from core.io.video.source import VideoSource
from core.wider.labels import read_labels
from tests.core.unlock.videos import face_patch, face_position, read_index, write_video

FRAMES = 50


@pytest.fixture(scope="module")
def detector():
    detector = create_detector("centerface")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 1 thread is several times faster than 2 on a loaded 2-core machine
    yield detector
    torch.set_num_threads(threads)


def test_live_run_detects_most_frames_with_one_stable_track(tmp_path, detector):
    clip = write_video(tmp_path / "walk.avi", frames=FRAMES, fps=25.0)
    live = LiveDetector(detector, tracking=True)
    recording = tmp_path / "session.jsonl"
    with VideoSource(str(clip)) as source, SessionRecorder(recording, source="walk.avi") as recorder:
        run = run_live(source, live, on_result=recorder.write, timeout_s=25)
    results = run.results
    assert run.events and run.events[-1].kind == "ended"
    assert len(results) >= 8  # detection runs at its own rate; the source is never slowed down
    assert run.frames_published == FRAMES and run.frames_dropped == FRAMES - len(results)
    indices = [r.frame.index for r in results]
    assert indices == sorted(indices) and all(read_index(r.frame.image) == r.frame.index for r in results)
    with_face = [r for r in results if len(r.faces) == 1]
    assert len(with_face) >= 0.9 * len(results)
    assert {r.track_ids[0] for r in with_face} == {1}  # one face, one id, the whole way
    patch = face_patch(90)
    for r in with_face:  # the box is on the face patch that was drawn in that frame
        x, y = face_position(r.frame.index, FRAMES, (320, 240), patch)
        x1, y1, x2, y2 = r.faces[0].box
        assert x <= (x1 + x2) / 2 <= x + patch.shape[1] and y <= (y1 + y2) / 2 <= y + patch.shape[0]
        assert r.faces[0].branch in {"small", "medium"} and "forward" in r.timings_ms and r.latency_ms > 0
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert len(lines) == len(results) and recorder.lines == len(results)
    assert lines[0]["source"] == "walk.avi" and lines[0]["frame"] == results[0].frame.index
    assert lines[-1]["faces"][0]["track"] == 1 and set(lines[-1]["ms"]) >= {"forward", "track"}


def test_snapshots_build_a_wider_split_the_annotation_editor_opens(tmp_path, detector):
    clip = write_video(tmp_path / "snap.avi", frames=4)
    live = LiveDetector(detector)
    root = tmp_path / "split"
    with VideoSource(str(clip), realtime=False, paused=True) as source:
        frame = source.wait_newer(0, timeout=10)
        result = live.process(frame)
        first = save_snapshot(root, frame.image, result.faces, frame.name, min_score=0.5)
        again = save_snapshot(root, frame.image, result.faces, frame.name, min_score=0.5)
    assert first.image_path == root / "images" / "0--Live" / "snap_000000.jpg" and first.image_path.is_file()
    assert again.name == "0--Live/snap_000000_2.jpg" and first.faces == 1
    labels = read_labels(first.label_path)
    assert [i.name for i in labels] == [first.name, again.name]
    box = labels[0].faces[0]
    x1, y1, x2, y2 = next(f for f in result.faces if f.score >= 0.5).box
    assert (box.x, box.y, box.w, box.h) == pytest.approx((x1, y1, x2 - x1, y2 - y1), abs=0.06)
    split = AnnotationSplit.open_wider(first.label_path, root / "images")
    assert len(split) == 2 and split.face_count() == 2
    split.close()
