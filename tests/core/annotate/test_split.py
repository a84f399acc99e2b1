"""The editable split: byte-exact saves, dirty tracking, review sidecar, read-only, failed saves.

Saves land in the working copy (``<labels>.facescope-edit.txt``); the source label file is never
written by them (tests/core/annotate/test_workcopy.py covers the working copy itself).
"""

from __future__ import annotations

import pytest

from core.annotate import saving as saving_module
from core.annotate.audit import read_audit
from core.annotate.faces import face_to_row, moved, with_attribute
from core.annotate.review import ReviewState, review_path, sidecar_path
from core.annotate.split import AnnotationSplit, ReadOnlyError, write_plan
from core.wider.attributes import Blur
from core.wider.labels import FaceBox, read_labels
from tests.core.annotate.wider_fixture import label_text, make_split


@pytest.fixture
def split_files(tmp_path):
    return make_split(tmp_path)


def edited(label_path):
    """The working copy saves go to."""
    return sidecar_path(label_path, "edit.txt")


def test_open_lists_images_and_faces(split_files):
    label_path, images_root = split_files
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert len(split) == 4 and split.face_count() == 6
    assert split.editable and not split.dirty and split.recovery is None
    assert split.image_paths[0] == images_root / "0--Parade/0_Parade_a_1.jpg"
    assert all(p.exists() for p in split.image_paths)
    assert split.faces(1) == []
    assert split.review_counts()[ReviewState.UNREVIEWED] == 4


def test_unchanged_split_is_never_rewritten(split_files):
    label_path, images_root = split_files
    before = label_path.read_bytes()
    mtime = label_path.stat().st_mtime_ns
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert split.save() is False
    assert label_path.read_bytes() == before and label_path.stat().st_mtime_ns == mtime


def test_edit_save_keeps_untouched_images_verbatim(tmp_path):
    # an odd-but-valid spelling ("20.0") in an untouched image must survive a save byte for byte
    label_path, images_root = make_split(tmp_path)
    text = label_text().replace("10 10 80 90 1", "10.0 10 80 90 1")
    label_path.write_text(text, encoding="utf-8")
    split = AnnotationSplit.open_wider(label_path, images_root)
    faces = split.faces(0)
    split.set_faces(0, [moved(faces[0], 5, -2), *faces[1:]])
    assert split.dirty and split.is_dirty(0)
    assert split.save() is True
    assert label_path.read_text(encoding="utf-8") == text  # the source is untouched
    saved = edited(label_path).read_text(encoding="utf-8")
    assert "10.0 10 80 90 1" in saved
    assert saved.replace("25 28 40 50", "20 30 40 50") == text
    assert not split.dirty
    assert not sidecar_path(label_path, "journal.jsonl").exists()
    reread = read_labels(edited(label_path))
    assert (reread[0].faces[0].x, reread[0].faces[0].y) == (25, 28)


def test_edit_then_revert_writes_identical_bytes(split_files):
    label_path, images_root = split_files
    before = label_path.read_bytes()
    split = AnnotationSplit.open_wider(label_path, images_root)
    original = split.faces(2)
    split.set_faces(2, original[:1])
    split.set_faces(2, original)
    split.save()
    assert edited(label_path).read_bytes() == before and label_path.read_bytes() == before
    assert read_audit(sidecar_path(label_path, "audit.csv")) == []  # net change: none


def test_attributes_add_delete_and_audit(split_files):
    label_path, images_root = split_files
    split = AnnotationSplit.open_wider(label_path, images_root)
    faces = split.faces(0)
    split.set_faces(0, [with_attribute(faces[0], "blur", 2), faces[2]])  # modify one, delete one
    split.set_faces(1, [FaceBox(1, 2, 30, 40)])  # add to the empty image
    split.save()
    labels = read_labels(edited(label_path))
    assert labels[0].faces[0].blur == Blur.HEAVY and len(labels[0].faces) == 2
    assert face_to_row(labels[1].faces[0]) == [1, 2, 30, 40, 0, 0, 0, 0, 0, 0]
    rows = read_audit(sidecar_path(label_path, "audit.csv"))
    changes = sorted((r["image"].split("/")[-1], r["change"], r["face"]) for r in rows)
    assert changes == [
        ("0_Parade_a_1.jpg", "modified", "0"),
        ("0_Parade_a_1.jpg", "removed", "1"),
        ("0_Parade_b_2.jpg", "added", "0"),
    ]
    modified = next(r for r in rows if r["change"] == "modified")
    assert modified["before"].startswith("20 30 40 50 0") and modified["after"].startswith("20 30 40 50 2")


def test_review_state_lives_in_the_sidecar(split_files):
    label_path, images_root = split_files
    before = label_path.read_bytes()
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_review(0, ReviewState.REVIEWED)
    split.set_review(3, ReviewState.NEEDS_ATTENTION)
    assert split.review_counts() == {
        ReviewState.UNREVIEWED: 2,
        ReviewState.REVIEWED: 1,
        ReviewState.NEEDS_ATTENTION: 1,
    }
    assert split.next_with_state(0) == 1
    split.save()
    split.close()
    assert label_path.read_bytes() == before  # the official txt is untouched
    assert review_path(label_path).exists()
    again = AnnotationSplit.open_wider(label_path, images_root)
    assert again.review[0] == ReviewState.REVIEWED and again.review[3] == ReviewState.NEEDS_ATTENTION
    assert again.review[1] == ReviewState.UNREVIEWED


def test_corrupt_label_file_opens_read_only_and_is_never_written(tmp_path):
    label_path, images_root = make_split(tmp_path)
    broken = label_text().replace("\n3\n", "\nthree\n", 1)
    label_path.write_text(broken, encoding="utf-8")
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert split.read_only and not split.editable
    assert f"{label_path}:2" in split.error and "face count" in split.error
    assert len(split) == 4  # the images are still listed (from the folder), with no faces
    with pytest.raises(ReadOnlyError):
        split.set_faces(0, [FaceBox(0, 0, 5, 5)])
    with pytest.raises(ReadOnlyError):
        split.save()
    assert label_path.read_text(encoding="utf-8") == broken
    assert not sidecar_path(label_path, "journal.jsonl").exists()


def test_failed_save_keeps_last_good_file_then_recovers(split_files, monkeypatch):
    label_path, images_root = split_files
    before = label_path.read_bytes()
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(3, 3, 9, 9)])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saving_module, "write_text_atomic", disk_full)
    with pytest.raises(OSError):
        split.save()
    assert label_path.read_bytes() == before
    assert split.dirty and sidecar_path(label_path, "journal.jsonl").exists()
    monkeypatch.undo()
    assert split.save()
    assert read_labels(edited(label_path))[1].faces[0].w == 9
    assert label_path.read_bytes() == before


def test_edit_during_a_save_stays_dirty(split_files):
    label_path, images_root = split_files
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(3, 3, 9, 9)])
    plan = split.prepare_save()
    split.set_faces(1, [FaceBox(4, 4, 9, 9)])  # the user keeps editing while the worker writes
    write_plan(plan)
    split.finish_save(plan)
    assert split.dirty and split.is_dirty(1)
    assert read_labels(edited(label_path))[1].faces[0].x == 3
    split.save()
    assert read_labels(edited(label_path))[1].faces[0].x == 4
    assert not split.dirty


def test_open_folder_creates_missing_label_file_and_adds_new_images(tmp_path):
    _, images_root = make_split(tmp_path)
    label_path = tmp_path / "new_labels.txt"
    split = AnnotationSplit.open_folder(images_root, label_path)
    assert label_path.exists() and len(split) == 4 and split.face_count() == 0
    assert [img.name for img in read_labels(label_path)] == [img.name for img in split.images]
    split.set_faces(2, [FaceBox(1, 1, 10, 10)])
    split.save()
    split.close()
    (images_root / "extra.png").write_bytes((images_root / split.images[0].name).read_bytes())
    again = AnnotationSplit.open_folder(images_root, label_path)
    assert len(again) == 5 and again.images[-1].name == "extra.png"
    assert len(again.faces(2)) == 1


def test_flat_image_folder_is_found(tmp_path):
    label_path, images_root = make_split(tmp_path)
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in images_root.rglob("*.jpg"):
        (flat / path.name).write_bytes(path.read_bytes())
    split = AnnotationSplit.open_wider(label_path, flat)
    assert split.image_paths[2] == flat / "1_Handshaking_c_3.jpg" and split.image_paths[2].exists()
