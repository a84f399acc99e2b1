"""Hostile or broken WIDER files: a byte-order mark, absurd boxes, names that climb out, empty ground truth, caps."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from core.cli import run_cli
from core.io.bounded import InputFileError
from core.wider.errors import WiderFormatError
from core.wider.groundtruth import load_ground_truth
from core.wider.labels import read_label_arrays
from core.wider.predictions import prediction_path, read_submission, write_prediction_file

LABELS = "0--Parade/0_Parade_a_1.jpg\n1\n10 20 30 40 0 0 0 0 0 0 \n"


def test_a_byte_order_mark_does_not_rename_the_first_image(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_bytes(b"\xef\xbb\xbf" + LABELS.encode())
    assert read_label_arrays(path).names == ("0--Parade/0_Parade_a_1.jpg",)


@pytest.mark.parametrize("value", ["1e308", "-250000", "100001"])
def test_absurd_box_values_are_refused_with_file_and_line(tmp_path, value):
    path = tmp_path / "labels.txt"
    path.write_text(f"0--Parade/a.jpg\n2\n1 1 5 5 0 0 0 0 0 0 \n10 20 {value} 40 0 0 0 0 0 0 \n")
    with pytest.raises(WiderFormatError, match=rf"labels\.txt:4: box value '{value}' is beyond"):
        read_label_arrays(path)


def test_zero_or_negative_sizes_are_read_and_named(tmp_path, caplog):
    # the official val labels hold such boxes (e.g. "1026 474 -2 23"), so they must stay readable
    path = tmp_path / "labels.txt"
    path.write_text("0--Parade/a.jpg\n2\n1 1 5 5 0 0 0 0 0 0 \n1026 474 -2 23 2 0 0 0 2 0 \n")
    with caplog.at_level(logging.WARNING):
        arrays = read_label_arrays(path)
    assert arrays.boxes.shape == (2, 4)
    assert "labels.txt:4: 1 face(s) with zero or negative width or height" in caplog.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../../etc/passwd.jpg", "climbs out"), ("/etc/a.jpg", "absolute"), ("C:\\x\\a.jpg", "absolute")],
)
def test_image_names_outside_the_images_folder_are_refused(tmp_path, name, reason):
    path = tmp_path / "labels.txt"
    path.write_text(LABELS + f"{name}\n0\n")
    with pytest.raises(WiderFormatError, match=rf"labels\.txt:4: .*{reason}"):
        read_label_arrays(path)


def test_an_empty_ground_truth_is_a_clear_error(tmp_path, caplog):
    empty = tmp_path / "empty_bbx_gt.txt"
    empty.write_text("")
    with pytest.raises(WiderFormatError, match="holds no images"):
        load_ground_truth(empty)
    (tmp_path / "pred").mkdir()
    with caplog.at_level(logging.ERROR):
        assert run_cli(["wider-eval", "--pred", str(tmp_path / "pred"), "--gt", str(empty)]) == 2
    assert "holds no images" in caplog.text


def test_a_device_as_ground_truth_is_refused(tmp_path):
    link = tmp_path / "gt.txt"
    link.symlink_to("/dev/zero")
    with pytest.raises(WiderFormatError, match="character device"):
        load_ground_truth(link)


def _submission(tmp_path):
    pred = tmp_path / "pred"
    write_prediction_file(
        prediction_path(pred, "0--Parade", "0_Parade_a_1"), "0_Parade_a_1", [[10, 20, 30, 40, 0.9]]
    )
    return pred, prediction_path(pred, "0--Parade", "0_Parade_a_1")


def test_an_oversized_prediction_file_is_refused_in_every_mode(tmp_path):
    pred, path = _submission(tmp_path)
    with open(path, "r+b") as handle:
        handle.truncate(64 * 1024**2)  # sparse
    for on_error in ("raise", "official"):
        with pytest.raises(InputFileError, match="--max-prediction-mb"):
            read_submission(pred, ["0--Parade/0_Parade_a_1"], on_error=on_error)
    gt = tmp_path / "gt_bbx_gt.txt"
    gt.write_text(LABELS)
    args = ["wider-eval", "--pred", str(pred), "--gt", str(gt)]
    assert run_cli(args) == 2
    os.truncate(path, 0)
    write_prediction_file(path, "0_Parade_a_1", [[10, 20, 30, 40, 0.9], [1, 1, 3, 3, 0.1]])
    assert run_cli([*args, "--max-prediction-mb", "0.00001"]) == 2
    assert run_cli(args) == 0


def test_a_fifo_prediction_file_does_not_hang(tmp_path):
    pred, path = _submission(tmp_path)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(InputFileError, match="FIFO"):
        read_submission(pred, ["0--Parade/0_Parade_a_1"], on_error="official")


def test_label_arrays_still_parse_official_rows():
    from core.wider.labels import parse_label_arrays

    arrays = parse_label_arrays("\ufeff" + LABELS)
    assert arrays.names == ("0--Parade/0_Parade_a_1.jpg",)
    np.testing.assert_array_equal(arrays.boxes, [[10, 20, 30, 40]])
