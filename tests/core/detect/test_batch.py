"""Batch detection: inputs (folders, globs, videos), JSON lines, WIDER layout, resume after a kill, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from core.cli import run_cli
from core.detect.batch.inputs import expand_batch_inputs
from core.detect.batch.ledger import read_records, shard_path
from core.detect.batch.options import BatchOptions
from core.detect.batch.run import run_batch
from core.io.imageio import load_image
from core.progress import drain
from core.wider.predictions import read_prediction_file
from tests.core.unlock.videos import write_video

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "tests" / "data" / "faceapi_demo"
FAST = ["--max-side", "320", "--threads", "1"]


def make_inputs(folder: Path, images: int = 6, video_frames: int = 0) -> Path:
    """Small JPEG crops of the demo photos in ``folder/photos`` (+ a synthetic video)."""
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for i in range(images):
        image = load_image(DEMO / f"sample{i % 6 + 1}.jpg")
        small = cv2.resize(image, (320, round(320 * image.shape[0] / image.shape[1])))
        cv2.imwrite(str(photos / f"img{i + 1}.jpg"), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    if video_frames:
        write_video(photos / "walk.avi", frames=video_frames)
    return photos


def without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "ms"} for r in records]


def test_inputs_folders_recursive_globs_videos(tmp_path):
    for name in ["b/img10.jpg", "b/img2.jpg", "a.mp4", "b/c/deep.png", "notes.txt", ".hidden.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    flat = expand_batch_inputs([tmp_path])
    assert [(i.path.name, i.kind) for i in flat] == [("a.mp4", "video")]
    deep = expand_batch_inputs([tmp_path], recursive=True)
    assert [i.path.relative_to(tmp_path).as_posix() for i in deep] == [
        "a.mp4",
        "b/c/deep.png",
        "b/img2.jpg",
        "b/img10.jpg",
    ]
    globbed = expand_batch_inputs([f"{tmp_path}/**/img*.jpg", tmp_path / "b" / "img2.jpg"])
    assert [i.path.name for i in globbed] == ["img2.jpg", "img10.jpg"]  # natural order, no duplicate
    assert expand_batch_inputs([f"{tmp_path}/*.none"]) == []


def test_jsonl_records_for_images_and_video_frames_with_wider_files(tmp_path):
    photos = make_inputs(tmp_path, images=2, video_frames=6)
    out, wider = tmp_path / "out.jsonl", tmp_path / "wider"
    code = run_cli(
        ["detect", str(photos), "--jsonl", str(out), "--wider-out", str(wider), "--every", "2", *FAST]
    )
    assert code == 0 and not shard_path(out, 0).exists()
    records = read_records(out)
    kinds = [(Path(r["path"]).name, r["kind"], r["frame"]) for r in records]
    assert kinds == [
        ("img1.jpg", "image", None),
        ("img2.jpg", "image", None),
        ("walk.avi", "frame", 0),
        ("walk.avi", "frame", 2),
        ("walk.avi", "frame", 4),
        ("walk.avi", "video", None),
    ]
    frame = records[3]
    assert frame["time_s"] == pytest.approx(0.08) and (frame["width"], frame["height"]) == (320, 240)
    assert len([f for f in frame["faces"] if f["score"] > 0.5]) == 1 and frame["error"] is None
    assert set(frame["source"]) == {"size", "mtime_ns"}
    assert records[-1]["frames"] == 6 and records[-1]["error"] is None
    pred = read_prediction_file(wider / "walk" / "walk_000002.txt")
    assert len(pred.rows) == len(frame["faces"])
    assert (wider / "photos" / "img1.txt").is_file()


def test_rerun_skips_unchanged_inputs_and_redoes_changed_ones(tmp_path):
    photos = make_inputs(tmp_path, images=3)
    out = tmp_path / "out.jsonl"
    args = ["detect", str(photos), "--jsonl", str(out), *FAST]
    assert run_cli(args) == 0
    first = out.read_text()
    job = run_batch(expand_batch_inputs([photos]), BatchOptions(jsonl=out, max_side=320))
    summary = drain(job)
    assert summary.processed == 0 and summary.skipped == 3 and out.read_text() == first
    target = photos / "img2.jpg"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    summary = drain(
        run_batch(expand_batch_inputs([photos]), BatchOptions(jsonl=out, max_side=320, verify="stat"))
    )
    assert summary.processed == 1 and summary.skipped == 2
    # content hashes: a touched file is still the same file
    assert run_cli([*args, "--verify", "hash", "--no-resume"]) == 0
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    summary = drain(
        run_batch(expand_batch_inputs([photos]), BatchOptions(jsonl=out, max_side=320, verify="hash"))
    )
    assert summary.processed == 0 and summary.skipped == 3


def test_killed_run_resumes_to_the_same_output(tmp_path):
    photos = make_inputs(tmp_path, images=4, video_frames=60)
    fresh = tmp_path / "fresh.jsonl"
    assert run_cli(["detect", str(photos), "--jsonl", str(fresh), *FAST]) == 0
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "FACESCOPE_DEVICE": "cpu"}
    cmd = [sys.executable, str(ROOT / "main.py"), "detect", str(photos), "--jsonl", str(out), *FAST]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shard = shard_path(out, 0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if shard.exists() and shard.read_text().count("\n") >= 8:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with shard.open("a") as handle:
        handle.write('{"path": "torn line of a killed wri')  # what a kill during a write leaves
    written = len(read_records(shard))
    assert 8 <= written < 64 and not out.exists()
    job = run_batch(expand_batch_inputs([photos]), BatchOptions(jsonl=out, max_side=320))
    summary = drain(job)
    assert summary.skipped == written and summary.processed == 64 - written
    assert without_timing(read_records(out)) == without_timing(read_records(fresh))
    assert not shard.exists()


def test_interrupted_generator_keeps_its_work_and_failures_are_summarised(tmp_path, capsys):
    photos = make_inputs(tmp_path, images=3)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    data = write_video(photos / "cut.avi", frames=20).read_bytes()
    (photos / "cut.avi").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.jsonl"
    job = run_batch(expand_batch_inputs([photos]), BatchOptions(jsonl=out, max_side=320))
    progress = [next(job) for _ in range(3)]  # start + 2 units
    job.close()  # what a cancelled GUI job does
    assert progress[-1].done == 2 and progress[-1].total == 4 + 20
    kept = read_records(out)  # merged at once: the output holds what was done
    assert [(Path(r["path"]).name, r["frame"]) for r in kept] == [("broken.jpg", None), ("cut.avi", 0)]
    assert kept[0]["error"] and kept[1]["error"] is None
    code = run_cli(["detect", str(photos), "--jsonl", str(out), *FAST])
    assert code == 1
    err = capsys.readouterr().err
    assert "13 detected (" in err and "1 skipped (already written), 2 failed" in err  # the failure is retried
    assert "broken.jpg:" in err and "truncated or corrupt" in err
    records = read_records(out)
    video = [r for r in records if r["kind"] == "video"][0]
    frames = [r for r in records if r["kind"] == "frame"]
    assert video["error"] and 0 < len(frames) < 20
