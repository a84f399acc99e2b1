"""One batch run per output: a second run on the same JSON lines fails at once (exit 2) or waits with --wait."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.cli import run_cli
from core.detect.batch.ledger import read_records
from core.detect.batch.lock import (
    LockHolder,
    OutputBusyError,
    acquire_all,
    batch_locks,
    holding,
)
from tests.core.detect.test_batch import ROOT, make_inputs

TINY = ["--max-side", "128", "--threads", "1"]
ENV = {**os.environ, "FACESCOPE_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}


def _detect(*args) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "detect", *map(str, args), *TINY]


def test_a_held_lock_names_its_owner_and_is_removed_when_released(tmp_path):
    out = tmp_path / "out.jsonl"
    (first,) = batch_locks(out, None)
    (second,) = batch_locks(tmp_path / "." / "out.jsonl", None)  # another spelling, the same lock
    assert first.try_acquire() is None and first.path.exists()
    holder = second.try_acquire()
    assert holder is not None and holder.pid == os.getpid() and holder.started
    first.release()
    assert not first.path.exists()
    assert second.try_acquire() is None
    second.release()


def test_all_outputs_or_none(tmp_path):
    wider = tmp_path / "wider"
    (other_wider,) = batch_locks(None, wider)
    assert other_wider.try_acquire() is None
    locks = batch_locks(tmp_path / "out.jsonl", wider)
    with pytest.raises(OutputBusyError, match=r"another detect run \(pid \d+.*is writing .*wider"):
        acquire_all(locks, wait=False)
    assert not any(lock.held for lock in locks)  # the free JSON-lines lock was given back
    other_wider.release()
    with holding(locks, wait=False):
        assert all(lock.held for lock in locks)
    assert not any(lock.held for lock in locks)


def test_ranks_follow_rank_zero(tmp_path):
    (lock,) = batch_locks(tmp_path / "out.jsonl", None)
    busy = (lock.output, LockHolder(pid=4242, started="2026-01-01 00:00:00"))

    def rank_zero_found_it_busy(mine):
        assert mine is None  # a rank > 0 takes nothing itself
        return [busy, None]

    with pytest.raises(OutputBusyError, match="pid 4242"):
        acquire_all([lock], wait=False, is_main=False, gather=rank_zero_found_it_busy)
    acquire_all([lock], wait=False, is_main=False, gather=lambda _mine: [None, None])
    assert not lock.held and not lock.path.exists()


def test_second_run_fails_at_once_and_a_waiting_run_completes(tmp_path):
    first, second = make_inputs(tmp_path / "a", images=2), make_inputs(tmp_path / "b", images=3)
    out = tmp_path / "out.jsonl"
    (held,) = batch_locks(out, None)
    assert held.try_acquire() is None  # this test process plays the first run
    try:
        refused = subprocess.run(
            _detect(first, "--jsonl", out), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
        )
        assert refused.returncode == 2, refused.stderr[-2000:]
        assert f"another detect run (pid {os.getpid()}, started at" in refused.stderr
        assert f"is writing {out}; wait for it or pass --wait" in refused.stderr
        assert not out.exists()

        log = tmp_path / "waiting.log"
        with log.open("w") as stderr:
            waiting = subprocess.Popen(
                _detect(second, "--jsonl", out, "--wait"), cwd=ROOT, env=ENV, stderr=stderr, text=True
            )
        try:
            deadline = time.monotonic() + 120
            while "waiting for it to finish" not in log.read_text() and waiting.poll() is None:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.1)
            assert waiting.poll() is None, log.read_text()[-2000:]
        except BaseException:
            waiting.kill()
            raise
    finally:
        held.release()
    # both runs now compete for the output; each waits for the other
    assert run_cli(["detect", str(first), "--jsonl", str(out), "--wait", *TINY]) == 0
    assert waiting.wait(timeout=120) == 0, log.read_text()[-2000:]
    paths = [record["path"] for record in read_records(out)]
    expected = sorted(str(p) for folder in (first, second) for p in folder.glob("*.jpg"))
    assert sorted(paths) == expected  # every entry exactly once
    assert not held.path.exists()
