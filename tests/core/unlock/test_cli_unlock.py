"""``main.py unlock``: enrol + verify JSON schema, list/rename/delete, and clean failures (exit codes, no traceback)."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from core.cli import run_cli
from tests.core.unlock.unlock_videos import person_video

STAGES = {"detect", "landmarks", "embed", "match", "total"}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return {
        "enrol": person_video(root / "ann_enrol.avi", "ann", count=10, seed=1),
        "ann": person_video(root / "ann.avi", "ann", count=6, seed=4, brightness=0.85),
        "bea": person_video(root / "bea.avi", "bea", count=6, seed=2),
    }


@pytest.fixture(scope="module")
def store(videos, tmp_path_factory):
    folder = tmp_path_factory.mktemp("unlock") / "store"
    assert (
        run_cli(["unlock", "--video", str(videos["enrol"]), "--enroll", "Ann", "--store", str(folder)]) == 0
    )
    return folder


def verify(capsys, video, store, *extra) -> dict:
    capsys.readouterr()
    code = run_cli(
        ["unlock", "--video", str(video), "--verify", "--store", str(store), "--json", "-", *extra]
    )
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_enrol_writes_a_private_template(store):
    files = [p for p in store.iterdir() if p.suffix == ".fstpl"]
    assert len(files) == 1
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_verify_json_schema_and_decisions(capsys, videos, store):
    doc = verify(capsys, videos["ann"], store, "--far", "1e-3")
    assert {"decision", "user", "frames", "latency_ms", "first_decision_ms"} <= set(doc)
    assert doc["decision"] == "unlocked" and doc["user"] == "Ann"
    assert len(doc["frames"]) == 6 and doc["far"] == 1e-3
    for frame in doc["frames"]:
        assert {"score", "accepted", "ms"} <= set(frame) and set(frame["ms"]) == STAGES
        assert isinstance(frame["accepted"], bool) and isinstance(frame["score"], float)
        assert all(isinstance(v, float) for v in frame["ms"].values())
    assert (
        set(doc["latency_ms"]) == {"p50", "p95"} and doc["latency_ms"]["p95"] >= doc["latency_ms"]["p50"] > 0
    )
    assert doc["first_decision_ms"] > 0 and doc["first_decision_event"] == "unlocked"
    other = verify(capsys, videos["bea"], store)
    assert other["decision"] == "locked" and other["user"] is None
    assert not any(f["accepted"] for f in other["frames"])


def test_a_store_enrolled_with_another_stem_is_refused(caplog, videos, store):
    args = ["unlock", "--video", str(videos["ann"]), "--verify", "--store", str(store), "--stem", "faceres"]
    assert run_cli(args) == 2
    assert "was enrolled with faceapi_face_recognition@" in caplog.text and "faceres[" in caplog.text
    assert "enrol 'Ann' again" in caplog.text and "Traceback" not in caplog.text


def test_faceres_enrols_and_verifies_with_its_own_thresholds(capsys, caplog, videos, tmp_path):
    folder = tmp_path / "faceres_store"
    enrol = ["unlock", "--video", str(videos["enrol"]), "--enroll", "Ann", "--store", str(folder)]
    assert run_cli([*enrol, "--stem", "faceres"]) == 0
    doc = verify(capsys, videos["ann"], folder, "--stem", "faceres")
    assert doc["decision"] == "unlocked" and doc["user"] == "Ann" and 0.5 < doc["threshold"] < 0.8
    assert verify(capsys, videos["bea"], folder, "--stem", "faceres")["decision"] == "locked"
    # the default stem (face-api) refuses the faceres template
    assert run_cli(["unlock", "--video", str(videos["ann"]), "--verify", "--store", str(folder)]) == 2
    assert "was enrolled with faceres[1+1m+1.3+1.3m]@" in caplog.text


def test_list_rename_delete(capsys, videos, tmp_path):
    folder = tmp_path / "s"
    assert (
        run_cli(["unlock", "--video", str(videos["enrol"]), "--enroll", "Ann", "--store", str(folder)]) == 0
    )
    # a second enrolment under the same name is refused unless --overwrite
    assert (
        run_cli(["unlock", "--video", str(videos["enrol"]), "--enroll", "Ann", "--store", str(folder)]) == 2
    )
    capsys.readouterr()
    assert run_cli(["unlock", "--list", "--store", str(folder), "--json", "-"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [u["name"] for u in listing["users"]] == ["Ann"] and listing["users"][0]["frames"] == 5
    assert run_cli(["unlock", "--rename", "Ann", "Anna", "--store", str(folder)]) == 0
    assert run_cli(["unlock", "--delete", "Anna", "--store", str(folder)]) == 0
    assert run_cli(["unlock", "--delete", "Anna", "--store", str(folder)]) == 2
    capsys.readouterr()
    assert run_cli(["unlock", "--list", "--store", str(folder)]) == 0
    assert "no user enrolled" in capsys.readouterr().out


def test_tampered_template_is_refused(capsys, caplog, videos, store, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir(mode=0o700)
    for p in store.iterdir():
        shutil.copy2(p, copy / p.name)  # keeps 0600: a lax copy would be refused as insecure first
    tpl = next(p for p in copy.iterdir() if p.suffix == ".fstpl")
    doc = json.loads(tpl.read_text())
    doc["payload"]["created"] += 1.0
    tpl.write_text(json.dumps(doc))
    code = run_cli(["unlock", "--video", str(videos["ann"]), "--verify", "--store", str(copy)])
    assert code == 2
    assert "modified after it was saved" in caplog.text and "Traceback" not in caplog.text


def test_bad_inputs_exit_cleanly(caplog, tmp_path):
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(os.urandom(4096))
    store = str(tmp_path / "s")
    cases = [
        (["--video", str(corrupt), "--verify"], "Cannot open corrupt.avi"),
        (["--video", str(tmp_path / "missing.mp4"), "--enroll", "X"], "does not exist"),
        (["--video", "9", "--enroll", "X"], "No camera at index 9"),
        (["--video", str(corrupt), "--enroll", "X"], "Cannot open"),
    ]
    for args, message in cases:
        caplog.clear()
        assert run_cli(["unlock", *args, "--store", store]) == 2, args
        assert message in caplog.text and "Traceback" not in caplog.text
    caplog.clear()
    # verifying against an empty store says so
    empty = tmp_path / "empty.avi"
    person_video(empty, "bea", count=2)
    assert run_cli(["unlock", "--video", str(empty), "--verify", "--store", store]) == 2
    assert "No usable enrolled user" in caplog.text


def test_enrolment_with_too_few_good_frames(caplog, tmp_path):
    video = person_video(tmp_path / "far.avi", "ann", count=4, face_px=60)
    assert run_cli(["unlock", "--video", str(video), "--enroll", "X", "--store", str(tmp_path / "s")]) == 3
    assert "Video ended after 0 good frames of 5 needed, 4 frames checked" in caplog.text
    assert "Most frequent refusals: Face too small (4 frames)" in caplog.text
