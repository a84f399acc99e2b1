"""The recovery journal: durable appends, torn lines, restore/discard, and a real ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.annotate.faces import face_to_row
from core.annotate.journal import Journal, read_journal
from core.annotate.review import ReviewState, sidecar_path
from core.annotate.split import AnnotationSplit, ReadOnlyError
from core.paths import REPO_ROOT
from core.wider.labels import FaceBox, read_labels
from tests.core.annotate.wider_fixture import label_text, make_split


def make_split_text() -> bytes:
    return label_text().encode("utf-8")


def test_append_and_read_back_with_a_torn_tail(tmp_path):
    label = tmp_path / "l.txt"
    label.write_text("", encoding="utf-8")
    journal = Journal(tmp_path / "j.jsonl", label)
    journal.append({"seq": 1, "name": "a.jpg", "faces": []})
    journal.append({"seq": 2, "name": "a.jpg", "review": "reviewed"})
    journal.close()
    with open(tmp_path / "j.jsonl", "ab") as handle:
        handle.write(b'{"seq": 3, "name": "a.j')  # the writer died mid-line
    contents = read_journal(tmp_path / "j.jsonl")
    assert [r["seq"] for r in contents.records] == [1, 2] and contents.torn_tail
    journal = Journal(tmp_path / "j.jsonl", label)  # a new session appends after the torn line
    journal.append({"seq": 4, "name": "a.jpg", "faces": []})
    journal.close()
    assert [r["seq"] for r in read_journal(tmp_path / "j.jsonl").records] == [1, 2, 4]


def test_unsaved_edits_are_offered_after_a_crash(tmp_path):
    label_path, images_root = make_split(tmp_path)
    source = label_path.read_bytes()
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(7, 8, 9, 10)])
    split.set_review(1, ReviewState.NEEDS_ATTENTION)
    del split  # no save, no close: the process "crashed"
    again = AnnotationSplit.open_wider(label_path, images_root)
    assert again.recovery is not None and len(again.recovery.records) == 2
    assert not again.editable
    with pytest.raises(ReadOnlyError):
        again.set_faces(0, [])
    assert again.restore() == [1]
    assert face_to_row(again.faces(1)[0]) == [7, 8, 9, 10, 0, 0, 0, 0, 0, 0]
    assert again.review[1] == ReviewState.NEEDS_ATTENTION and again.dirty
    again.save()
    assert read_labels(again.working.path)[1].faces[0].x == 7  # restored onto the working copy
    assert label_path.read_bytes() == source
    assert not sidecar_path(label_path, "journal.jsonl").exists()


def test_discarded_journal_is_set_aside_not_deleted(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(0, [])
    del split
    again = AnnotationSplit.open_wider(label_path, images_root)
    kept = again.discard_recovery()
    assert kept is not None and kept.exists() and "discarded" in kept.name
    assert again.editable and len(again.faces(0)) == 3


def test_journal_of_already_saved_edits_is_dropped_silently(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.set_faces(1, [FaceBox(7, 8, 9, 10)])
    plan = split.prepare_save()
    from core.annotate.split import write_plan

    write_plan(plan)  # crash after the labels were written, before the journal was cleared
    del split
    again = AnnotationSplit.open_wider(label_path, images_root)
    assert again.recovery is None and again.editable
    assert not sidecar_path(label_path, "journal.jsonl").exists()


CHILD = textwrap.dedent(
    """
    import sys
    from core.annotate.split import AnnotationSplit
    from core.wider.labels import FaceBox

    split = AnnotationSplit.open_wider(sys.argv[1], sys.argv[2])
    n = len(split)
    for k in range(1, 1_000_000):
        index = k % n
        faces = [FaceBox(float(k), 1.0, 10.0, 12.0), FaceBox(2.0, float(k), 5.0, 6.0)]
        split.set_faces(index, faces)
        if k % 7 == 0:
            split.save()  # saves interleave with edits: the kill may land in any of them
        print(k, index, flush=True)  # acknowledged: set_faces returned
    """
)


def test_kill_9_mid_editing_loses_nothing(tmp_path):
    label_path, images_root = make_split(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(label_path), str(images_root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO_ROOT,
        text=True,
    )
    acknowledged: dict[int, int] = {}
    deadline = time.monotonic() + 60
    try:
        while len(acknowledged) < 4 or max(acknowledged.values()) < 60:
            line = child.stdout.readline()
            assert line, f"child ended early: {child.stderr.read()}"
            k, index = map(int, line.split())
            acknowledged[index] = k
            assert time.monotonic() < deadline
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    for line in child.stdout.read().splitlines():  # acknowledgements still in the pipe
        k, index = map(int, line.split())
        acknowledged[index] = k
    child.stdout.close()
    child.stderr.close()

    split = AnnotationSplit.open_wider(label_path, images_root)
    if split.working.exists:  # the working copy is whole (atomic replace), whatever the kill hit
        read_labels(split.working.path)
    if split.recovery is not None:
        split.restore()
    for index, k in acknowledged.items():
        faces = split.faces(index)
        assert len(faces) == 2
        # the newest acknowledged edit, or one the child made after it but could not report
        assert faces[0].x >= k and faces[1].y == faces[0].x, (index, k, face_to_row(faces[0]))
    split.save()
    split.close()
    assert not Path(sidecar_path(label_path, "journal.jsonl")).exists()
    assert label_path.read_bytes() == make_split_text()  # the source was never written
