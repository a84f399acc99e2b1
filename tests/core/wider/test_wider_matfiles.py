"""MAT v5 reader and eval_tools ground truth, on small files written here (and the real ones when present)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matwriter import Cell, Stored, write_eval_tools, write_mat

from core.paths import SHARED_DIR
from core.wider.groundtruth import from_eval_tools, from_labels, load_ground_truth
from core.wider.matfiles import load_eval_tools, read_keep_json, write_keep_json
from core.wider.matv5 import MatFormatError, load_mat

GT_DIR = SHARED_DIR / "data" / "wider_val_gt" / "eval_tools_ground_truth"
VAL_TXT = SHARED_DIR / "data" / "wider_val_gt" / "wider_face_val_bbx_gt.txt"
KEEP_JSON = SHARED_DIR / "data" / "wider_val_gt" / "wider_val_difficulty_keep_1based.json"


@pytest.mark.parametrize("compress", [True, False])
def test_reader_decodes_cells_chars_and_classes(tmp_path, compress):
    gt_dir = write_eval_tools(tmp_path / "gt", compress)
    mat = load_mat(gt_dir / "wider_easy_val.mat")
    assert mat["event_list"].shape == (2, 1) and mat["event_list"][1, 0] == "1--Handshaking"
    box = mat["face_bbx_list"][0, 0][0, 0]
    assert box.dtype == np.int32 and box.tolist() == [[10, 20, 30, 40], [100, 100, 12, 14]]
    keep = mat["gt_list"][0, 0][1, 0]
    assert keep.dtype == np.float64 and keep.shape == (0, 1)  # stored as uint8, class double
    assert mat["gt_list"][0, 0][0, 0].tolist() == [[1.0]]
    only = load_mat(gt_dir / "wider_easy_val.mat", {"gt_list"})
    assert list(only) == ["gt_list"]


def test_reader_matches_scipy_on_written_files(tmp_path):
    sio = pytest.importorskip("scipy.io")
    gt_dir = write_eval_tools(tmp_path / "gt")
    ours = load_mat(gt_dir / "wider_face_val.mat")
    theirs = sio.loadmat(gt_dir / "wider_face_val.mat", mat_dtype=True)
    assert ours["face_bbx_list"][0, 0][1, 0].tolist() == theirs["face_bbx_list"][0, 0][1, 0].tolist()


def test_reader_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(MatFormatError, match="bad.mat: too short"):
        load_mat(bad)
    bad.write_bytes(b"MATLAB 7.3 MAT-file".ljust(128, b" ") + b"\x89HDF")
    with pytest.raises(MatFormatError, match="v7.3"):
        load_mat(bad)
    gt_dir = write_eval_tools(tmp_path / "gt", compress=False)
    data = (gt_dir / "wider_face_val.mat").read_bytes()
    (gt_dir / "cut.mat").write_bytes(data[: len(data) // 2])
    with pytest.raises(MatFormatError, match="cut.mat: truncated"):
        load_mat(gt_dir / "cut.mat")


def test_eval_tools_ground_truth(tmp_path):
    gt_dir = write_eval_tools(tmp_path / "gt")
    raw = load_eval_tools(gt_dir)
    assert raw.stems == ("0_Parade_a_1", "0_Parade_b_2", "1_Handshaking_c_3")
    assert [k.tolist() for k in raw.keep["medium"]] == [[0, 1], [0], []]
    gt = from_eval_tools(gt_dir)
    assert gt.keys[2] == "1--Handshaking/1_Handshaking_c_3"
    assert gt.num_faces == 3 and len(gt.boxes) == 4 and gt.placeholder.tolist() == [False, False, False, True]
    assert gt.integer_boxes
    assert {s: int(m.sum()) for s, m in gt.keep.items()} == {"easy": 1, "medium": 3, "hard": 3}
    assert load_ground_truth(gt_dir / "wider_hard_val.mat").keys == gt.keys
    # a keep index beyond the image's faces is an error naming the file
    write_mat(
        gt_dir / "wider_easy_val.mat",
        {
            "gt_list": Cell.column(
                [
                    Cell.column([Stored(np.array([[3.0]]), "u1"), Stored(np.zeros((0, 1)), "u1")]),
                    Cell.column([Stored(np.zeros((0, 1)), "u1")]),
                ]
            )
        },
    )
    with pytest.raises(MatFormatError, match="wider_easy_val.mat: gt_list image #1"):
        from_eval_tools(gt_dir)


def test_keep_json_round_trip_and_labels_source(tmp_path):
    keep = {"e/a.jpg": {"easy": [1], "hard": [1, 2]}, "e/b.jpg": {"easy": [], "hard": []}}
    path = write_keep_json(tmp_path / "keep_1based.json", keep)
    assert read_keep_json(path) == keep
    (tmp_path / "x_bbx_gt.txt").write_text(
        "e/a.jpg\n2\n1 1 5 5 0 0 0 0 0 0 \n9 9 5 5 0 0 0 0 0 0 \ne/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n"
    )
    gt = load_ground_truth(tmp_path)
    assert gt.settings == ("easy", "hard") and gt.keep["hard"].tolist() == [True, True, False]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"e/a.jpg": {"easy": [0]}}))
    with pytest.raises(ValueError, match="1-based"):
        read_keep_json(bad)
    with pytest.raises(ValueError, match="outside 1..2"):
        from_labels(tmp_path / "x_bbx_gt.txt", {"e/a.jpg": {"easy": [3]}})


@pytest.mark.shared_data
@pytest.mark.skipif(
    not (GT_DIR / "wider_face_val.mat").is_file(), reason="../shared eval_tools .mat files absent"
)
def test_official_mat_and_txt_ground_truth_agree():
    mat = from_eval_tools(GT_DIR)
    assert mat.num_images == 3226 and mat.num_faces == 39704 and len(mat.boxes) == 39708
    assert {s: int(m.sum()) for s, m in mat.keep.items()} == {"easy": 7211, "medium": 13319, "hard": 31958}
    assert not any((mat.keep[s] & (mat.attributes[:, 3] == 1)).any() for s in mat.keep)  # invalid never kept
    txt = from_labels(VAL_TXT, KEEP_JSON)
    assert txt.keys == mat.keys
    np.testing.assert_array_equal(txt.boxes, mat.boxes)
    np.testing.assert_array_equal(txt.attributes, mat.attributes)
    np.testing.assert_array_equal(txt.placeholder, mat.placeholder)
    for setting in mat.keep:
        np.testing.assert_array_equal(txt.keep[setting], mat.keep[setting])


@pytest.mark.shared_data
@pytest.mark.skipif(
    not (GT_DIR / "wider_face_val.mat").is_file(), reason="../shared eval_tools .mat files absent"
)
def test_reader_matches_scipy_on_the_official_files():
    sio = pytest.importorskip("scipy.io")
    for name in ("wider_face_val.mat", "wider_hard_val.mat"):
        ours = load_mat(GT_DIR / name)
        theirs = sio.loadmat(GT_DIR / name, mat_dtype=True)
        for var in ("face_bbx_list", "blur_label_list"):
            for i in (0, 30, 60):
                a, b = ours[var][i, 0], theirs[var][i, 0]
                assert all(
                    np.array_equal(x, y) and x.dtype == y.dtype
                    for x, y in zip(a.ravel(), b.ravel(), strict=True)
                )
