"""``python main.py wider-eval`` on a small eval_tools folder written by the tests."""

from __future__ import annotations

import json

import pytest
from matwriter import write_eval_tools

from core.cli import run_cli
from core.wider.predictions import prediction_path, write_prediction_file


@pytest.fixture
def case(tmp_path):
    gt = write_eval_tools(tmp_path / "ground_truth")
    pred = tmp_path / "pred"
    # face 1 of image a found (0.9), face 2 found late (0.2), image b's face found (0.6),
    # a false positive on the face-less image c (0.5)
    write_prediction_file(
        prediction_path(pred, "0--Parade", "0_Parade_a_1"),
        "0_Parade_a_1",
        [[10, 20, 30, 40, 0.9], [100, 100, 12, 14, 0.2]],
    )
    write_prediction_file(
        prediction_path(pred, "0--Parade", "0_Parade_b_2"), "0_Parade_b_2", [[5, 5, 50, 60, 0.6]]
    )
    write_prediction_file(
        prediction_path(pred, "1--Handshaking", "1_Handshaking_c_3"), "c", [[40, 40, 9, 9, 0.5]]
    )
    return gt, pred


def test_json_to_stdout(case, capsys):
    gt, pred = case
    assert run_cli(["wider-eval", "--pred", str(pred), "--gt", str(gt), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    # easy keeps only face 1 of image a: it is the top prediction -> AP 1
    assert data["easy"] == pytest.approx(1.0)
    # hard keeps 3 faces. Normalised scores 1, 4/7, 3/7, 0: hits at 1 and 4/7 (P 1, R 2/3),
    # the FP at 3/7 (P 2/3), the last face at 0 (P 3/4, R 1): AP = 2/3 * 1 + 1/3 * 3/4 = 0.9166...
    assert data["hard"] == pytest.approx(2 / 3 + 0.25)
    assert data["mode"] == "official" and len(data["curves"]["hard"]["recall"]) == 1000
    assert data["breakdown"]["hard"]["blur"]["clear"]["num_faces"] == 3
    assert data["missing_files"] == []


def test_summary_settings_and_mode(case, capsys, tmp_path):
    gt, pred = case
    out = tmp_path / "r.json"
    code = run_cli(
        [
            "wider-eval",
            "--pred",
            str(pred),
            "--gt",
            str(gt / "wider_face_val.mat"),
            "--setting",
            "hard",
            "--mode",
            "corrected",
            "--no-breakdown",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "corrected protocol" in text and "hard" in text and "easy" not in text
    assert set(json.loads(out.read_text())) >= {"hard", "curves", "breakdown"}


def test_missing_file_is_reported_and_malformed_file_is_an_error(case, capsys, caplog):
    gt, pred = case
    prediction_path(pred, "0--Parade", "0_Parade_b_2").unlink()
    assert run_cli(["wider-eval", "--pred", str(pred), "--gt", str(gt), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["missing_files"] == ["0--Parade/0_Parade_b_2"]
    bad = prediction_path(pred, "0--Parade", "0_Parade_b_2")
    bad.write_text("0_Parade_b_2\n2\n1 2 3 4 0.5\n")
    assert run_cli(["wider-eval", "--pred", str(pred), "--gt", str(gt)]) == 2
    assert "0_Parade_b_2.txt:4" in caplog.text
    assert run_cli(["wider-eval", "--pred", str(pred), "--gt", str(gt), "--lenient", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["dropped_files"][0].endswith("0_Parade_b_2.txt")
    assert run_cli(["wider-eval", "--pred", str(pred), "--gt", str(gt), "--setting", "nope"]) == 2
