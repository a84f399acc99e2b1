"""The working copy: saves never touch the source; "save to source" is explicit and atomic;
read-only sources (permission bits, the shared data) keep every editor file away from them."""

from __future__ import annotations

import hashlib
import os
import stat
from contextlib import contextmanager

import pytest

from core import atomic
from core.annotate import workcopy
from core.annotate.audit import read_audit
from core.annotate.review import ReviewState
from core.annotate.split import AnnotationSplit, ReadOnlyError
from core.annotate.workcopy import locate, read_only_reason
from core.wider.labels import FaceBox, read_labels
from tests.core.annotate.wider_fixture import make_split


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def write_protected(path):
    """``chmod a-w``: read-only by its permission bits even for root (tests run as root)."""
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        path.chmod(mode)


def test_a_save_writes_the_working_copy_and_never_the_source(tmp_path):
    label_path, images_root = make_split(tmp_path)
    before = sha(label_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert split.working.path == tmp_path / "labels.txt.facescope-edit.txt" and not split.resumed
    split.set_faces(1, [FaceBox(7, 8, 9, 10)])
    split.set_review(1, ReviewState.REVIEWED)
    assert split.save()
    split.close()
    assert sha(label_path) == before
    assert read_labels(split.working.path)[1].faces[0].x == 7
    again = AnnotationSplit.open_wider(label_path, images_root)  # reopening continues the working copy
    assert again.resumed and again.label_path == label_path and not again.source_changed
    assert again.faces(1)[0].x == 7 and again.review[1] == ReviewState.REVIEWED


def test_a_source_changed_since_the_working_copy_was_made_is_noticed(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(7, 8, 9, 10)])
    split.save()
    split.close()
    label_path.write_text(label_path.read_text(encoding="utf-8").replace("20 30 40 50", "21 30 40 50"))
    again = AnnotationSplit.open_wider(label_path, images_root)
    assert again.resumed and again.source_changed
    assert again.save_to_source() and not again.source_changed
    again.set_faces(1, [])  # a new working copy starts from the source as saved
    again.save()
    again.close()
    assert not AnnotationSplit.open_wider(label_path, images_root).source_changed


def test_save_to_source_is_explicit_atomic_and_retires_the_working_copy(tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    before = sha(label_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(7, 8, 9, 10)])

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", crash)  # the write dies at its last step
    with pytest.raises(OSError):
        split.save_to_source()
    monkeypatch.undo()
    assert sha(label_path) == before  # the old source, whole
    assert split.save_to_source()
    assert read_labels(label_path)[1].faces[0].x == 7
    assert not split.working.exists and not split.dirty
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".labels.txt.")]  # no temporary left
    assert read_audit(split.working.sidecar("audit.csv"))[-1]["change"] == "saved to source"
    assert split.save_to_source() is False  # nothing left to copy
    split.close()
    assert not AnnotationSplit.open_wider(label_path, images_root).resumed


def test_read_only_rule(tmp_path, monkeypatch):
    label_path, _ = make_split(tmp_path, images=False)
    assert read_only_reason(label_path) is None
    with write_protected(label_path):
        assert read_only_reason(label_path) == "the file is write-protected"
    with write_protected(tmp_path):
        assert "folder" in read_only_reason(label_path)
    monkeypatch.setattr(workcopy, "SHARED_DIR", tmp_path)
    assert "shared research data" in read_only_reason(label_path)


def test_read_only_source_edits_go_to_the_user_data_dir_only(tmp_path):
    source_dir = tmp_path / "gt"
    source_dir.mkdir()
    label_path, images_root = make_split(source_dir)
    before = sha(label_path)
    listing = sorted(p.name for p in source_dir.iterdir())
    with write_protected(source_dir):
        split = AnnotationSplit.open_wider(label_path, images_root)
        assert "write-protected" in split.working.read_only_reason
        assert split.working.folder.is_relative_to(tmp_path / "user_data" / "working-copies")
        split.set_faces(0, [])
        split.set_review(0, ReviewState.NEEDS_ATTENTION)
        split.save()
        with pytest.raises(ReadOnlyError, match="export"):
            split.save_to_source()
        split.close()
        assert sorted(p.name for p in source_dir.iterdir()) == listing  # no journal, review, audit, copy
        assert sha(label_path) == before
        assert read_labels(split.working.path)[0].faces == []
        assert split.working.sidecar("review.json").exists() and split.working.sidecar("audit.csv").exists()
        again = AnnotationSplit.open_wider(label_path, images_root)
        assert again.resumed and again.faces(0) == [] and again.working == split.working


def test_journal_of_a_read_only_source_restores_onto_its_working_copy(tmp_path):
    source_dir = tmp_path / "gt"
    source_dir.mkdir()
    label_path, images_root = make_split(source_dir)
    before = sha(label_path)
    with write_protected(label_path):
        crashed = AnnotationSplit.open_wider(label_path, images_root)
        crashed.set_faces(2, [FaceBox(1, 2, 3, 4)])
        del crashed  # killed before any save
        again = AnnotationSplit.open_wider(label_path, images_root)
        assert again.recovery is not None
        assert again.working.sidecar("journal.jsonl").parent == again.working.folder != source_dir
        assert again.restore() == [2]
        again.save()
        assert read_labels(again.working.path)[2].faces[0].x == 1
        assert not again.working.sidecar("journal.jsonl").exists()
    assert sha(label_path) == before


def test_open_folder_does_not_create_a_label_file_in_a_read_only_folder(tmp_path):
    _, images_root = make_split(tmp_path)
    label_path = images_root / "labels.txt"
    with write_protected(images_root):
        split = AnnotationSplit.open_folder(images_root, label_path)
        split.set_faces(0, [FaceBox(1, 1, 5, 5)])
        split.save()
    assert not label_path.exists() and len(read_labels(split.working.path)) == len(split)


def test_set_aside_keeps_the_discarded_working_copy(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(0, [])
    split.save()
    split.close()
    kept = workcopy.set_aside(split.working)
    assert kept is not None and kept.exists() and "discarded" in kept.name
    assert len(AnnotationSplit.open_wider(label_path, images_root).faces(0)) == 3
    assert workcopy.set_aside(locate(label_path)) is None
    assert os.path.exists(label_path)
