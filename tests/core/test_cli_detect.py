"""``main.py detect``: JSON schema, exit codes, bad files, folders, WIDER submission layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.cli import run_cli
from core.wider.predictions import read_prediction_file

DEMO = Path(__file__).resolve().parents[1] / "data" / "faceapi_demo"
FAST = ["--max-side", "480"]  # the demo photos are 1920 px wide; keep the test quick


def _run_json(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "out.json"
    code = run_cli(["detect", *args, "--json", str(out)])
    return code, json.loads(out.read_text(encoding="utf-8"))


def test_folder_gives_one_entry_per_image_with_the_documented_schema(tmp_path):
    code, doc = _run_json(tmp_path, str(DEMO), *FAST)
    assert code == 0
    assert doc["model"] == "centerface"
    assert [Path(e["path"]).name for e in doc["images"]] == [f"sample{i}.jpg" for i in range(1, 7)]
    for entry in doc["images"]:
        assert set(entry) == {"path", "width", "height", "ms", "faces", "error"}
        assert entry["error"] is None and entry["width"] == 1920 and entry["height"] > 1000
        assert isinstance(entry["ms"], float) and entry["ms"] > 0
        assert len(entry["faces"]) >= 3  # every demo photo shows 3-5 people
        for face in entry["faces"]:
            assert set(face) == {"box", "score", "branch", "landmarks"}
            x1, y1, x2, y2 = face["box"]
            assert 0 <= x1 < x2 <= entry["width"] and 0 <= y1 < y2 <= entry["height"]
            assert 0.0 < face["score"] <= 1.0
            assert face["branch"] in {"small", "medium", "large"}
            assert len(face["landmarks"]) == 5 and all(len(p) == 2 for p in face["landmarks"])


def test_corrupt_file_gets_an_error_the_batch_goes_on_and_wider_layout(tmp_path):
    event = tmp_path / "images" / "0--Parade"
    event.mkdir(parents=True)
    shutil.copy(DEMO / "sample1.jpg", event / "good_one.jpg")
    (event / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (event / "notes.txt").write_text("not an image, skipped by suffix")
    wider = tmp_path / "wider"
    code, doc = _run_json(tmp_path, str(event), "--wider-out", str(wider), *FAST)
    assert code == 1
    by_name = {Path(e["path"]).name: e for e in doc["images"]}
    assert set(by_name) == {"good_one.jpg", "broken.jpg"}
    bad = by_name["broken.jpg"]
    assert isinstance(bad["error"], str) and bad["error"] and bad["faces"] == [] and bad["width"] is None
    good = by_name["good_one.jpg"]
    assert good["error"] is None and len(good["faces"]) == 3

    pred = wider / "0--Parade" / "good_one.txt"
    lines = pred.read_text().splitlines()
    assert lines[0] == "good_one" and lines[1] == "3" and len(lines) == 5
    parsed = read_prediction_file(pred)
    for row, face in zip(parsed.rows, good["faces"], strict=True):
        x1, y1, x2, y2 = face["box"]
        assert row[:4] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=0.01)
        assert row[4] == pytest.approx(face["score"], abs=1e-5)
    assert not (wider / "0--Parade" / "broken.txt").exists()


def test_json_to_stdout_and_min_score(tmp_path, capsys):
    code = run_cli(["detect", str(DEMO / "sample2.jpg"), "--json", "-", "--min-score", "0.9", *FAST])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["images"]) == 1
    assert all(f["score"] > 0.9 for f in doc["images"][0]["faces"])


def test_missing_file_is_a_file_error_not_a_usage_error(tmp_path):
    code, doc = _run_json(tmp_path, str(tmp_path / "nope.jpg"), str(DEMO / "sample3.jpg"), *FAST)
    assert code == 1
    assert "does not exist" in doc["images"][0]["error"]
    assert doc["images"][1]["error"] is None


def test_recursive_descends_into_subfolders(tmp_path):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(DEMO / "sample4.jpg", nested / "x.jpg")
    assert run_cli(["detect", str(tmp_path / "a"), *FAST]) == 2  # nothing at the top level
    code, doc = _run_json(tmp_path, str(tmp_path / "a"), "--recursive", *FAST)
    assert code == 0 and [Path(e["path"]).name for e in doc["images"]] == ["x.jpg"]


@pytest.mark.parametrize(
    "args",
    [
        ["--min-score", "1.5"],
        ["--max-side", "0"],
        ["--max-side", "100000"],  # a 9000 px image at full size reached 7.9 GB
    ],
)
def test_bad_option_values_are_usage_errors(args):
    assert run_cli(["detect", str(DEMO / "sample1.jpg"), *args]) == 2


def test_min_face_and_int8_run_and_find_the_large_faces(tmp_path):
    # the demo photo's faces are ~200 px tall: asking for faces >= 128 px shrinks it to a quarter
    code, doc = _run_json(tmp_path, str(DEMO / "sample1.jpg"), "--min-face", "128", "--precision", "int8")
    assert code == 0
    faces = [f for f in doc["images"][0]["faces"] if f["score"] >= 0.5]
    assert len(faces) >= 3 and all(f["box"][3] - f["box"][1] >= 128 for f in faces)


def test_min_face_and_precision_reach_the_detector():
    from core.detect.batch.options import BatchOptions
    from core.detect.batch.run import build_detector

    detector = build_detector(BatchOptions(min_face=128, precision="int8"), device="cpu")
    assert detector.precision == "int8" and detector.working_size(1280, 960).width == 320


@pytest.mark.parametrize(
    "args",
    [
        ["--min-face", "0"],
        ["--model", "ssd", "--min-face", "40"],  # a fixed-input network: nothing to shrink
        ["--model", "tiny", "--precision", "int8"],
        ["--mode", "accurate", "--min-face", "40"],  # the accurate mode chooses its own scales
    ],
)
def test_fast_path_options_a_detector_cannot_take_are_usage_errors(args, capsys):
    assert run_cli(["detect", str(DEMO / "sample1.jpg"), *args]) == 2
    assert "detect: error:" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--model", "nope"], ["--min-score", "abc"], ["--precision", "int4"], []])
def test_argparse_usage_errors_exit_2(args):
    with pytest.raises(SystemExit) as info:
        run_cli(["detect", *args] if args else ["detect"])
    assert info.value.code == 2


def test_summary_lines_without_json(capsys):
    assert run_cli(["detect", str(DEMO / "sample5.jpg"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "sample5.jpg: " in out and "faces" in out
