"""CelebA reader: the official layout, malformed files (typed error naming the line), ranges, folders."""

from __future__ import annotations

import numpy as np
import pytest

from core.attributes.celeba import (
    CELEBA_ATTRIBUTES,
    CelebA,
    CelebAFormatError,
    parse_attr_text,
    parse_range,
    read_partition,
)
from core.paths import SHARED_DIR

HEADER = "Bald Smiling Young "  # the official header ends with a space


def _text(rows: list[str], count: int | None = None) -> str:
    return f"{len(rows) if count is None else count}\n{HEADER}\n" + "\n".join(rows) + "\n"


def test_parses_official_layout_with_padding_spaces():
    table = parse_attr_text(_text(["000001.jpg -1  1  1", "000002.jpg  1 -1 -1"]) + "\n\n")
    assert table.names == ("Bald", "Smiling", "Young")
    assert table.images == ("000001.jpg", "000002.jpg")
    assert table.labels.dtype == bool
    np.testing.assert_array_equal(table.labels, [[False, True, True], [True, False, False]])
    np.testing.assert_array_equal(table.image_ids(), [1, 2])
    np.testing.assert_allclose(table.positive_rate(), [0.5, 0.5, 0.5])


def test_windows_line_endings():
    table = parse_attr_text(_text(["000001.jpg -1 1 1"]).replace("\n", "\r\n"))
    assert table.images == ("000001.jpg",)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 0, "empty file"),
        ("x\nBald\n", 1, "number of rows"),
        ("1\n", 2, "header"),
        ("1\n \n000001.jpg 1\n", 2, "empty header"),
        ("1\nBald Bald\n000001.jpg 1 1\n", 2, "twice"),
        (_text(["000001.jpg -1 1"]), 3, "got 2 values"),
        (_text(["000001.jpg -1 1 1", "000002.jpg 1 0 1"]), 4, "Smiling of 000002.jpg is '0'"),
        (_text(["000001.jpg -1 1 1", "000001.jpg 1 1 1"]), 4, "already listed on line 3"),
        (_text(["000001.jpg -1 1 1", "", "000003.jpg 1 1 1"]), 4, "empty line"),
        (_text(["000001.jpg -1 1 1"], count=2), 1, "says 2 rows but the file has 1"),
        (_text(["000001.jpg -1 1 yes"]), 3, "'yes'"),
    ],
)
def test_malformed_files_name_the_line(text, line, words):
    with pytest.raises(CelebAFormatError) as info:
        parse_attr_text(text, "list_attr_celeba.txt")
    assert info.value.line == line
    assert words in str(info.value)
    assert str(info.value).startswith("list_attr_celeba.txt" + (f":{line}" if line else ""))


def test_partition_and_ranges(tmp_path):
    part = tmp_path / "list_eval_partition.txt"
    part.write_text("000001.jpg 0\n000002.jpg 2\n\n")
    assert read_partition(part) == {"000001.jpg": 0, "000002.jpg": 2}
    part.write_text("000001.jpg 3\n")
    with pytest.raises(CelebAFormatError, match=":1: expected"):
        read_partition(part)
    assert parse_range(" 7001-8000 ") == (7001, 8000)
    for bad in ("7000", "8-1", "0-3", "a-b"):
        with pytest.raises(ValueError):
            parse_range(bad)


@pytest.mark.parametrize("folder", ["images", "img_align_celeba"])
def test_open_root_select_range_and_partition(tmp_path, folder):
    (tmp_path / folder).mkdir()
    rows = [f"{i:06d}.jpg {' '.join('1' if (i + a) % 2 else '-1' for a in range(3))}" for i in range(1, 7)]
    (tmp_path / "list_attr_celeba.txt").write_text(_text(rows))
    dataset = CelebA.open(tmp_path)
    assert dataset.images_dir == tmp_path / folder and dataset.partition is None
    assert dataset.select("2-4").images == ("000002.jpg", "000003.jpg", "000004.jpg")
    with pytest.raises(FileNotFoundError, match="list_eval_partition"):
        dataset.select(partition="val")
    (tmp_path / "list_eval_partition.txt").write_text("".join(f"{i:06d}.jpg {i % 3}\n" for i in range(1, 7)))
    dataset = CelebA.open(tmp_path)
    assert dataset.select("1-5", "val").images == ("000001.jpg", "000004.jpg")


def test_open_needs_the_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="list_attr_celeba.txt"):
        CelebA.open(tmp_path)
    (tmp_path / "list_attr_celeba.txt").write_text(_text([]))
    with pytest.raises(FileNotFoundError, match="image folder"):
        CelebA.open(tmp_path)


@pytest.mark.shared_data
def test_dev_copy_reads_with_known_counts():
    dataset = CelebA.open(SHARED_DIR / "data" / "celeba_89x109_dev")
    table = dataset.table
    assert table.names == CELEBA_ATTRIBUTES and len(table) == 8000
    assert (dataset.images_dir / table.images[0]).is_file()
    rate = dict(zip(table.names, dataset.select("1-7000").positive_rate(), strict=True))
    assert rate["Bald"] < 0.03 < 0.8 < rate["No_Beard"]
