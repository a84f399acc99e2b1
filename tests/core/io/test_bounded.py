"""Reading a file the user named: regular files only, under a size cap, never a hang."""

from __future__ import annotations

import os
import threading

import pytest

from core.errors import UserError
from core.io.bounded import InputFileError, read_bytes_bounded


def test_a_regular_file_under_the_cap_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"12345")
    assert read_bytes_bounded(path, 5) == b"12345"


def test_an_oversized_sparse_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(5 * 1024**3)  # sparse: 5 GiB announced, nothing on disk
    with pytest.raises(InputFileError, match=r"5120\.0 MiB; the limit is 1\.0 MiB \(raise it with --cap\)"):
        read_bytes_bounded(path, 1024 * 1024, what="prediction file", hint="--cap")


def test_a_symlink_to_a_device_is_judged_by_its_target(tmp_path):
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputFileError, match="character device") as info:
        read_bytes_bounded(link, 1024)
    assert isinstance(info.value, UserError) and isinstance(info.value, OSError)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_bytes_bounded(fifo, 1024)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], InputFileError) and "FIFO" in str(outcome[0])


def test_folders_and_missing_files(tmp_path):
    with pytest.raises(InputFileError, match="a folder"):
        read_bytes_bounded(tmp_path, 1024)
    with pytest.raises(FileNotFoundError):
        read_bytes_bounded(tmp_path / "absent.txt", 1024)
