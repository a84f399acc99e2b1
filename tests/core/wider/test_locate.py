"""Finding a WIDER split in the folder a user points at: train, val only, a label file, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.detect.training.data import WiderSource
from core.errors import UserError
from core.paths import SHARED_DIR
from core.wider.dataset import WiderDataset
from core.wider.locate import SplitNotFoundError, locate_split, plan_split

LABELS = "0--Parade/0_Parade_a_1.jpg\n2\n10 10 8 8 2 0 0 0 0 0 \n30 10 20 25 0 0 0 0 1 0 \n"


def _official(root: Path, split: str) -> Path:
    labels = root / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt"
    labels.parent.mkdir(parents=True, exist_ok=True)
    labels.write_text(LABELS)
    (root / f"WIDER_{split}" / "images").mkdir(parents=True)
    return labels


def test_train_is_preferred_when_present(tmp_path):
    _official(tmp_path, "val")
    train = _official(tmp_path, "train")
    location = locate_split(tmp_path)
    assert (location.split, location.labels) == ("train", train)
    assert location.images_dir == tmp_path / "WIDER_train" / "images"


def test_a_val_only_folder_trains_on_val(tmp_path):
    val = _official(tmp_path, "val")
    location = locate_split(tmp_path)
    assert (location.split, location.labels, location.images_dir) == (
        "val",
        val,
        tmp_path / "WIDER_val" / "images",
    )
    plan = plan_split(tmp_path)
    assert (plan.num_images, plan.num_faces) == (1, 2)
    assert plan.describe().startswith("WIDER val split: 1 images, 2 faces")


def test_a_copied_split_with_images_beside_its_labels(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "wider_face_val_bbx_gt.txt").write_text(LABELS)
    assert locate_split(tmp_path).labels == tmp_path / "wider_face_val_bbx_gt.txt"
    assert WiderSource(tmp_path).location.split == "val"


def test_an_explicit_label_file(tmp_path):
    _official(tmp_path, "train")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "images").mkdir()
    (tmp_path / "mine" / "faces.txt").write_text(LABELS)
    for split in ("mine/faces.txt", str(tmp_path / "mine" / "faces.txt")):
        location = locate_split(tmp_path, split)
        assert (location.split, location.images_dir) == ("custom", tmp_path / "mine" / "images")
    assert locate_split(tmp_path / "mine" / "faces.txt").labels == tmp_path / "mine" / "faces.txt"
    official = locate_split(tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt")
    assert official.images_dir == tmp_path / "WIDER_train" / "images"


def test_an_asked_split_that_is_absent_names_what_is_there(tmp_path):
    _official(tmp_path, "val")
    with pytest.raises(SplitNotFoundError) as caught:
        locate_split(tmp_path, "train")
    message = str(caught.value)
    assert "No WIDER train split in" in message and "wider_face_train_bbx_gt.txt" in message
    assert "wider_face_split/" in message and "WIDER_val/" in message  # what was found


def test_nothing_fits_is_a_user_error_that_says_what_was_looked_for(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(UserError) as caught:
        WiderSource(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"No WIDER labels in {tmp_path}: expected ")
    assert "wider_face_split/wider_face_{train,val}_bbx_gt.txt" in message
    assert "a label .txt file" in message and "found notes.md" in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(SplitNotFoundError, match="the folder is empty"):
        locate_split(tmp_path / "empty")
    with pytest.raises(SplitNotFoundError, match="does not exist"):
        locate_split(tmp_path / "missing")
    with pytest.raises(SplitNotFoundError, match="does not exist"):
        locate_split(tmp_path, "nope.txt")


def test_labels_without_images_say_where_the_images_were_expected(tmp_path):
    (tmp_path / "wider_face_val_bbx_gt.txt").write_text(LABELS)
    with pytest.raises(SplitNotFoundError, match=r"no images folder at .*images"):
        locate_split(tmp_path)


def test_the_official_index_reports_a_missing_split_plainly(tmp_path):
    _official(tmp_path, "val")
    with pytest.raises(UserError, match="No WIDER train split"):
        WiderDataset.from_root(tmp_path, "train")


@pytest.mark.shared_data
def test_the_native_dev_split_is_found_as_val():
    root = SHARED_DIR / "data" / "wider_val_native_dev"
    plan = plan_split(root)
    assert plan.location.split == "val" and plan.location.images_dir == root / "images"
    assert plan.num_images == len(WiderSource(root)) > 0 and plan.num_faces > 0
