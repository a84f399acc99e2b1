"""WIDER label files: typed attributes, byte-exact round trip, one error type naming file and line."""

from __future__ import annotations

import pytest

from core.paths import SHARED_DIR
from core.wider.attributes import Blur, Invalid, Occlusion, Pose, attribute_label
from core.wider.labels import (
    FaceBox,
    ImageLabels,
    LabelArrays,
    WiderFormatError,
    format_labels,
    parse_label_arrays,
    parse_labels,
    read_label_arrays,
    read_labels,
    write_labels,
)

OFFICIAL_VAL = SHARED_DIR / "data" / "wider_val_gt" / "wider_face_val_bbx_gt.txt"
DEV_416 = SHARED_DIR / "data" / "wider_val_416_dev" / "wider_face_val_bbx_gt.txt"

SAMPLE = (
    "0--Parade/0_Parade_marchingband_1_465.jpg\n"
    "2\n"
    "345 211 4 4 2 0 0 0 2 0 \n"
    "331 126 3 3 0 0 0 1 0 0 \n"
    "1--Handshaking/1_Handshaking_x_1.jpg\n"
    "0\n"
    "0 0 0 0 0 0 0 0 0 0 \n"
    "2--Demonstration/2_Demonstration_y_2.jpg\n"
    "1\n"
    "1026 474 -2 23 1 1 1 0 1 1 \n"
)


def test_parse_sample_typed_and_round_trip():
    images = parse_labels(SAMPLE)
    assert [im.name for im in images] == [
        "0--Parade/0_Parade_marchingband_1_465.jpg",
        "1--Handshaking/1_Handshaking_x_1.jpg",
        "2--Demonstration/2_Demonstration_y_2.jpg",
    ]
    first = images[0].faces[0]
    assert (first.x, first.y, first.w, first.h) == (345, 211, 4, 4)
    assert first.blur is Blur.HEAVY and first.occlusion is Occlusion.HEAVY and first.pose is Pose.TYPICAL
    assert images[0].faces[1].invalid is Invalid.INVALID
    assert images[1].faces == []  # the dummy row of an image without faces is not a face
    assert images[2].faces[0].w == -2  # odd boxes are kept as they are, never dropped
    assert images[0].event == "0--Parade" and images[0].key == "0--Parade/0_Parade_marchingband_1_465"
    assert first.xyxy == (345, 211, 349, 215)
    assert format_labels(images) == SAMPLE
    assert attribute_label("blur", 2) == "blur=heavy"


def test_arrays_view_matches_objects():
    arrays = parse_label_arrays(SAMPLE)
    assert arrays.num_images == 3 and arrays.num_faces == 3
    assert arrays.counts().tolist() == [2, 0, 1]
    assert arrays.attributes[0].tolist() == [2, 0, 0, 0, 2, 0]
    assert LabelArrays.from_images(arrays.to_images()).boxes.tolist() == arrays.boxes.tolist()


def test_edit_and_write_atomically(tmp_path):
    images = parse_labels(SAMPLE)
    images[1].faces.append(FaceBox(10.5, 20, 30, 40, blur=Blur.NORMAL))
    del images[0].faces[1]
    path = write_labels(tmp_path / "split" / "labels.txt", images)
    assert not list(path.parent.glob("*.tmp"))
    back = read_labels(path)
    assert len(back[0].faces) == 1
    assert back[1].faces == [FaceBox(10.5, 20, 30, 40, blur=Blur.NORMAL)]
    assert "10.5 20 30 40 1 0 0 0 0 0 \n" in path.read_text()
    # a failed write leaves the previous file untouched
    with pytest.raises(ValueError):
        write_labels(path, [ImageLabels("a/b.jpg", [FaceBox(1, 2, 3, float("nan"))])])
    assert read_labels(path) == back


def test_fixed_decimals_style_round_trips():
    text = "e/a.jpg\n1\n327.44 224.50 9.75 16.00 2 0 1 0 0 0 \n"
    arrays = parse_label_arrays(text)
    assert arrays.decimals == 2
    assert format_labels(arrays.to_images(), arrays.decimals) == text


def test_missing_dummy_row_and_trailing_blank_lines_are_tolerated():
    text = "e/a.jpg\n0\ne/b.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n\n\n"
    images = parse_labels(text)
    assert [len(im.faces) for im in images] == [0, 1]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        # wrong counts: too small (a face line where a name should be), too large (a name where a face should be)
        ("e/a.jpg\n1\n1 2 3 4 0 0 0 0 0 0 \n5 6 7 8 0 0 0 0 0 0 \n", 4, "expected an image name"),
        ("e/a.jpg\n3\n1 2 3 4 0 0 0 0 0 0 \n5 6 7 8 0 0 0 0 0 0 \ne/b.jpg\n0\n", 5, "count above too large"),
        ("e/a.jpg\nx\n", 2, "non-negative integer"),
        ("e/a.jpg\n-1\n", 2, "non-negative integer"),
        # truncated file
        ("e/a.jpg\n", 2, "truncated"),
        ("e/a.jpg\n3\n1 2 3 4 0 0 0 0 0 0 \n", 4, "truncated"),
        # non-numeric and missing fields
        ("e/a.jpg\n1\n1 2 x 4 0 0 0 0 0 0 \n", 3, "non-numeric field 3"),
        ("e/a.jpg\n1\n1 2 3 4 0 0 0 0 0\n", 3, "needs 10 numbers"),
        ("e/a.jpg\n1\n1 2 inf 4 0 0 0 0 0 0\n", 3, "not finite"),
        # bad attribute codes
        ("e/a.jpg\n1\n1 2 3 4 3 0 0 0 0 0 \n", 3, "bad blur code '3'"),
        ("e/a.jpg\n1\n1 2 3 4 0 0 0 0 0 2 \n", 3, "bad pose code"),
        ("e/a.jpg\n1\n1 2 3 4 0 0 0 0 1.5 0 \n", 3, "bad occlusion code"),
        ("e/a.jpg\n1\n1 2 3 4 0 -1 0 0 0 0 \n", 3, "bad expression code"),
        # a zero count followed by a real face
        ("e/a.jpg\n0\n1 2 3 4 0 0 0 0 0 0 \n", 3, "is 0 but a non-zero face line"),
        ("e/a.jpg\n1\n1 2 3 4 0 0 0 0 0 0 \n\ne/b.jpg\n0\n", 4, "blank line"),
    ],
)
def test_malformed_files_raise_one_error_with_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "bad_gt.txt"
    path.write_text(text)
    with pytest.raises(WiderFormatError, match=what) as info:
        read_label_arrays(path)
    assert info.value.line == line
    assert f"bad_gt.txt:{line}:" in str(info.value)


def test_bad_line_is_found_in_a_large_file(tmp_path):
    rows = "".join(f"{k} {k} 5 5 0 0 0 0 0 0 \n" for k in range(500))
    text = f"e/a.jpg\n500\n{rows}e/b.jpg\n2\n1 2 3 4 0 0 0 0 0 0 \n1 2 3 4 0 0 9 0 0 0 \n"
    with pytest.raises(WiderFormatError, match="bad illumination code") as info:
        parse_label_arrays(text, "big.txt")
    assert info.value.line == 506


@pytest.mark.shared_data
@pytest.mark.skipif(not OFFICIAL_VAL.is_file(), reason="../shared WIDER val labels absent")
def test_official_val_file_round_trips_byte_for_byte(tmp_path):
    arrays = read_label_arrays(OFFICIAL_VAL)
    assert arrays.num_images == 3226 and arrays.num_faces == 39704
    images = arrays.to_images()
    out = write_labels(tmp_path / "wider_face_val_bbx_gt.txt", images, arrays.decimals)
    assert out.read_bytes() == OFFICIAL_VAL.read_bytes()


@pytest.mark.shared_data
@pytest.mark.skipif(not DEV_416.is_file(), reason="../shared 416 px dev labels absent")
def test_dev_416_labels_round_trip_with_their_decimals():
    arrays = read_label_arrays(DEV_416)
    assert arrays.decimals == 2
    assert format_labels(arrays.to_images(), arrays.decimals) == DEV_416.read_text()
