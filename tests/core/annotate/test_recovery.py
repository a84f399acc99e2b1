"""Recovery restores the right thing: failed writes, duplicate names, symlinked sources, stale temps, bad journals."""

from __future__ import annotations

import errno
import os
import time

import pytest

from core.annotate import journal as journal_module
from core.annotate import saving as saving_module
from core.annotate.faces import face_to_row
from core.annotate.journal import JournalUnreadable, read_journal
from core.annotate.split import AnnotationSplit, ReadOnlyError
from core.wider.labels import FaceBox, read_labels
from tests.core.annotate.wider_fixture import SPLIT, label_text, make_split

NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


def _disk_full(*_args, **_kwargs):
    raise NO_SPACE


def test_an_edit_whose_journal_write_failed_is_never_restored(tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(0, [FaceBox(1, 2, 3, 4)])  # journalled; its autosave then fails (disk full)
    with monkeypatch.context() as full:
        full.setattr(saving_module, "write_text_atomic", _disk_full)
        with pytest.raises(OSError):
            split.save()
        full.setattr(journal_module.os, "fsync", _disk_full)
        with pytest.raises(OSError):  # the editor reports "edit not recorded": it did not happen
            split.set_faces(1, [FaceBox(9, 9, 9, 9)])
    assert split.faces(1) == []
    split.set_faces(2, [])  # space again: a later edit is journalled after the failed one
    del split  # crash
    again = AnnotationSplit.open_wider(label_path, images_root)
    assert again.restore() == [0, 2]
    assert face_to_row(again.faces(0)[0])[:4] == [1, 2, 3, 4]  # unsaved after the failed save: restored
    assert again.faces(1) == []  # never happened: never restored
    assert again.faces(2) == []


def test_a_journal_that_cannot_be_compacted_does_not_fail_the_save(tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(0, [FaceBox(1, 2, 3, 4)])
    plan = split.prepare_save()
    saving_module.write_plan(plan)
    split.set_faces(1, [FaceBox(5, 6, 7, 8)])  # edited while the save ran: compaction must rewrite
    monkeypatch.setattr(journal_module, "write_text_atomic", _disk_full)
    split.finish_save(plan)  # the labels are saved; the journal keeps every record (replay is idempotent)
    monkeypatch.undo()
    del split
    again = AnnotationSplit.open_wider(label_path, images_root)
    again.restore()
    assert face_to_row(again.faces(0)[0])[:4] == [1, 2, 3, 4]
    assert face_to_row(again.faces(1)[0])[:4] == [5, 6, 7, 8]


def _duplicated(tmp_path):
    names = list(SPLIT)
    spec = {**SPLIT}
    label_path, images_root = make_split(tmp_path, spec)
    text = label_text(spec) + f"{names[0]}\n0\n0 0 0 0 0 0 0 0 0 0 \n"  # the first image listed again
    label_path.write_text(text, encoding="utf-8")
    return label_path, images_root, names[0]


def test_duplicate_image_names_are_refused_when_the_split_is_opened(tmp_path):
    label_path, images_root, name = _duplicated(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert split.read_only and name in split.error and "2 times" in split.error
    with pytest.raises(ReadOnlyError):
        split.set_faces(0, [])


def test_journal_records_carry_the_index_and_restore_by_it(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(3, [])
    del split
    contents = read_journal(label_path.with_name(label_path.name + ".facescope-journal.jsonl"))
    assert contents.records[0]["index"] == 3 and contents.records[0]["name"] == list(SPLIT)[3]


def test_save_to_source_writes_through_a_symlinked_label_file(tmp_path):
    label_path, images_root = make_split(tmp_path)
    target = tmp_path / "real" / "labels.txt"
    target.parent.mkdir()
    os.replace(label_path, target)
    label_path.symlink_to(target)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(0, [FaceBox(1, 2, 3, 4)])
    assert split.save_to_source()
    assert label_path.is_symlink() and label_path.resolve() == target.resolve()
    assert read_labels(target)[0].faces[0].x == 1


def test_stale_temporary_files_of_the_split_are_cleaned_on_open(tmp_path):
    label_path, images_root = make_split(tmp_path)
    old = time.time() - 3600
    stale = [
        tmp_path / ".labels.txt.ab12_xyz.tmp",
        tmp_path / ".labels.txt.facescope-edit.txt.k3j4h5g6.tmp",
        tmp_path / ".labels.txt.facescope-journal.jsonl.zzzzzzzz.tmp",
    ]
    kept = [
        tmp_path / ".other.txt.ab12_xyz.tmp",  # another file's temporary
        tmp_path / ".labels.txt.notatemp.txt",  # not the temp-name pattern
        tmp_path / ".labels.txt.a1b2c3d4.tmp.bak",
    ]
    for path in stale + kept:
        path.write_text("x", encoding="utf-8")
        os.utime(path, (old, old))
    fresh = tmp_path / ".labels.txt.q1w2e3r4.tmp"  # newer than this process: a write in progress
    fresh.write_text("x", encoding="utf-8")
    AnnotationSplit.open_wider(label_path, images_root)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and fresh.exists()


def _journal_path(label_path):
    return label_path.with_name(label_path.name + ".facescope-journal.jsonl")


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(b"\x00\x01garbage\xff\n" * 5),
        lambda p: p.write_bytes(b'{"seq": 1, "name": "a.jpg", "faces": []}\n'),  # no header
        lambda p: p.mkdir(),
    ],
    ids=["garbage", "no-header", "directory"],
)
def test_a_corrupted_journal_says_so_and_can_be_set_aside(tmp_path, corrupt):
    label_path, images_root = make_split(tmp_path)
    corrupt(_journal_path(label_path))
    with pytest.raises(JournalUnreadable) as caught:
        read_journal(_journal_path(label_path))
    assert str(_journal_path(label_path)) in str(caught.value)
    split = AnnotationSplit.open_wider(label_path, images_root)
    assert split.journal_problem is not None and not split.editable
    with pytest.raises(ReadOnlyError):
        split.set_faces(0, [])
    kept = split.set_journal_aside()
    assert kept.exists() and ".corrupt-" in kept.name and not _journal_path(label_path).exists()
    assert split.editable and split.journal_problem is None
    split.set_faces(0, [])
    split.save()
    assert read_labels(split.working.path)[0].faces == []


class _FillsUp:
    """A journal file handle on a disk that fills up mid-write: the first write lands in part, then fails."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.failed = False

    def write(self, data: bytes) -> int:
        if not self.failed:
            self.failed = True
            self.handle.write(data[:7])
            self.handle.flush()
            raise NO_SPACE
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_a_journal_whose_header_write_failed_starts_again_with_a_header(tmp_path, monkeypatch):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    monkeypatch.setattr(journal_module, "open", lambda *a, **k: _FillsUp(open(*a, **k)), raising=False)
    with pytest.raises(OSError):
        split.set_faces(0, [])
    monkeypatch.undo()
    split.set_faces(1, [FaceBox(1, 2, 3, 4)])
    del split
    contents = read_journal(_journal_path(label_path))
    assert [record["index"] for record in contents.records] == [1]
