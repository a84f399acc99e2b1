"""The one job runner: success, progress, error routing, cancel, shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from app.worker import JobRunner
from core.progress import Progress


def _wait_delivered(qtbot, runner, job):
    """Wait until the job's last signal reached the GUI thread.

    (qtbot.waitSignal after submit would race a fast job: a queued signal only
    reaches connections that existed when it was emitted.)
    """
    qtbot.waitUntil(lambda: all(j.id != job.id for j in runner.active_jobs()), timeout=5000)


@pytest.fixture
def runner(qtbot):
    r = JobRunner(max_threads=2)
    yield r
    r.shutdown(timeout_s=5)


def test_plain_function_result(qtbot, runner):
    results = []
    job = runner.submit(lambda a, b: a + b, 2, 3, name="add", on_result=results.append)
    _wait_delivered(qtbot, runner, job)
    assert results == [5]
    assert job.state == "done"
    assert runner.active_count == 0


def test_generator_progress_then_result(qtbot, runner):
    def counting():
        for i in range(3):
            yield Progress(i, 3, f"step {i}")
        return "finished"

    seen = []
    job = runner.submit(counting, on_progress=seen.append)
    _wait_delivered(qtbot, runner, job)
    assert [p.message for p in seen] == ["step 0", "step 1", "step 2"]
    assert job.state == "done"


def test_errors_reach_the_single_handler_with_traceback(qtbot, runner):
    def broken():
        raise ValueError("bad input")

    own = []
    with qtbot.waitSignal(runner.error, timeout=5000) as blocker:
        job = runner.submit(broken, name="broken job", on_error=own.append)
    name, exc, details = blocker.args
    assert name == "broken job" and isinstance(exc, ValueError)
    assert "bad input" in details and "Traceback" in details
    qtbot.waitUntil(lambda: job.is_done and len(own) == 1, timeout=5000)
    assert job.state == "failed"


def test_error_inside_generator_after_progress(qtbot, runner):
    def half():
        yield Progress(1, 2)
        raise RuntimeError("midway")

    with qtbot.waitSignal(runner.error, timeout=5000) as blocker:
        runner.submit(half)
    assert str(blocker.args[1]) == "midway"


def test_cancel_stops_a_generator_between_yields(qtbot, runner):
    cleaned = threading.Event()

    def endless():
        try:
            while True:
                time.sleep(0.01)
                yield Progress()
        finally:
            cleaned.set()

    job = runner.submit(endless)
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    assert cleaned.wait(2), "the generator's finally block did not run"
    assert job.state == "cancelled"


def test_token_lets_plain_loops_cancel(qtbot, runner):
    def polling(token):
        while not token.cancelled:
            time.sleep(0.01)
        return "stopped"

    job = runner.submit(polling)
    time.sleep(0.05)
    with qtbot.waitSignal(job.result, timeout=5000) as blocker:
        job.cancel()
    assert blocker.args == ["stopped"]


def test_shutdown_with_a_job_running(qtbot):
    runner = JobRunner(max_threads=1)

    def endless():
        while True:
            time.sleep(0.01)
            yield None

    job = runner.submit(endless)
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    start = time.perf_counter()
    assert runner.shutdown(timeout_s=5)
    assert time.perf_counter() - start < 5  # bounded, not hanging
    assert job.state == "cancelled"
    late = runner.submit(lambda: 1)
    assert late.state == "cancelled"  # nothing new starts after shutdown


def test_pause_holds_a_generator_at_its_yield_and_resume_continues(qtbot, runner):
    values, events = [], []

    def counter(token=None):
        for i in range(1000):
            time.sleep(0.005)
            yield i
        return "done"

    job = runner.submit(counter, name="count", on_progress=values.append)
    job.paused.connect(lambda: events.append("paused"))
    job.resumed.connect(lambda: events.append("resumed"))
    qtbot.waitUntil(lambda: len(values) >= 3, timeout=5000)
    job.pause()
    qtbot.waitUntil(lambda: events == ["paused"], timeout=5000)
    held = len(values)
    qtbot.wait(200)
    assert len(values) == held and job.is_paused and job.state == "running"
    job.resume()
    qtbot.waitUntil(lambda: len(values) > held + 3, timeout=5000)
    assert events == ["paused", "resumed"]
    # a cancel ends a pause too
    job.pause()
    qtbot.waitUntil(lambda: events[-1] == "paused", timeout=5000)
    job.cancel()
    qtbot.waitUntil(lambda: job.is_done, timeout=5000)
    assert job.state == "cancelled"


def test_a_job_deleted_while_running_ends_quietly(qtbot, runner, capfd):
    import shiboken6

    release, done = threading.Event(), threading.Event()

    def work():
        release.wait(5)
        return 1

    job = runner.submit(work, on_finished=done.set)
    shiboken6.delete(job)  # its window closed and the object went with it
    release.set()
    assert runner.wait(5.0)
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Error calling Python override" not in err
