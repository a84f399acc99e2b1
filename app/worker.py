"""The job runner for heavy work (napari-style generator workers).

A *job* is a plain function run on a pool thread. When it is a generator
function, every value it yields is delivered to the GUI thread as progress (a
:class:`core.progress.Progress`, or any partial result) and cancellation is checked between
yields; its ``return`` value is the result. A plain function just returns its
result. Jobs never touch Qt widgets: they compute, the GUI draws.

Every exception raised inside a job is caught on the pool thread and routed to
the GUI thread, to the job's own ``errored`` signal *and* to the runner's single
``error`` signal, which the main window connects to one handler (status bar,
non-modal error dialog, log). Nothing raises past a worker.

The runner joins its jobs on shutdown: it asks every job to cancel, then waits
(bounded) for the pool to drain, so closing the window with a job running never
leaves a thread touching freed objects.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


#: How often a paused job looks for a cancel (seconds).
PAUSE_POLL_S = 0.1


class JobCancelled(Exception):
    """Raised inside a job's generator when it is cancelled (it may clean up)."""


class CancelToken:
    """Thread-safe flag a job can poll inside long loops between yields."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Job(QObject):
    """Handle of one submitted job; lives in the GUI thread.

    Signals (all delivered in the GUI thread):
      progress(object): each value the generator yields.
      result(object): the return value, on success.
      errored(object): the exception, on failure.
      cancelled(): when the job stopped because it was cancelled.
      paused() / resumed(): a generator job stopped at / left a yield after :meth:`pause` / :meth:`resume`.
      finished(): always last, whatever happened.

    Pausing (generator jobs only, like napari's ``GeneratorWorker``): the
    worker holds the job at its next yield, keeping its state in memory and
    its thread, until :meth:`resume`; :meth:`cancel` also ends a pause.
    """

    progress = Signal(object)
    result = Signal(object)
    errored = Signal(object)
    cancelled = Signal()
    paused = Signal()
    resumed = Signal()
    finished = Signal()

    def __init__(self, name: str, job_id: int) -> None:
        super().__init__()
        self.name = name
        self.id = job_id
        self.token = CancelToken()
        self.traceback_text = ""
        self.state = "queued"  # queued, running, done, failed, cancelled
        self.started_at: float | None = None
        self.elapsed_s: float | None = None
        self._running = threading.Event()  # cleared while paused
        self._running.set()

    def cancel(self) -> None:
        """Ask the job to stop at its next yield (or when it polls its token)."""
        self.token.cancel()

    def pause(self) -> None:
        """Hold a generator job at its next yield (no effect on plain functions)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def is_paused(self) -> bool:
        return not self._running.is_set()

    def _hold_if_paused(self) -> None:
        """Worker thread: block while paused, waking for resume or cancel."""
        if self._running.is_set():
            return
        self.paused.emit()
        while not self._running.wait(PAUSE_POLL_S):
            if self.token.cancelled:
                return
        self.resumed.emit()

    @property
    def is_done(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class _Runnable(QRunnable):
    """Runs a job function on a pool thread and reports through the Job's signals."""

    def __init__(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict):
        super().__init__()
        self.setAutoDelete(True)
        self._job, self._fn, self._args, self._kwargs = job, fn, args, kwargs

    def run(self) -> None:  # pool thread
        job = self._job
        job.started_at = time.perf_counter()
        try:
            if job.token.cancelled:
                job.state = "cancelled"
                _emit(job.cancelled)
                return
            job.state = "running"
            outcome = self._fn(*self._args, **self._kwargs)
            if inspect.isgenerator(outcome):
                outcome = self._drive(job, outcome)
                if outcome is _CANCELLED:
                    job.state = "cancelled"
                    _emit(job.cancelled)
                    return
            job.state = "done"
            _emit(job.result, outcome)
        except JobCancelled:
            job.state = "cancelled"
            _emit(job.cancelled)
        except BaseException as exc:  # noqa: BLE001 - a worker must never let anything escape
            job.state = "failed"
            job.traceback_text = traceback.format_exc()
            _emit(job.errored, exc)
        finally:
            job.elapsed_s = time.perf_counter() - (job.started_at or time.perf_counter())
            _emit(job.finished)

    @staticmethod
    def _drive(job: Job, gen) -> Any:
        """Iterate the generator, forwarding yields, stopping when cancelled."""
        while True:
            if job.token.cancelled:
                try:
                    gen.throw(JobCancelled())
                except (JobCancelled, StopIteration):
                    pass
                finally:
                    gen.close()
                return _CANCELLED
            job._hold_if_paused()
            if job.token.cancelled:
                continue
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            job.progress.emit(value)


_CANCELLED = object()


def _emit(signal, *args) -> None:
    """Emit from a pool thread; a job whose window was closed (its QObject deleted) is let go."""
    try:
        signal.emit(*args)
    except RuntimeError as exc:  # "Signal source has been deleted": nobody is listening any more
        log.debug("job signal dropped after its owner was deleted: %s", exc)


class JobRunner(QObject):
    """Submits jobs to a private thread pool and routes all their errors to ``error``.

    error(str name, object exception, str traceback): one signal for every
    failed job; the main window connects its single error handler here.
    busy_changed(int): number of jobs not yet finished.
    """

    error = Signal(str, object, str)
    busy_changed = Signal(int)

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(max_threads)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._active: dict[int, Job] = {}
        self._closed = False

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` on the pool; callbacks run in the GUI thread.

        Generator functions that accept a ``token`` keyword get the job's
        :class:`CancelToken` when they do not receive one explicitly.
        """
        job = Job(name or getattr(fn, "__name__", "job"), next(self._ids))
        if self._closed:
            job.state = "cancelled"
            return job
        if "token" in _parameters(fn) and "token" not in kwargs:
            kwargs["token"] = job.token
        if on_result:
            job.result.connect(on_result)
        if on_progress:
            job.progress.connect(on_progress)
        if on_error:
            job.errored.connect(on_error)
        job.errored.connect(lambda exc, j=job: self._route_error(j, exc))
        if on_finished:
            job.finished.connect(on_finished)
        # The runner keeps the Job alive until its last queued signal reached the GUI thread.
        job.finished.connect(lambda j=job: self._forget(j))
        with self._lock:
            self._active[job.id] = job
        self._pool.start(_Runnable(job, fn, args, kwargs))
        self.busy_changed.emit(self.active_count)
        return job

    def _forget(self, job: Job) -> None:  # GUI thread
        with self._lock:
            self._active.pop(job.id, None)
        self.busy_changed.emit(self.active_count)

    def _route_error(self, job: Job, exc: BaseException) -> None:
        log.error("job %r failed: %s\n%s", job.name, exc, job.traceback_text)
        self.error.emit(job.name, exc, job.traceback_text)

    @property
    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def active_jobs(self) -> list[Job]:
        """Jobs whose ``finished`` has not yet been delivered to the GUI thread."""
        with self._lock:
            return list(self._active.values())

    def running_count(self) -> int:
        """Jobs still executing on a pool thread (excludes ones only awaiting delivery)."""
        return sum(1 for job in self.active_jobs() if not job.is_done)

    def cancel_all(self) -> None:
        for job in self.active_jobs():
            job.cancel()

    def close(self) -> None:
        """Refuse new jobs and ask every running one to cancel (without waiting)."""
        self._closed = True
        self.cancel_all()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel every job and wait for the pool to drain. True when all stopped."""
        self.close()
        drained = self._pool.waitForDone(int(timeout_s * 1000))
        if not drained:
            log.warning("%d job(s) still running after %.1f s at shutdown", self.active_count, timeout_s)
        return drained

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until all jobs finished (for tests and the CLI-like paths)."""
        return self._pool.waitForDone(int(timeout_s * 1000))


def _parameters(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()
