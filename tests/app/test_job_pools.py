"""The fast and the long job pools: a long job never blocks a short one; both shut down together."""

from __future__ import annotations

import threading

import pytest

from app.job_pools import JobPools


@pytest.fixture
def pools(qtbot):
    # one thread each: a single long job fills its pool, so any wait for it would show
    p = JobPools(fast_threads=1, long_threads=1)
    yield p
    p.shutdown(timeout_s=5)


def test_a_long_job_does_not_block_a_fast_one(qtbot, pools):
    release = threading.Event()
    started = threading.Event()

    def training():
        started.set()
        release.wait(10)
        return "trained"

    long_results, fast_results = [], []
    long_job = pools.long.submit(training, on_result=long_results.append)
    assert started.wait(5)
    pools.fast.submit(lambda: "decoded", on_result=fast_results.append)
    qtbot.waitUntil(lambda: fast_results == ["decoded"], timeout=5000)
    assert long_job.state == "running" and long_results == []
    release.set()
    qtbot.waitUntil(lambda: long_results == ["trained"], timeout=5000)


def test_errors_of_both_pools_reach_one_signal(qtbot, pools):
    def broken(what):
        raise ValueError(what)

    for runner, what in ((pools.fast, "fast"), (pools.long, "long")):
        with qtbot.waitSignal(pools.error, timeout=5000) as blocker:
            runner.submit(broken, what, name=f"{what} job")
        assert blocker.args[0] == f"{what} job" and str(blocker.args[1]) == what


def test_busy_count_covers_both_pools(qtbot, pools):
    release = threading.Event()
    counts = []
    pools.busy_changed.connect(counts.append)
    pools.long.submit(lambda: release.wait(10))
    pools.fast.submit(lambda: release.wait(10))
    assert pools.active_count == 2 and counts[-1] == 2
    release.set()
    qtbot.waitUntil(lambda: pools.active_count == 0, timeout=5000)
    assert counts[-1] == 0


def test_shutdown_cancels_the_jobs_of_both_pools(qtbot):
    pools = JobPools(fast_threads=1, long_threads=1)
    running = [threading.Event(), threading.Event()]

    def endless(index, token=None):
        running[index].set()
        while not token.cancelled:
            yield None

    jobs = [pools.fast.submit(endless, 0), pools.long.submit(endless, 1)]
    assert all(flag.wait(5) for flag in running)
    assert pools.shutdown(timeout_s=5)
    assert pools.running_count() == 0
    assert all(job.state == "cancelled" for job in jobs)
    assert pools.long.submit(lambda: None).state == "cancelled"  # closed pools take no new jobs


def test_the_workbench_hands_panels_both_pools(window):
    workbench = window.workbench
    assert workbench.runner is window.jobs.fast and workbench.long_runner is window.jobs.long
    assert workbench.runner is not workbench.long_runner
