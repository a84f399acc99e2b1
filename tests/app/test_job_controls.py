"""JobControls: one job at a time, buttons and summary follow the job's life."""

from __future__ import annotations

import threading

import pytest

from app.job_controls import JobControls
from app.worker import JobRunner
from core.progress import Progress


@pytest.fixture
def runner(qtbot):
    r = JobRunner(max_threads=2)
    yield r
    r.shutdown(timeout_s=5)


def test_runs_one_job_and_restores_controls(qtbot, runner):
    controls = JobControls(runner, "Go")
    release = threading.Event()
    results = []

    def job(token=None):
        yield Progress(1, 2, "half way")
        release.wait(5)
        return 42

    assert controls.start(job, name="Demo", on_result=results.append) is not None
    assert not controls.run_button.isEnabled() and controls.cancel_button.isEnabled()
    assert controls.busy
    # A second start while the first runs is refused, not queued.
    assert controls.start(job, name="Demo", on_result=results.append) is None
    qtbot.waitUntil(lambda: controls.summary.text() == "half way", timeout=5000)
    assert controls.progress.maximum() == 1000 and controls.progress.value() == 500
    release.set()
    qtbot.waitUntil(lambda: results == [42] and controls.run_button.isEnabled(), timeout=5000)
    assert not controls.cancel_button.isEnabled() and not controls.progress.isVisible()
    assert not controls.busy


def test_failure_and_cancel_are_reported(qtbot, runner):
    controls = JobControls(runner, "Go")
    runner.error.connect(lambda *_: None)

    def broken():
        raise ValueError("bad ground truth")

    controls.start(broken, name="Evaluation", on_result=lambda _: None)
    qtbot.waitUntil(lambda: controls.run_button.isEnabled(), timeout=5000)
    assert controls.summary.text() == "Evaluation failed: bad ground truth"

    def endless(token=None):
        while not token.cancelled:
            yield Progress(message="working")

    controls.start(endless, name="Evaluation", on_result=lambda _: None)
    qtbot.waitUntil(lambda: controls.summary.text() == "working", timeout=5000)
    controls.cancel_button.click()
    qtbot.waitUntil(lambda: controls.run_button.isEnabled(), timeout=5000)
    assert controls.summary.text() == "Evaluation cancelled."
