"""Prediction files: official layout, tolerant reading, errors naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from core.wider.predictions import (
    PredictionFormatError,
    image_key,
    image_stem,
    parse_prediction_text,
    prediction_path,
    read_prediction_file,
    read_submission,
    rows_from_xyxy,
    write_prediction_file,
    write_submission,
)


def test_prediction_path_and_keys(tmp_path):
    assert (
        prediction_path(tmp_path, "0--Parade", "0--Parade/0_Parade_a_1.jpg")
        == tmp_path / "0--Parade" / "0_Parade_a_1.txt"
    )
    assert (
        prediction_path(tmp_path, "0--Parade", "0_Parade_a_1") == tmp_path / "0--Parade" / "0_Parade_a_1.txt"
    )
    assert image_stem("x/y/img.v2") == "img.v2"
    assert image_key("1--Handshaking", "1_Handshaking_b_2.jpg") == "1--Handshaking/1_Handshaking_b_2"


def test_write_then_read_round_trip(tmp_path):
    rows = np.array([[10.5, 20, 30, 40, 0.9], [1, 2, 3, 4, 0.25]], dtype=np.float32)
    path = write_prediction_file(prediction_path(tmp_path, "e", "img"), "img", rows)
    text = path.read_text()
    assert text == "img\n2\n10.5 20 30 40 0.9\n1 2 3 4 0.25\n"
    back = read_prediction_file(path)
    assert back.name_line == "img"
    np.testing.assert_allclose(back.rows, rows.astype(np.float64), rtol=1e-7)
    assert not list(tmp_path.rglob("*.tmp")), "atomic write left a temporary file"


def test_write_rejects_bad_rows(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        write_prediction_file(tmp_path / "a.txt", "a", [[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="NaN"):
        write_prediction_file(tmp_path / "a.txt", "a", [[1, 2, 3, 4, float("nan")]])


def test_zero_rows_and_empty_file(tmp_path):
    path = write_prediction_file(tmp_path / "e" / "a.txt", "a", np.zeros((0, 5)))
    assert path.read_text() == "a\n0\n"
    assert read_prediction_file(path).rows.shape == (0, 5)
    empty = tmp_path / "e" / "b.txt"
    empty.write_bytes(b"")
    assert read_prediction_file(empty).rows.shape == (0, 5)


def test_tolerant_layout():
    text = "img.jpg \r\n2  \r\n1,2,3,4,0.5\r\n5 6 7 8 0.7 99\t\r\n\r\n\n"
    parsed = parse_prediction_text(text)
    np.testing.assert_array_equal(parsed.rows, [[1, 2, 3, 4, 0.5], [5, 6, 7, 8, 0.7]])


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("a\n", 2, "missing the count"),
        ("a\nx\n", 2, "one integer"),
        ("a\n2.5\n", 2, "non-negative integer"),
        ("a\n-1\n", 2, "non-negative integer"),
        ("a\n2\n1 2 3 4 0.5\n", 4, "truncated"),
        ("a\n1\n1 2 3 4 0.5\n1 2 3 4 0.5\n", 4, "more lines follow"),
        ("a\n2\n1 2 3 4 0.5\n1 2 3 zz 0.5\n", 4, "non-numeric"),
        ("a\n1\n1 2 3 4\n", 3, "expected 5 numbers"),
        ("a\n1\n1 2 3 4 nan\n", 3, "NaN"),
    ],
)
def test_malformed_names_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(PredictionFormatError, match=what) as info:
        read_prediction_file(path)
    assert info.value.line == line
    assert info.value.path == str(path)
    assert f"bad.txt:{line}" in str(info.value)


def test_read_submission_missing_unexpected_dropped(tmp_path):
    write_submission(tmp_path, {"e1/a": [[1, 2, 3, 4, 0.5]], "e1/stray": []})
    (tmp_path / "e2").mkdir()
    (tmp_path / "e2" / "bad.txt").write_text("bad\n3\n1 2 3 4 0.5\n")
    expected = ["e1/a", "e1/gone", "e2/bad"]
    with pytest.raises(PredictionFormatError, match="truncated"):
        read_submission(tmp_path, expected)
    sub = read_submission(tmp_path, expected, on_error="official")
    assert sub.missing == ["e1/gone"]
    assert [p.name for p in sub.unexpected] == ["stray.txt"]
    assert [d.path.name for d in sub.dropped] == ["bad.txt"]
    assert sub.rows("e2/bad").shape == (0, 5)
    assert sub.rows("e1/gone").shape == (0, 5)
    assert sub.num_detections == 1


def test_rows_from_xyxy():
    rows = rows_from_xyxy(np.array([[10, 20, 40, 60]]), np.array([0.8]))
    np.testing.assert_array_equal(rows, [[10, 20, 30, 40, 0.8]])
