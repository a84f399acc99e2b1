"""core.atomic: the one atomic-write helper (labels, predictions, checkpoints, weights, caches)."""

from __future__ import annotations

import os

import pytest

from core.atomic import atomic_write, write_bytes_atomic, write_text_atomic


def test_text_and_bytes_replace_the_target_and_leave_no_temporary(tmp_path):
    target = tmp_path / "sub" / "labels.txt"
    write_text_atomic(target, "a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"  # line ends kept as given
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.txt"]


def test_a_failed_write_keeps_the_last_good_file(tmp_path):
    target = tmp_path / "labels.txt"
    target.write_text("good\n")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["labels.txt"]


def test_permissions_of_the_replaced_file_are_kept(tmp_path):
    target = tmp_path / "shared.txt"
    target.write_text("x")
    os.chmod(target, 0o640)
    write_text_atomic(target, "y")
    assert target.stat().st_mode & 0o777 == 0o640


def test_new_files_get_the_umask_default_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "new.txt", "z")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644


def test_an_atomic_write_through_a_symlink_changes_its_target(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new"
